import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { modules } from '../modules/index.js';
import type { ResolverList } from '../modules/module.js';
import { applyPermissions, mergePermissions } from './permissions/shield.js';
import { guardSubscriptions } from './permissions/subscription-guard.js';

export const SCHEMA_DESCRIPTION_HEADER = `# Generated from the code by \`npm run gen\` — do not edit.
# Parley GraphQL API. Authenticate with \`mutation { login(email, password) { accessToken } }\`, then send
# \`Authorization: Bearer <accessToken>\` over HTTP, or \`{ "authorization": "Bearer <accessToken>" }\` as
# graphql-ws connectionParams.
`;

/**
 * type-graphql insists on a PubSub once there are subscriptions. Ours all pass `subscribe` and read the
 * event log (src/realtime), so topic-based publishing is refused loudly rather than silently lost.
 */
const eventLogOnly = {
  publish: (): never => {
    throw new Error('Parley publishes through the event log (appendEvent), not type-graphql topics');
  },
  subscribe: (): never => {
    throw new Error('Parley subscriptions read the event log: pass `subscribe` to @Subscription');
  },
};

/** The schema as the code declares it, without permissions (what `schema.graphql` is printed from). */
export function buildBaseSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: modules.flatMap((module) => module.resolvers) as ResolverList,
    // Unknown properties cannot reach us (GraphQL rejects them), so class-validator need not check for them.
    validate: { forbidUnknownValues: false },
    pubSub: eventLogOnly,
  });
}

/** The schema served: every field behind its shield rule, and subscriptions checked when set up. */
export async function buildServedSchema(): Promise<GraphQLSchema> {
  const schema = await buildBaseSchema();
  const permissions = mergePermissions(modules);
  applyPermissions(schema, permissions);
  guardSubscriptions(schema, permissions);
  return schema;
}
