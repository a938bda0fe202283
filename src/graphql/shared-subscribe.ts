import {
  createSourceEventStream,
  execute,
  getOperationAST,
  type ExecutionArgs,
  type ExecutionResult,
} from 'graphql';
import { Channel } from '../realtime/channel.js';
import type { GraphQLContext } from './context.js';

/**
 * How a subscription's results reach its socket. graphql-ws would execute, format and JSON-encode every
 * event once per subscriber, through a chain of promises per subscriber; with thousands of dashboards on
 * one stream that is the whole cost of fan-out. Here the payload is produced once per group and each
 * socket gets it as a ready string, synchronously, straight from the event hub.
 */
export interface WireTransport {
  /** Formats a result as clients must see it (error codes, masking) and returns its JSON. */
  encode(result: ExecutionResult): string;
  /** Writes one `next` message with this payload JSON; false when the socket is gone. */
  send(payloadJson: string): boolean;
  /** True while the socket has more unsent data than a replay should add to. */
  congested(): boolean;
  /** The client stopped reading: close it as a slow consumer. */
  closeSlow(): void;
}

interface Payload {
  json?: string;
  error?: Error;
  /** Subscribers to tell when `json` (or `error`) is set; one callback each, not one promise each. */
  ready: (() => void)[];
}
/**
 * Subscribers with the same document, variables and role get the same answer (ownership is checked
 * when subscribing, so results never depend on more than the role): each event is executed and encoded
 * once per such group, then shared.
 */
const payloadsByEvent = new WeakMap<object, Map<string, Payload>>();

function groupKey(args: ExecutionArgs, context: GraphQLContext): string {
  const document = args.document.loc?.source.body ?? JSON.stringify(args.document);
  return [
    context.user?.role ?? 'anonymous',
    args.operationName ?? '',
    JSON.stringify(args.variableValues ?? {}),
    document,
  ].join('\u0000');
}

/** graphql-ws's `subscribe`: the source stream from the schema, results written straight to the wire. */
export async function sharedSubscribe(
  args: ExecutionArgs,
): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const started = performance.now();
  const source = await createSourceEventStream(args);
  const context = args.contextValue as GraphQLContext;
  context.services.metrics.graphqlOperation(
    getOperationAST(args.document, args.operationName)?.name?.value,
    'subscription',
    (performance.now() - started) / 1e3,
  );
  if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
  if (source instanceof Channel) source.graphql = true;
  // Each event is resolved with a fresh context of the same caller (see GraphQLContext.forEvent).
  const run = (event: unknown) => execute({ ...args, rootValue: event, contextValue: context.forEvent() });
  if (!(source instanceof Channel) || !context.transport) {
    return mapResults(source as AsyncIterableIterator<unknown>, run);
  }
  return wire(source, context.transport, groupKey(args, context), run);
}

/** The plain path (no socket to write to): one execution per event, yielded to graphql-ws. */
async function* mapResults(
  events: AsyncIterableIterator<unknown>,
  run: (event: unknown) => ExecutionResult | Promise<ExecutionResult>,
): AsyncGenerator<ExecutionResult, void, void> {
  try {
    for await (const event of events) yield await run(event);
  } finally {
    await events.return?.();
  }
}

/**
 * The hot path. Events are pushed synchronously; a subscriber only waits when its group's payload for
 * an event is still being produced, and then keeps its order with a small queue. To graphql-ws this is
 * an iterator that yields nothing and ends when the stream does.
 */
function wire(
  channel: Channel<unknown>,
  transport: WireTransport,
  key: string,
  run: (event: unknown) => ExecutionResult | Promise<ExecutionResult>,
): AsyncIterableIterator<ExecutionResult> {
  let finished: (result: IteratorResult<ExecutionResult>) => void;
  let failed: (error: Error) => void;
  const ended = new Promise<IteratorResult<ExecutionResult>>((resolve, reject) => {
    finished = resolve;
    failed = reject;
  });
  const waiting: Payload[] = [];

  const produce = (event: unknown): Payload => {
    const payload: Payload = { ready: [] };
    Promise.resolve(run(event))
      .then((result) => (payload.json = transport.encode(result)))
      .catch((error: Error) => (payload.error = error))
      .finally(() => {
        for (const notify of payload.ready.splice(0)) notify();
      });
    return payload;
  };
  const payloadFor = (event: unknown): Payload => {
    if (typeof event !== 'object' || event === null) return produce(event);
    let byKey = payloadsByEvent.get(event);
    if (!byKey) payloadsByEvent.set(event, (byKey = new Map()));
    let payload = byKey.get(key);
    if (!payload) byKey.set(key, (payload = produce(event)));
    return payload;
  };
  const send = (json: string) => {
    if (!transport.send(json)) void channel.return();
  };
  // Sends what is ready at the head of this subscriber's queue, in order; waits (by callback) otherwise.
  const flush = () => {
    while (waiting.length > 0) {
      const head = waiting[0]!;
      if (head.error) {
        waiting.length = 0;
        channel.fail(head.error);
        return;
      }
      if (head.json === undefined) {
        head.ready.push(flush);
        return;
      }
      waiting.shift();
      send(head.json);
    }
  };

  // Bounded: a replay may run at most this many payloads ahead of what has reached the socket.
  // Bounded: a replay may run at most this many payloads ahead of what has reached the socket.
  channel.congested = () => waiting.length > 32 || transport.congested();
  channel.stalled = () => transport.closeSlow();
  channel.attach(
    (event) => {
      const payload = payloadFor(event);
      if (waiting.length === 0 && payload.json !== undefined) {
        send(payload.json);
        return;
      }
      waiting.push(payload);
      if (waiting.length === 1) flush();
    },
    (error) => (error ? failed(error) : finished({ value: undefined, done: true })),
  );

  const iterator: AsyncIterableIterator<ExecutionResult> = {
    next: () => ended,
    return: async () => {
      await channel.return();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
