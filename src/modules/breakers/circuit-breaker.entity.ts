import { Entity, Enum, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import { CircuitState } from '../../resilience/circuit.js';

registerEnumType(CircuitState, {
  name: 'CircuitBreakerState',
  description: 'CLOSED: calls flow. OPEN: calls fail at once. HALF_OPEN: a few probe calls decide.',
});

/** The last known state of one breaker on one replica (every transition is also an event). */
@ObjectType('CircuitBreaker', { description: 'A circuit breaker guarding one dependency, on one replica.' })
@Entity({ tableName: 'circuit_breakers' })
export class CircuitBreakerRow {
  @Field(() => String, { description: 'The dependency, e.g. `ollama:http://127.0.0.1:11434`.' })
  @PrimaryKey({ type: 'text' })
  name!: string;

  @Field(() => String, { description: 'The replica (process) this breaker lives in.' })
  @PrimaryKey({ type: 'text' })
  replica!: string;

  @Field(() => CircuitState, { description: 'Current state.' })
  @Enum({ items: () => CircuitState, nativeEnumName: 'circuit_state' })
  state!: CircuitState;

  @Field(() => Float, { description: 'Share of failed calls in the sliding window, 0–1.' })
  @Property({ type: 'double' })
  failureRate!: number;

  @Field(() => Int, { description: 'Calls in the sliding window.' })
  @Property({ type: 'integer' })
  callsInWindow!: number;

  @Field(() => Date, { description: 'When the state last changed.' })
  @Property({ type: 'timestamptz' })
  lastTransitionAt!: Date;

  @Field(() => Date, { nullable: true, description: 'While OPEN: when probes will be let through.' })
  @Property({ type: 'timestamptz', nullable: true })
  openUntil!: Date | null;
}
