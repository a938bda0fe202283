import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { UnauthenticatedError } from '../common/errors.js';
import { bearerToken, type AuthUser } from '../modules/auth/access-tokens.js';
import type { Services } from '../modules/services.js';
import { createAgentLoaders } from '../modules/agents/agents.loaders.js';
import { createUserLoaders } from '../modules/users/users.loaders.js';
import { createDebateLoaders } from '../modules/debates/debates.loaders.js';
import type { Logger } from '../observability/logger.js';
import type { EventHub } from '../realtime/index.js';
import type { WireTransport } from './shared-subscribe.js';

export type Loaders = ReturnType<typeof createLoaders>;

/** One set per request (or per subscription operation), so batches never leak between callers. */
export function createLoaders(em: EntityManager) {
  const agents = createAgentLoaders(em);
  return { ...createUserLoaders(em), ...agents, ...createDebateLoaders(em, agents) };
}

export interface GraphQLContext {
  em: EntityManager;
  user: AuthUser | null;
  /** Why a presented token was refused; rules report it instead of a generic "sign in". */
  authError: string | undefined;
  /** The client's address (through trusted proxies): rate limits count anonymous callers by it. */
  clientAddress: string;
  loaders: Loaders;
  services: Services;
  realtime: EventHub;
  log: Logger;
  correlationId: string;
  /**
   * A fresh context for the same caller: subscriptions live for hours, so each event is resolved with a
   * new entity manager and loaders (no stale cache, no identity map growing forever).
   */
  forEvent(): GraphQLContext;
  /** Set for graphql-ws operations: where subscription results are written (see shared-subscribe.ts). */
  transport?: WireTransport;
}

export interface ContextFactoryDeps {
  orm: MikroORM;
  services: Services;
  realtime: EventHub;
  log: Logger;
}

/** Who is calling: the verified user (or why the token was refused) and from where. */
export interface CallerIdentity {
  user: AuthUser | null;
  authError: string | undefined;
}

/** Resolves the caller from a raw Authorization value; a bad token is remembered, not thrown. */
export async function authenticate(
  services: Services,
  authorization: string | undefined,
): Promise<CallerIdentity> {
  const token = bearerToken(authorization);
  if (!token) return { user: null, authError: undefined };
  try {
    return { user: await services.auth.verifyAccessToken(token), authError: undefined };
  } catch (error) {
    if (error instanceof UnauthenticatedError) {
      services.metrics.authFailure(error.reason ?? 'token_invalid');
      return { user: null, authError: error.message };
    }
    throw error;
  }
}

export function buildContext(
  deps: ContextFactoryDeps,
  caller: CallerIdentity,
  correlationId: string,
  clientAddress: string,
): GraphQLContext {
  const em = deps.orm.em.fork();
  const context: GraphQLContext = {
    em,
    ...caller,
    clientAddress,
    loaders: createLoaders(em),
    services: deps.services,
    realtime: deps.realtime,
    log: deps.log.child({ correlationId, userId: caller.user?.id }, true),
    correlationId,
    forEvent: () => buildContext(deps, caller, correlationId, clientAddress),
  };
  return context;
}
