import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type GraphQLFormattedError } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface WsClient {
  client: Client;
  /** Resolves with the close event once the socket closes. */
  closed: Promise<{ code: number; reason: string }>;
  dispose(): Promise<void>;
}

/** A graphql-ws client as a dashboard would open one; no automatic retries so tests see every close. */
export function connectWs(url: string, token?: string): WsClient {
  let onClosed!: (event: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClosed = resolve));
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    on: { closed: (event) => onClosed(event as { code: number; reason: string }) },
    onNonLazyError: () => undefined,
  });
  return { client, closed, dispose: () => Promise.resolve(client.dispose()) };
}

export interface Subscription<TData> {
  received: TData[];
  errors: GraphQLFormattedError[][];
  /** Resolves when `received` has at least n items (rejects after the timeout with what arrived). */
  waitFor(n: number, timeoutMs?: number): Promise<TData[]>;
  /** Resolves when the server completed or errored the operation. */
  ended: Promise<void>;
  unsubscribe(): void;
}

export function subscribe<TData, TVariables extends Record<string, unknown>>(
  ws: WsClient,
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
): Subscription<TData> {
  const received: TData[] = [];
  const errors: GraphQLFormattedError[][] = [];
  let notify: (() => void) | undefined;
  let onEnded!: () => void;
  const ended = new Promise<void>((resolve) => (onEnded = resolve));
  const unsubscribe = ws.client.subscribe<TData>(
    { query: print(document), variables },
    {
      next: (result) => {
        if (result.errors) errors.push([...result.errors]);
        if (result.data) received.push(result.data as TData);
        notify?.();
      },
      error: (error) => {
        errors.push(Array.isArray(error) ? error : [{ message: String((error as Error)?.message ?? error) }]);
        notify?.();
        onEnded();
      },
      complete: () => onEnded(),
    },
  );
  return {
    received,
    errors,
    ended,
    unsubscribe,
    waitFor: (n, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`got ${received.length} of ${n} events; errors: ${JSON.stringify(errors)}`)),
          timeoutMs,
        );
        const check = () => {
          if (received.length >= n) {
            clearTimeout(timer);
            notify = undefined;
            resolve(received);
          }
        };
        notify = check;
        check();
      }),
  };
}
