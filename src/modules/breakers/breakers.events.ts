import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { StoredEvent } from '../../realtime/index.js';
import { CircuitState, type CircuitSnapshot } from '../../resilience/circuit.js';
import { CircuitBreakerRow } from './circuit-breaker.entity.js';

/** Every replica's breaker transitions and reset requests, in one ordered stream. */
export { BREAKERS_STREAM } from '../../resilience/registry.js';

export enum BreakerEventType {
  STATE_CHANGED = 'STATE_CHANGED',
  RESET_REQUESTED = 'RESET_REQUESTED',
}
registerEnumType(BreakerEventType, {
  name: 'CircuitBreakerEventType',
  description: 'What happened to a breaker.',
});

export interface BreakerEventPayload {
  name: string;
  replica?: string;
  previous?: CircuitState;
  snapshot?: Omit<CircuitSnapshot, 'lastTransitionAt' | 'openUntil'> & {
    lastTransitionAt: string;
    openUntil: string | null;
  };
  requestedBy?: string;
}

@ObjectType({ description: 'A breaker changed state on some replica, or an admin asked for a reset.' })
export class CircuitBreakerEvent {
  @Field(() => Int, { description: 'Position in the breakers stream; resume with `afterSeq`.' })
  seq!: number;

  @Field(() => BreakerEventType, { description: 'What happened.' })
  type!: BreakerEventType;

  @Field(() => String, { description: 'The breaker name.' })
  name!: string;

  @Field(() => CircuitBreakerRow, {
    nullable: true,
    description: 'The breaker after the change (STATE_CHANGED).',
  })
  breaker!: CircuitBreakerRow | null;

  @Field(() => CircuitState, { nullable: true, description: 'The state before the change (STATE_CHANGED).' })
  previousState!: CircuitState | null;

  @Field(() => Date, { description: 'When it was recorded.' })
  occurredAt!: Date;
}

const built = new WeakMap<StoredEvent, CircuitBreakerEvent>();

export function toBreakerEvent(event: StoredEvent): CircuitBreakerEvent {
  let result = built.get(event);
  if (!result) {
    const payload = event.payload as unknown as BreakerEventPayload;
    const snapshot = payload.snapshot;
    result = {
      seq: event.seq,
      type: event.type as BreakerEventType,
      name: payload.name,
      breaker: snapshot
        ? Object.assign(new CircuitBreakerRow(), {
            name: snapshot.name,
            replica: payload.replica!,
            state: snapshot.state,
            failureRate: snapshot.failureRate,
            callsInWindow: snapshot.callsInWindow,
            lastTransitionAt: new Date(snapshot.lastTransitionAt),
            openUntil: snapshot.openUntil ? new Date(snapshot.openUntil) : null,
          })
        : null,
      previousState: payload.previous ?? null,
      occurredAt: event.createdAt,
    };
    built.set(event, result);
  }
  return result;
}
