import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { getOperationAST, print, type DocumentNode, type GraphQLFormattedError } from 'graphql';
import { createClient, type Client as WsClient } from 'graphql-ws';
import { ParleyError, isParleyError } from './errors.js';
import { Session, type Credentials } from './session.js';
import { resumableSubscription, type Reconnect } from './subscription.js';

export type ParleyCredentials = { url: string } & Credentials;

export interface RetryOptions {
  /** Wait `retryAfter` seconds and try again when the answer is RATE_LIMITED (nothing ran: it is safe). */
  rateLimited?: boolean;
  /** The same for SERVICE_UNAVAILABLE (the database or Ollama is down; nothing was written). */
  serviceUnavailable?: boolean;
  /** Tries after the first, per call. Default 2. */
  maxRetries?: number;
}

export interface ParleyClientOptions {
  /** The WebSocket class. Default: `ws` on Node (Node 20 has none built in), the global one elsewhere. */
  webSocketImpl?: unknown;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** The graphql-ws endpoint. Default: `url` with http(s) replaced by ws(s). */
  wsUrl?: string;
  /** Off unless asked for: a caller may prefer to tell its user to wait. */
  retry?: RetryOptions;
  /** How subscriptions come back after their connection drops. */
  reconnect?: Partial<Reconnect>;
}

/** Variables may be left out when the operation has none, or none that are required. */
type VariablesArg<TVariables> =
  Record<string, never> extends TVariables ? [variables?: TVariables] : [variables: TVariables];

export interface ParleyClient {
  /** Runs a query over HTTP; resolves with its data or throws ParleyError (with any partial data). */
  query<TData, TVariables>(
    document: TypedDocumentNode<TData, TVariables>,
    ...variables: VariablesArg<TVariables>
  ): Promise<TData>;
  /** Runs a mutation over HTTP; same contract as `query`. */
  mutate<TData, TVariables>(
    document: TypedDocumentNode<TData, TVariables>,
    ...variables: VariablesArg<TVariables>
  ): Promise<TData>;
  /**
   * Subscribes over graphql-ws. The iterator survives dropped connections: it subscribes again with
   * `afterSeq` set to the last `seq` it received, so the server replays what was missed, with no gap and
   * no duplicate (documents without an `afterSeq` variable are simply subscribed again). Errors are
   * thrown from `next()` as ParleyError; `return()` (or `break` in `for await`) unsubscribes.
   */
  subscribe<TData, TVariables>(
    document: TypedDocumentNode<TData, TVariables>,
    ...variables: VariablesArg<TVariables>
  ): AsyncIterableIterator<TData>;
  /** Ends every subscription, closes the WebSocket and ends the sign-in the client made. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Printing a document costs a walk of its AST; clients send the same few documents over and over. */
const printed = new WeakMap<DocumentNode, string>();
const source = (document: DocumentNode) => {
  let text = printed.get(document);
  if (text === undefined) printed.set(document, (text = print(document)));
  return text;
};

async function defaultWebSocket(): Promise<unknown> {
  if (typeof process !== 'undefined' && process.versions?.node) return (await import('ws')).default;
  return (globalThis as { WebSocket?: unknown }).WebSocket;
}

export function createParleyClient(
  credentials: ParleyCredentials,
  options: ParleyClientOptions = {},
): ParleyClient {
  const { url } = credentials;
  const fetchImpl = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
  const retry = { rateLimited: false, serviceUnavailable: false, maxRetries: 2, ...options.retry };
  let closed = false;

  /** How long to wait before trying `error`'s call again, or undefined to give up. */
  const retryDelay = (error: ParleyError, retries: number): number | undefined => {
    const allowed =
      (error.code === 'RATE_LIMITED' && retry.rateLimited) ||
      (error.code === 'SERVICE_UNAVAILABLE' && retry.serviceUnavailable);
    return allowed && retries < retry.maxRetries && !closed ? (error.retryAfter ?? 1) * 1000 : undefined;
  };

  /** One operation over HTTP (GraphQL over HTTP: a JSON POST), with the optional retries. */
  const send = async <TData, TVariables>(
    document: TypedDocumentNode<TData, TVariables>,
    variables: TVariables,
    token: string | undefined,
  ): Promise<TData> => {
    const body = JSON.stringify({
      query: source(document),
      variables,
      operationName: getOperationAST(document)?.name?.value,
    });
    for (let retries = 0; ; retries++) {
      let response: Response;
      try {
        response = await fetchImpl(url, {
          method: 'POST',
          // A JSON content type also satisfies Apollo's CSRF prevention.
          headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
          body,
        });
      } catch (cause) {
        throw new ParleyError({ code: 'NETWORK_ERROR', message: `Parley at ${url} is unreachable`, cause });
      }
      const answer = (await response.json().catch(() => undefined)) as
        { data?: TData | null; errors?: GraphQLFormattedError[] } | undefined;
      const retryAfterHeader = response.headers.get('retry-after');
      if (answer?.data && !answer.errors?.length) return answer.data;
      const error = answer?.errors?.length
        ? ParleyError.fromGraphQL(answer.errors, {
            data: answer.data,
            status: response.status,
            retryAfterHeader,
          })
        : ParleyError.fromStatus(response.status, retryAfterHeader);
      const delay = retryDelay(error, retries);
      if (delay === undefined) throw error;
      await sleep(delay);
    }
  };

  const session = new Session(send, credentials);

  /**
   * With a login, an UNAUTHENTICATED answer is retried once after renewing the token. The server says why
   * only in the message; every reason a token we manage can be refused for (expired while the clocks
   * disagree, revoked by a role change, its sign-in ended) is cured by a refresh or a new sign-in, and
   * a second refusal is thrown as it is.
   */
  const request = async <TData, TVariables>(
    document: TypedDocumentNode<TData, TVariables>,
    variables: TVariables,
  ): Promise<TData> => {
    if (closed) throw new Error('This Parley client is closed');
    const token = await session.accessToken();
    try {
      return await send(document, variables, token);
    } catch (error) {
      if (!isParleyError(error, 'UNAUTHENTICATED') || !token || !(await session.renew(token))) throw error;
      return send(document, variables, await session.accessToken());
    }
  };

  // One socket for all subscriptions, opened when the first starts (graphql-ws is lazy).
  let ws: Promise<WsClient> | undefined;
  let wsToken: string | undefined;
  const wsClient = () =>
    (ws ??= (options.webSocketImpl ? Promise.resolve(options.webSocketImpl) : defaultWebSocket()).then(
      (webSocketImpl) =>
        createClient({
          url: options.wsUrl ?? url.replace(/^http/, 'ws'),
          webSocketImpl,
          // Every close reaches the subscriptions, which resume themselves: graphql-ws would resend the
          // first variables (a replay from the old afterSeq) and gives up on 4401 instead of renewing.
          retryAttempts: 0,
          // Asked again for every connection, so a reconnect presents a fresh token.
          connectionParams: async () => {
            wsToken = await session.accessToken();
            return wsToken ? { authorization: `Bearer ${wsToken}` } : {};
          },
        }),
    ));
  const subscriptions = new Set<{ end(): void }>();

  return {
    query: (document, ...[variables]) => request(document, variables!),
    mutate: (document, ...[variables]) => request(document, variables!),
    subscribe(document, ...[variables]) {
      if (closed) throw new Error('This Parley client is closed');
      const subscription = resumableSubscription(document, variables, {
        wsClient,
        renewToken: () => session.renew(wsToken),
        retryDelay,
        reconnect: { maxAttempts: 10, initialDelayMs: 250, maxDelayMs: 10_000, ...options.reconnect },
        onEnd: () => subscriptions.delete(subscription),
      });
      subscriptions.add(subscription);
      return subscription.iterator;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const subscription of [...subscriptions]) subscription.end();
      await (await ws?.catch(() => undefined))?.dispose();
      await session.end();
    },
  };
}
