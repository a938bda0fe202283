import type { GraphQLObjectType, GraphQLSchema } from 'graphql';

/**
 * The schema's object types (root types included), introspection types left out.
 *
 * Recognised by their `Symbol.toStringTag`, not `isObjectType`: under vitest, type-graphql loads
 * graphql's CommonJS build while test files get its ESM build, and graphql's own `instanceof` checks
 * refuse a schema built by the other copy ("Cannot use GraphQLObjectType from another module or realm").
 */
export function objectTypes(schema: GraphQLSchema): GraphQLObjectType[] {
  return Object.values(schema.getTypeMap()).filter(
    (type): type is GraphQLObjectType =>
      Object.prototype.toString.call(type) === '[object GraphQLObjectType]' && !type.name.startsWith('__'),
  );
}
