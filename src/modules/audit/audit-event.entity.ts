import { Entity, Enum, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { GraphQLJSONObject } from 'graphql-scalars';

export enum AuditOutcome {
  SUCCESS = 'SUCCESS',
  DENIED = 'DENIED',
  FAILED = 'FAILED',
}

registerEnumType(AuditOutcome, {
  name: 'AuditOutcome',
  description: 'How an audited action ended.',
  valuesConfig: {
    SUCCESS: { description: 'The action took effect.' },
    DENIED: { description: 'Authentication or permission refused it.' },
    FAILED: { description: 'It was allowed but failed (bad input, conflict, not found, internal error).' },
  },
});

/**
 * One row per mutation and per denied access. Actors are not foreign keys so the trail outlives users.
 */
@ObjectType({ description: 'A record of who did (or tried to do) what, when, and how it ended.' })
@Entity({ tableName: 'audit_events' })
@Index({ properties: ['occurredAt'] })
@Index({ properties: ['actorId', 'occurredAt'] })
@Index({ properties: ['correlationId'] })
export class AuditEvent {
  [OptionalProps]?: 'occurredAt' | 'details';

  @Field(() => ID, { description: 'Increasing identifier; also the order of events.' })
  @PrimaryKey({ type: 'bigint', autoincrement: true })
  id!: string;

  @Field(() => Date, { description: 'When it happened.' })
  @Property({ type: 'timestamptz' })
  occurredAt: Date = new Date();

  @Field(() => String, { nullable: true, description: 'The acting user, or null when anonymous.' })
  @Property({ type: 'uuid', nullable: true })
  actorId!: string | null;

  @Field(() => String, { nullable: true, description: 'The actor role at the time, or null when anonymous.' })
  @Property({ type: 'text', nullable: true })
  actorRole!: string | null;

  @Field(() => String, { description: 'The operation, as `Mutation.createAgent` or `Query.users`.' })
  @Property({ type: 'text' })
  action!: string;

  @Field(() => String, { nullable: true, description: 'The kind of resource acted on, e.g. `Agent`.' })
  @Property({ type: 'text', nullable: true })
  resourceType!: string | null;

  @Field(() => String, { nullable: true, description: 'The identifier of the resource acted on.' })
  @Property({ type: 'text', nullable: true })
  resourceId!: string | null;

  @Field(() => AuditOutcome, { description: 'How it ended.' })
  @Enum({ items: () => AuditOutcome, nativeEnumName: 'audit_outcome' })
  outcome!: AuditOutcome;

  @Field(() => String, { nullable: true, description: 'The correlation id of the request.' })
  @Property({ type: 'text', nullable: true })
  correlationId!: string | null;

  @Field(() => GraphQLJSONObject, { description: 'Extra facts: error code, changed fields.' })
  @Property({ type: 'json' })
  details: Record<string, unknown> = {};
}
