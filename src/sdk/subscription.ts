import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { getOperationAST, print, type GraphQLFormattedError } from 'graphql';
import { CloseCode, type Client as WsClient } from 'graphql-ws';
import { ParleyError } from './errors.js';

export interface Reconnect {
  /** Consecutive failed tries before the iterator throws NETWORK_ERROR (reset by every acknowledged connection). */
  maxAttempts: number;
  /** The first wait; it doubles (with jitter) up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface SubscriptionDeps {
  wsClient(): Promise<WsClient>;
  /** The socket was closed with 4401: renew the token it presented; false when there is no way to. */
  renewToken(): Promise<boolean>;
  /** The client's retry policy for RATE_LIMITED / SERVICE_UNAVAILABLE answers. */
  retryDelay(error: ParleyError, retries: number): number | undefined;
  reconnect: Reconnect;
  onEnd(): void;
}

/**
 * Closes after which subscribing again cannot help (graphql-ws's own list, plus 4403: Parley closes with
 * it when the user was demoted). 4401 is here too, but is renewed first when the client holds a login.
 * Everything else (1001 server going away, 1006 a dropped connection, 1013 a slow consumer, 4499 a
 * terminated socket, network errors) is a reason to reconnect and resume.
 */
const FATAL_CLOSES = new Map<number, ParleyError['code']>([
  [1002, 'BAD_REQUEST'],
  [1003, 'BAD_REQUEST'],
  [1007, 'BAD_REQUEST'],
  [1008, 'BAD_REQUEST'],
  [1009, 'BAD_REQUEST'],
  [1010, 'BAD_REQUEST'],
  [1011, 'INTERNAL_SERVER_ERROR'],
  [CloseCode.BadRequest, 'BAD_REQUEST'],
  [CloseCode.Unauthorized, 'UNAUTHENTICATED'],
  [CloseCode.Forbidden, 'FORBIDDEN'],
  [CloseCode.SubprotocolNotAcceptable, 'BAD_REQUEST'],
  [CloseCode.SubscriberAlreadyExists, 'BAD_REQUEST'],
  [CloseCode.TooManyInitialisationRequests, 'BAD_REQUEST'],
  [CloseCode.InternalServerError, 'INTERNAL_SERVER_ERROR'],
]);

const isCloseEvent = (value: unknown): value is { code: number; reason: string } =>
  typeof value === 'object' && value !== null && 'code' in value && 'reason' in value;

/** The `seq` of an event: subscriptions here have one root field whose object carries it. */
function seqOf(data: unknown): number | undefined {
  const root = data && typeof data === 'object' ? Object.values(data)[0] : undefined;
  const seq = root && typeof root === 'object' ? (root as { seq?: unknown }).seq : undefined;
  return typeof seq === 'number' ? seq : undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One subscription as an async iterator that outlives its connections. It remembers the highest `seq`
 * it has received (queued for the caller or already yielded: both will be seen exactly once) and, after
 * a drop, subscribes again with `afterSeq` set to it; the server replays the stored events after that
 * seq, then continues live. Live-only events (token deltas) carry the last stored seq, so they never
 * move the cursor past an event that was missed.
 */
export function resumableSubscription<TData, TVariables>(
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables | undefined,
  deps: SubscriptionDeps,
): { iterator: AsyncIterableIterator<TData>; end(): void } {
  const operation = getOperationAST(document);
  const resumable = Boolean(
    operation?.variableDefinitions?.some((definition) => definition.variable.name.value === 'afterSeq'),
  );
  let afterSeq = (variables as { afterSeq?: number | null } | undefined)?.afterSeq ?? undefined;
  const payload = {
    query: print(document),
    operationName: operation?.name?.value,
    // A getter: graphql-ws sends the payload again by itself after a normal (1000) close, and that
    // resend must resume from the current cursor too.
    get variables() {
      return (resumable && afterSeq !== undefined ? { ...variables, afterSeq } : variables) as
        Record<string, unknown> | undefined;
    },
  };

  const queue: TData[] = [];
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((resolve) => resolve());
  let ended = false;
  let failure: ParleyError | undefined;
  let attempts = 0;
  let detach = () => {};

  const end = (error?: ParleyError) => {
    if (ended) return;
    ended = true;
    failure = error;
    detach();
    deps.onEnd();
    wake();
  };

  /** How long to wait before subscribing again after `error`, or the error to end with. */
  const afterDrop = async (error: unknown): Promise<number | ParleyError> => {
    attempts += 1;
    if (error instanceof ParleyError) return error; // e.g. signing in for the connection failed
    if (Array.isArray(error)) {
      // The server refused this operation (validation, permissions, a rate limit) but kept the socket.
      const refused = ParleyError.fromGraphQL(error as GraphQLFormattedError[]);
      return deps.retryDelay(refused, attempts - 1) ?? refused;
    }
    const { maxAttempts, initialDelayMs, maxDelayMs } = deps.reconnect;
    if (attempts > maxAttempts) {
      return new ParleyError({
        code: 'NETWORK_ERROR',
        message: 'The subscription could not reconnect',
        cause: error,
      });
    }
    if (isCloseEvent(error)) {
      // Expired or revoked token: renew, then reconnect at once (backing off if that keeps failing).
      const renewed = error.code === CloseCode.Unauthorized && (await deps.renewToken());
      const fatal = FATAL_CLOSES.get(error.code);
      if (fatal && !renewed) {
        return new ParleyError({
          code: fatal,
          message: error.reason || `WebSocket closed (${error.code})`,
          closeCode: error.code,
        });
      }
      if (renewed && attempts === 1) return 0;
    }
    const backoff = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempts - 1));
    return backoff / 2 + Math.random() * (backoff / 2); // jitter: clients dropped together come back apart
  };

  const open = async () => {
    const client = await deps.wsClient();
    if (ended) return;
    let current = true; // callbacks of an earlier attempt are ignored
    const stopCounting = client.on('connected', () => (attempts = 0));
    const unsubscribe = client.subscribe<TData>(payload, {
      next: (result) => {
        if (!current) return;
        if (result.errors?.length) {
          return end(ParleyError.fromGraphQL(result.errors, { data: result.data as TData | null }));
        }
        const seq = seqOf(result.data);
        if (seq !== undefined && (afterSeq === undefined || seq > afterSeq)) afterSeq = seq;
        queue.push(result.data as TData);
        wake();
      },
      error: (error) => {
        if (!current) return;
        detach();
        void afterDrop(error)
          .then(async (next) => {
            if (next instanceof ParleyError) return end(next);
            await sleep(next);
            if (!ended) await open();
          })
          .catch((cause: unknown) => end(cause instanceof ParleyError ? cause : wrap(cause)));
      },
      complete: () => {
        if (current) end();
      },
    });
    detach = () => {
      current = false;
      stopCounting();
      unsubscribe();
    };
  };
  open().catch((cause: unknown) => end(cause instanceof ParleyError ? cause : wrap(cause)));

  const iterator: AsyncIterableIterator<TData> = {
    [Symbol.asyncIterator]: () => iterator,
    async next() {
      for (;;) {
        if (queue.length > 0) return { done: false, value: queue.shift()! };
        if (ended) {
          const error = failure;
          failure = undefined; // thrown once; later calls report the end
          if (error) throw error;
          return { done: true, value: undefined };
        }
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    async return() {
      end();
      queue.length = 0;
      return { done: true, value: undefined };
    },
  };
  return { iterator, end: () => end() };
}

const wrap = (cause: unknown) =>
  new ParleyError({ code: 'NETWORK_ERROR', message: String((cause as Error)?.message ?? cause), cause });
