import { Arg, Ctx, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import type { StoredEvent } from '../../realtime/index.js';
import { BREAKERS_STREAM, CircuitBreakerEvent, toBreakerEvent } from './breakers.events.js';
import { CircuitBreakerRow } from './circuit-breaker.entity.js';

@Resolver()
export class BreakersResolver {
  @Query(() => [CircuitBreakerRow], {
    description:
      "Every replica's circuit breakers (this replica's live, the others' as last recorded). VIEWER+.",
  })
  circuitBreakers(@Ctx() { em, services }: GraphQLContext): Promise<CircuitBreakerRow[]> {
    return services.breakers.list(em);
  }

  @Mutation(() => Boolean, {
    description:
      'Close a breaker and clear its window on every replica (through the event log). ADMIN; audited.',
  })
  resetCircuitBreaker(
    @Arg('name', () => String, { description: 'The breaker name, as in `circuitBreakers`.' }) name: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<boolean> {
    return ctx.services.breakers.requestReset(ctx.em, ctx.user!, name);
  }

  @Subscription(() => CircuitBreakerEvent, {
    description:
      'Breaker transitions on every replica, and reset requests, in order. Pass `afterSeq` to resume. VIEWER+.',
    subscribe: ({ args, context }) =>
      (context as GraphQLContext).realtime.subscribe(BREAKERS_STREAM, {
        afterSeq: (args as { afterSeq?: number | null }).afterSeq,
      }),
  })
  circuitBreakerChanged(
    @Root() event: StoredEvent,
    @Arg('afterSeq', () => Int, {
      nullable: true,
      description: 'Resume after this seq (replays stored events).',
    })
    _afterSeq?: number,
  ): CircuitBreakerEvent {
    return toBreakerEvent(event);
  }
}
