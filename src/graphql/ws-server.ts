import type { Socket as NetSocket } from 'node:net';
import type { Server } from 'node:http';
import type { ExecutionResult, GraphQLFormattedError, GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { normaliseCorrelationId } from '../observability/correlation.js';
import type { AuthUser } from '../modules/auth/access-tokens.js';
import { authenticate, buildContext, type ContextFactoryDeps } from './context.js';
import type { createErrorFormatter } from './error-formatting.js';
import type { Logger } from '../observability/logger.js';
import { sharedSubscribe } from './shared-subscribe.js';
import { auditEntriesFor } from './plugins/operation-log.plugin.js';

/** Close codes Parley adds to the graphql-ws protocol's own (`CloseCode`). */
export enum ParleyCloseCode {
  /** The client reads too slowly; reconnect and resume with `afterSeq`. (RFC 6455 "Try Again Later".) */
  SlowConsumer = 1013,
}

interface ConnectionState {
  user: AuthUser | null;
  correlationId: string;
}

type Extra = { socket: WebSocket; state?: ConnectionState };

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
  log: Logger;
}) {
  const wss = new WebSocketServer({ server: options.httpServer, path: '/graphql' });
  // Formats errors the way HTTP does, and audits denials (the Apollo plugin never sees WebSocket traffic).
  const format = (result: ExecutionResult, actor: AuthUser | null) => {
    if (!result.errors) return result;
    const errors = result.errors.map((error) => options.formatError(error.toJSON(), error));
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
        ctx.extra.state = { user, correlationId };
        return true;
      },
      context: (ctx, id) => {
        const state = ctx.extra.state!;
        const context = buildContext(
          options.deps,
          { user: state.user, authError: undefined },
          state.correlationId,
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
