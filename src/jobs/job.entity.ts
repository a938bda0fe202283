import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

export enum JobStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}

/**
 * Durable work (replies, debate turns, compression runs). Claimed with a lease that the worker keeps
 * renewing; a lease that runs out (the process died) makes the job claimable again. `key` is unique, so
 * enqueueing the same work twice is a no-op.
 */
@Entity({ tableName: 'jobs' })
@Index({ properties: ['status', 'runAfter'] })
@Index({ properties: ['status', 'leaseExpiresAt'] })
export class JobRow {
  [OptionalProps]?:
    | 'status'
    | 'attempts'
    | 'maxAttempts'
    | 'runAfter'
    | 'createdAt'
    | 'updatedAt'
    | 'leaseOwner'
    | 'leaseExpiresAt'
    | 'lastError';

  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text' })
  kind!: string;

  @Property({ type: 'text', unique: true })
  key!: string;

  @Property({ type: 'json' })
  payload!: Record<string, unknown>;

  @Enum({ items: () => JobStatus, nativeEnumName: 'job_status' })
  status: JobStatus = JobStatus.QUEUED;

  @Property({ type: 'integer' })
  attempts: number = 0;

  @Property({ type: 'integer' })
  maxAttempts: number = 5;

  @Property({ type: 'timestamptz' })
  runAfter: Date = new Date();

  @Property({ type: 'text', nullable: true })
  leaseOwner: string | null = null;

  @Property({ type: 'timestamptz', nullable: true })
  leaseExpiresAt: Date | null = null;

  @Property({ type: 'text', nullable: true })
  lastError: string | null = null;

  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Property({ type: 'timestamptz', onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
