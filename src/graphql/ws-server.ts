import type { Socket as NetSocket } from 'node:net';
import type { IncomingMessage, Server } from 'node:http';
import {
  GraphQLError,
  getOperationAST,
  getVariableValues,
  type ValidationRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode, type SubscribePayload } from 'graphql-ws';
import proxyAddr from 'proxy-addr';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { enterCorrelationId, normaliseCorrelationId } from '../observability/correlation.js';
import type { AuthUser } from '../modules/auth/access-tokens.js';
import { authenticate, buildContext, type ContextFactoryDeps } from './context.js';
import type { createErrorFormatter } from './error-formatting.js';
import type { Logger } from '../observability/logger.js';
import { sharedSubscribe } from './shared-subscribe.js';
import { auditEntriesFor } from './plugins/operation-log.plugin.js';
import { DomainError } from '../common/errors.js';
import {
  checkCost,
  checkNoNulCharacters,
  checkSource,
  documentLimitRules,
  type DocumentLimits,
} from '../security/document-limits.js';

/** Close codes Parley adds to the graphql-ws protocol's own (`CloseCode`). */
export enum ParleyCloseCode {
  /** The client reads too slowly; reconnect and resume with `afterSeq`. (RFC 6455 "Try Again Later".) */
  SlowConsumer = 1013,
}

interface ConnectionState {
  user: AuthUser | null;
  correlationId: string;
  clientAddress: string;
}

type Extra = { socket: WebSocket; request: IncomingMessage; state?: ConnectionState };

/** Apollo's rule when introspection is off (one error per `__schema`/`__type`), so both transports agree. */
const noIntrospection: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === '__schema' || node.name.value === '__type') {
      context.reportError(
        new GraphQLError(
          'GraphQL introspection is not allowed by Apollo Server, but the query contained __schema or __type. To enable introspection, pass introspection: true to ApolloServer in production',
          { nodes: [node] },
        ),
      );
    }
  },
});

/** A domain error as graphql-ws sends it (the formatter reads `originalError`). */
const asGraphQLError = (error: DomainError) => new GraphQLError(error.message, { originalError: error });

function connectionAuthorization(params: Record<string, unknown> | undefined): string | undefined {
  const value = params?.authorization ?? params?.Authorization ?? params?.token;
  return typeof value === 'string' ? value : undefined;
}

/**
 * graphql-ws on the HTTP server's `/graphql`. The access token comes in `connection_init`; a bad one
 * closes the socket with 4401 (the protocol's Unauthorized) before the ack.
 */
export function startWsServer(options: {
  httpServer: Server;
  schema: GraphQLSchema;
  deps: ContextFactoryDeps;
  formatError: ReturnType<typeof createErrorFormatter>;
  connectionInitWaitTimeoutMs: number;
  maxBufferedBytes: number;
  documentLimits: DocumentLimits;
  /** Whether introspection is allowed (off in production unless enabled), as over HTTP. */
  introspection: boolean;
  /** Largest message accepted, as HTTP's body limit. */
  maxPayloadBytes: number;
  /** Express's compiled `trust proxy`, so a socket's client address is read as HTTP reads it. */
  trustProxy: (address: string, hop: number) => boolean;
  log: Logger;
}) {
  const wss = new WebSocketServer({
    server: options.httpServer,
    path: '/graphql',
    maxPayload: options.maxPayloadBytes,
  });
  const rules = [
    ...specifiedRules,
    ...documentLimitRules(options.documentLimits),
    ...(options.introspection ? [] : [noIntrospection]),
  ];
  /**
   * The code Apollo gives the same error over HTTP. Without introspection, "Did you mean …?" hints are
   * dropped too (they would spell the schema out field by field).
   */
  const coded = (error: GraphQLError, code: string) =>
    new GraphQLError(
      options.introspection ? error.message : error.message.replace(/ ?Did you mean(.+?)\?$/, ''),
      {
        nodes: error.nodes,
        source: error.source,
        positions: error.positions,
        originalError: error.originalError,
        extensions: { ...error.extensions, code },
      },
    );

  /**
   * What HTTP's guards and Apollo do for a request, for one subscribe message: the caller's rate-limit
   * tier, then the document limits, parse and validation, then cost. Errors end this operation only.
   */
  const prepare = async (
    state: ConnectionState,
    payload: SubscribePayload,
  ): Promise<readonly GraphQLError[] | Omit<ExecutionArgs, 'contextValue'>> => {
    let document: DocumentNode;
    try {
      await options.deps.services.rateLimits.checkOperation(state);
      checkSource(payload.query, options.documentLimits);
      checkNoNulCharacters(payload.query, payload.variables);
      document = parse(payload.query, { maxTokens: options.documentLimits.maxTokens });
    } catch (error) {
      if (error instanceof DomainError) return [asGraphQLError(error)];
      if (error instanceof GraphQLError) return [coded(error, 'GRAPHQL_PARSE_FAILED')];
      throw error;
    }
    const invalid = validate(options.schema, document, rules);
    if (invalid.length > 0) return invalid.map((error) => coded(error, 'GRAPHQL_VALIDATION_FAILED'));
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) {
      // Apollo's wording and code for the same request over HTTP.
      const message = payload.operationName
        ? `Unknown operation named "${payload.operationName}".`
        : 'Must provide operation name if query contains multiple operations.';
      return [new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
    }
    // Variables that do not fit their types are the client's error, as over HTTP (not the executor's).
    const coerced = getVariableValues(
      options.schema,
      operation.variableDefinitions ?? [],
      payload.variables ?? {},
      {
        maxErrors: 10,
      },
    );
    if (coerced.errors) return coerced.errors.map((error) => coded(error, 'BAD_USER_INPUT'));
    try {
      checkCost(options.schema, document, operation, payload.variables ?? undefined, options.documentLimits);
    } catch (error) {
      if (error instanceof DomainError) return [asGraphQLError(error)];
      throw error;
    }
    return {
      schema: options.schema,
      document,
      operationName: payload.operationName,
      variableValues: payload.variables,
    };
  };
  // Formats errors the way HTTP does, and audits denials (the Apollo plugin never sees WebSocket traffic).
  const format = (result: ExecutionResult, actor: AuthUser | null) => {
    if (!result.errors) return result;
    const errors = result.errors.map((error) => options.formatError(error.toJSON(), error));
    options.deps.services.metrics.graphqlErrors('subscription', errors);
    void options.deps.services.audit.recordDetached(auditEntriesFor('subscription', actor, errors));
    return { ...result, errors };
  };

  // Unsent bytes piling up means the client cannot keep up: close instead of growing without bound.
  const closeSlow = (socket: WebSocket, state: ConnectionState | undefined) => {
    options.log.warn(
      { bufferedBytes: socket.bufferedAmount, userId: state?.user?.id },
      'closing slow WebSocket consumer',
    );
    socket.close(ParleyCloseCode.SlowConsumer, 'Slow consumer: resubscribe with afterSeq');
  };
  const keepingUp = (socket: WebSocket, state: ConnectionState | undefined): boolean => {
    if (socket.bufferedAmount <= options.maxBufferedBytes) return true;
    closeSlow(socket, state);
    return false;
  };

  /**
   * Messages written to one socket in the same turn of the event loop (several events that queued up
   * behind a large fan-out) leave in one write instead of one system call each.
   */
  const corked = new Set<WebSocket>();
  const cork = (socket: WebSocket) => {
    const raw = (socket as unknown as { _socket?: NetSocket })._socket;
    if (!raw || corked.has(socket)) return;
    if (corked.size === 0) {
      setImmediate(() => {
        for (const each of corked) (each as unknown as { _socket?: NetSocket })._socket?.uncork();
        corked.clear();
      });
    }
    corked.add(socket);
    raw.cork();
  };

  /**
   * A connection lives no longer than the token it was opened with: it closes with 4401 when the token
   * expires or its sign-in ends, and 4403 when the user is demoted. The client reconnects with a fresh
   * token and resumes each subscription with `afterSeq`.
   */
  const endWithToken = (socket: WebSocket, user: AuthUser) => {
    const close = (code: number, reason: string) => {
      if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) {
        socket.close(code, reason);
      }
    };
    const unwatch = options.deps.services.auth.revocations.watch(user, (because) =>
      because === 'demoted'
        ? close(CloseCode.Forbidden, 'Forbidden: your role changed')
        : close(
            CloseCode.Unauthorized,
            because === 'signed-out' ? 'Unauthorized: signed out' : 'Unauthorized: your role changed',
          ),
    );
    // setTimeout's delay is a 32-bit int: tokens living longer than ~24 days are re-armed.
    const armExpiry = (): NodeJS.Timeout | undefined => {
      if (!user.expiresAt) return undefined;
      const left = user.expiresAt * 1000 - Date.now();
      return setTimeout(
        () =>
          left > 2 ** 31 - 1
            ? (expiry = armExpiry())
            : close(CloseCode.Unauthorized, 'Unauthorized: token expired'),
        Math.min(Math.max(0, left), 2 ** 31 - 1),
      );
    };
    let expiry = armExpiry();
    socket.once('close', () => {
      unwatch();
      clearTimeout(expiry);
    });
  };

  const cleanup = useServer<Record<string, unknown> | undefined, Extra>(
    {
      schema: options.schema,
      subscribe: sharedSubscribe,
      connectionInitWaitTimeout: options.connectionInitWaitTimeoutMs,
      onConnect: async (ctx) => {
        const { user, authError } = await authenticate(
          options.deps.services,
          connectionAuthorization(ctx.connectionParams),
        );
        if (authError) {
          ctx.extra.socket.close(CloseCode.Unauthorized, authError);
          return false;
        }
        const correlationId = normaliseCorrelationId(ctx.connectionParams?.correlationId);
        const clientAddress = proxyAddr(ctx.extra.request, options.trustProxy);
        ctx.extra.state = { user, correlationId, clientAddress };
        if (user) endWithToken(ctx.extra.socket, user);
        return true;
      },
      onSubscribe: (ctx, _id, payload) => {
        // Entered before any await: the operation graphql-ws runs after this hook carries it too.
        enterCorrelationId(ctx.extra.state!.correlationId);
        return prepare(ctx.extra.state!, payload);
      },
      context: (ctx, id) => {
        const state = ctx.extra.state!;
        const context = buildContext(
          options.deps,
          { user: state.user, authError: undefined },
          state.correlationId,
          state.clientAddress,
        );
        const { socket } = ctx.extra;
        const prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
        context.transport = {
          encode: (result) => JSON.stringify(format(result, state.user)),
          send: (payloadJson) => {
            if (socket.readyState !== socket.OPEN || !(id in ctx.subscriptions)) return false;
            // Judge the client by what is still unsent from earlier turns, not by this turn's burst.
            if (!corked.has(socket)) {
              if (!keepingUp(socket, state)) return false;
              cork(socket);
            }
            socket.send(`${prefix}${payloadJson}}`);
            return true;
          },
          congested: () => socket.bufferedAmount > options.maxBufferedBytes / 2,
          closeSlow: () => closeSlow(socket, state),
        };
        return context;
      },
      onNext: (ctx, _id, _payload, _args, result) => {
        keepingUp(ctx.extra.socket, ctx.extra.state);
        return format(result, ctx.extra.state?.user ?? null);
      },
      onError: (ctx, _id, _payload, errors) =>
        format({ errors }, ctx.extra.state?.user ?? null).errors as GraphQLFormattedError[],
    },
    wss,
  );

  return {
    wss,
    /** Closes every socket (1001 Going Away) and stops accepting new ones. */
    dispose: async () => {
      await cleanup.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
