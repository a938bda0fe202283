import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * The ordered event log: one row per change a subscriber can see, written in the same transaction as
 * the change. `(stream, seq)` is gap-free per stream (see `EventStream`).
 * Written and read with SQL in event-log.ts (hot path); the entities exist so migrations know the tables.
 */
@Entity({ tableName: 'events' })
@Index({ properties: ['createdAt'] })
@Index({ properties: ['stream', 'entityId', 'seq'] })
export class StoredEventRow {
  @PrimaryKey({ type: 'text' })
  stream!: string;

  @PrimaryKey({ type: 'bigint' })
  seq!: string;

  @Property({ type: 'text' })
  type!: string;

  /** The resource the event is about, for filtered subscriptions (e.g. one agent in the agents stream). */
  @Property({ type: 'text', nullable: true })
  entityId!: string | null;

  @Property({ type: 'json' })
  payload!: Record<string, unknown>;

  @Property({ type: 'text', nullable: true })
  correlationId!: string | null;

  @Property({ type: 'timestamptz', defaultRaw: 'now()' })
  createdAt!: Date;
}

/**
 * One row per stream: its head. Appending increments `lastSeq` with a row lock held to commit, so
 * writers of one stream commit in seq order and a rolled-back append gives its number back (a Postgres
 * sequence would not: pitfall 16).
 */
@Entity({ tableName: 'event_streams' })
export class EventStreamRow {
  @PrimaryKey({ type: 'text' })
  stream!: string;

  @Property({ type: 'bigint', default: 0 })
  lastSeq!: string;

  /** Events up to here were removed by retention; a cursor before it cannot be resumed. */
  @Property({ type: 'bigint', default: 0 })
  prunedThrough!: string;
}
