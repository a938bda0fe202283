import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { GraphQLContext } from './context.js';

/**
 * How a subscription's results reach its socket. graphql-ws would execute, format and JSON-encode every
 * event once per subscriber; with thousands of dashboards on one stream that is the whole cost of
 * fan-out. Instead the payload is produced once per group and written to each socket as a ready string.
 */
export interface WireTransport {
  /** Formats a result as clients must see it (error codes, masking) and returns its JSON. */
  encode(result: ExecutionResult): string;
  /** Writes one `next` message with this payload JSON; false when the socket is gone. */
  send(payloadJson: string): boolean;
}

/**
 * Subscribers with the same document, variables and role get the same answer (ownership is checked
 * when subscribing, so results never depend on more than the role): each event is executed and encoded
 * once per such group, then shared.
 */
const payloadsByEvent = new WeakMap<object, Map<string, Promise<string>>>();

function groupKey(args: ExecutionArgs, context: GraphQLContext): string {
  const document = args.document.loc?.source.body ?? JSON.stringify(args.document);
  return [context.user?.role ?? 'anonymous', args.operationName ?? '', JSON.stringify(args.variableValues ?? {}), document].join(
    '\u0000',
  );
}

/** graphql-ws's `subscribe`: the source stream from the schema, results written straight to the wire. */
export async function sharedSubscribe(
  args: ExecutionArgs,
): Promise<AsyncGenerator<ExecutionResult, void, void> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
  const context = args.contextValue as GraphQLContext;
  const transport = context.transport;
  const key = groupKey(args, context);
  const events = source as AsyncIterableIterator<unknown>;
  // Each event is resolved with a fresh context of the same caller (see GraphQLContext.forEvent).
  const run = (event: unknown) => execute({ ...args, rootValue: event, contextValue: context.forEvent() });

  async function* results(): AsyncGenerator<ExecutionResult, void, void> {
    try {
      for await (const event of events) {
        if (!transport || typeof event !== 'object' || event === null) {
          yield await run(event);
          continue;
        }
        let byKey = payloadsByEvent.get(event);
        if (!byKey) payloadsByEvent.set(event, (byKey = new Map()));
        let payload = byKey.get(key);
        if (!payload) {
          payload = Promise.resolve(run(event)).then((result) => transport.encode(result));
          byKey.set(key, payload);
        }
        if (!transport.send(await payload)) break;
      }
    } finally {
      await events.return?.();
    }
  }
  return results();
}
