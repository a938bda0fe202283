import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { GraphQLContext } from './context.js';

type Result = ExecutionResult | Promise<ExecutionResult>;

/**
 * graphql-ws runs the subscription's selection once per subscriber per event. Subscribers with the same
 * document, variables and role get the same answer, so each event is executed once per such group and
 * the result shared: with thousands of dashboards on one stream this is what keeps fan-out cheap (and
 * relation fields load once, not once per subscriber). Ownership is checked when subscribing, so results
 * never depend on more than the role.
 */
const resultsByEvent = new WeakMap<object, Map<string, Result>>();

function groupKey(args: ExecutionArgs): string {
  const context = args.contextValue as GraphQLContext | undefined;
  const document = args.document.loc?.source.body ?? JSON.stringify(args.document);
  return `${context?.user?.role ?? 'anonymous'}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}\u0000${document}`;
}

export async function sharedSubscribe(
  args: ExecutionArgs,
): Promise<AsyncGenerator<ExecutionResult, void, void> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source as ExecutionResult;
  const key = groupKey(args);
  const events = source as AsyncIterableIterator<unknown>;

  async function* results(): AsyncGenerator<ExecutionResult, void, void> {
    try {
      for await (const event of events) {
        const run = () =>
          execute({
            ...args,
            rootValue: event,
            contextValue: (args.contextValue as GraphQLContext).forEvent(),
          });
        if (typeof event !== 'object' || event === null) {
          yield await run();
          continue;
        }
        let byKey = resultsByEvent.get(event);
        if (!byKey) resultsByEvent.set(event, (byKey = new Map()));
        let result = byKey.get(key);
        if (!result) byKey.set(key, (result = run()));
        yield await result;
      }
    } finally {
      await events.return?.();
    }
  }
  return results();
}
