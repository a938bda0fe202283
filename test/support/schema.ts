import type { GraphQLObjectType, GraphQLSchema } from 'graphql';

/**
 * The schema's object types (root types included), introspection types left out.
 *
 * Recognised by their `Symbol.toStringTag` rather than `isObjectType`, so this works whichever copy of
 * graphql built the schema: under vitest a test file can get graphql's ESM build while type-graphql and
 * graphql-middleware load its CommonJS build, and graphql's `instanceof` checks refuse the other copy's
 * objects ("Cannot use GraphQLObjectType from another module or realm").
 */
export function objectTypes(schema: GraphQLSchema): GraphQLObjectType[] {
  return Object.values(schema.getTypeMap()).filter(
    (type): type is GraphQLObjectType =>
      Object.prototype.toString.call(type) === '[object GraphQLObjectType]' && !type.name.startsWith('__'),
  );
}
