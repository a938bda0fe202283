import { isObjectType, type GraphQLObjectType, type GraphQLSchema } from 'graphql';

/** The schema's object types (root types included), introspection types left out. */
export function objectTypes(schema: GraphQLSchema): GraphQLObjectType[] {
  return Object.values(schema.getTypeMap()).filter(
    (type): type is GraphQLObjectType => isObjectType(type) && !type.name.startsWith('__'),
  );
}
