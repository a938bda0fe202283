import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { buildSchema } from 'type-graphql';
import { modules } from '../modules/index.js';
import type { ResolverList } from '../modules/module.js';
import { buildShield } from './permissions/shield.js';

export const SCHEMA_DESCRIPTION_HEADER = `# Generated from the code by \`npm run gen\` — do not edit.
# Parley GraphQL API. Authenticate with \`mutation { login(email, password) { accessToken } }\`, then send
# \`Authorization: Bearer <accessToken>\` over HTTP, or \`{ "authorization": "Bearer <accessToken>" }\` as
# graphql-ws connectionParams.
`;

/** The schema as the code declares it, without permissions (what `schema.graphql` is printed from). */
export function buildBaseSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: modules.flatMap((module) => module.resolvers) as ResolverList,
    // Unknown properties cannot reach us (GraphQL rejects them), so class-validator need not check for them.
    validate: { forbidUnknownValues: false },
  });
}

/** The schema served: every field behind its shield rule. */
export async function buildServedSchema(): Promise<GraphQLSchema> {
  return applyMiddleware(await buildBaseSchema(), buildShield(modules));
}
