import type { EntityManager } from '@mikro-orm/postgresql';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { appendEvent, type StoredEvent } from '../../realtime/index.js';
import { CompressionRun, type CompressionRunStatus } from './compression-run.entity.js';

export const compressionRunStream = (runId: string) => `compression-run:${runId}`;

export enum CompressionRunEventType {
  QUEUED = 'QUEUED',
  STARTED = 'STARTED',
  /** Ephemeral: how far a large run has got (never replayed). */
  PROGRESS = 'PROGRESS',
  CANCEL_REQUESTED = 'CANCEL_REQUESTED',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(CompressionRunEventType, {
  name: 'CompressionRunEventType',
  description: 'What happened to a compression run. PROGRESS is live only (not replayed).',
});

@ObjectType({ description: 'A change to a compression run, in order.' })
export class CompressionRunEvent {
  @Field(() => Int, { description: 'Position in the run’s stream; resume with `afterSeq`.' })
  seq!: number;

  @Field(() => CompressionRunEventType, { description: 'What happened.' })
  type!: CompressionRunEventType;

  @Field(() => ID, { description: 'The run.' })
  runId!: string;

  @Field(() => CompressionRun, {
    nullable: true,
    description: 'The run as it was right after the change (null for PROGRESS).',
  })
  run!: CompressionRun | null;

  @Field(() => Int, {
    nullable: true,
    description: 'STARTED: which attempt (2 and on: started again after a crash or a failure).',
  })
  attempt!: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'PROGRESS: the phase (GENERATING, HASHING, COMPRESSING, DECOMPRESSING, VERIFYING).',
  })
  phase!: string | null;

  @Field(() => Float, { nullable: true, description: 'PROGRESS: the fraction of the phase done, 0–1.' })
  progress!: number | null;

  @Field(() => Date, { description: 'When it happened.' })
  occurredAt!: Date;
}

type RunSnapshot = Omit<
  CompressionRun,
  'requestedBy' | 'agent' | 'suite' | 'input' | 'startedAt' | 'finishedAt' | 'createdAt'
> & {
  requestedById: string;
  agentId: string | null;
  suiteId: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  createdAt: string;
};

function snapshotOf(run: CompressionRun): RunSnapshot {
  const { requestedBy, agent, suite, input: _input, startedAt, finishedAt, createdAt, ...fields } = run;
  return {
    ...fields,
    requestedById: requestedBy.id,
    agentId: agent?.id ?? null,
    suiteId: suite?.id ?? null,
    startedAt: startedAt?.toISOString() ?? null,
    finishedAt: finishedAt?.toISOString() ?? null,
    createdAt: createdAt.toISOString(),
  };
}

/** Appends to the run's stream in the caller's transaction, with the run as it is now. */
export function recordRunEvent(
  em: EntityManager,
  type: CompressionRunEventType,
  run: CompressionRun,
  extra: Record<string, unknown> = {},
): Promise<number> {
  return appendEvent(em, {
    stream: compressionRunStream(run.id),
    type,
    entityId: run.id,
    payload: { run: snapshotOf(run), ...extra },
  });
}

function revive(snapshot: RunSnapshot): CompressionRun {
  return Object.assign(Object.create(CompressionRun.prototype) as CompressionRun, {
    ...snapshot,
    status: snapshot.status as CompressionRunStatus,
    requestedBy: { id: snapshot.requestedById },
    agent: snapshot.agentId ? { id: snapshot.agentId } : null,
    suite: snapshot.suiteId ? { id: snapshot.suiteId } : null,
    startedAt: snapshot.startedAt ? new Date(snapshot.startedAt) : null,
    finishedAt: snapshot.finishedAt ? new Date(snapshot.finishedAt) : null,
    createdAt: new Date(snapshot.createdAt),
  });
}

const built = new WeakMap<StoredEvent, CompressionRunEvent>();

export function toCompressionRunEvent(event: StoredEvent): CompressionRunEvent {
  let result = built.get(event);
  if (!result) {
    const payload = event.payload as {
      run?: RunSnapshot;
      attempt?: number;
      phase?: string;
      progress?: number;
    };
    const run = payload.run ? revive(payload.run) : null;
    result = {
      seq: event.seq,
      type: event.type as CompressionRunEventType,
      runId: event.stream.slice('compression-run:'.length),
      run,
      attempt: payload.attempt ?? null,
      phase: payload.phase ?? null,
      progress: payload.progress ?? null,
      occurredAt: event.createdAt,
    };
    built.set(event, result);
  }
  return result;
}

export const compressionSuiteStream = (suiteId: string) => `compression-suite:${suiteId}`;

export enum CompressionSuiteEventType {
  /** One of its runs ended (SUCCEEDED, FAILED or CANCELLED): `run` says how. */
  RUN_FINISHED = 'RUN_FINISHED',
  /** All its runs have ended: the comparison is ready. */
  COMPLETED = 'COMPLETED',
}
registerEnumType(CompressionSuiteEventType, {
  name: 'CompressionSuiteEventType',
  description: 'What happened in a compression suite.',
});

@ObjectType({ description: 'A change to a compression suite, in order.' })
export class CompressionSuiteEvent {
  @Field(() => Int, { description: 'Position in the suite’s stream; resume with `afterSeq`.' })
  seq!: number;

  @Field(() => CompressionSuiteEventType, { description: 'What happened.' })
  type!: CompressionSuiteEventType;

  @Field(() => ID, { description: 'The suite.' })
  suiteId!: string;

  @Field(() => CompressionRun, { nullable: true, description: 'RUN_FINISHED: the run as it ended.' })
  run!: CompressionRun | null;

  @Field(() => Int, { description: 'How many of its runs have ended so far.' })
  finishedRuns!: number;

  @Field(() => Int, { description: 'How many runs it has.' })
  totalRuns!: number;

  @Field(() => Date, { description: 'When it happened.' })
  occurredAt!: Date;
}

export function recordSuiteEvent(
  em: EntityManager,
  suiteId: string,
  type: CompressionSuiteEventType,
  payload: { run?: CompressionRun; finishedRuns: number; totalRuns: number },
): Promise<number> {
  return appendEvent(em, {
    stream: compressionSuiteStream(suiteId),
    type,
    entityId: suiteId,
    payload: {
      ...(payload.run ? { run: snapshotOf(payload.run) } : {}),
      finishedRuns: payload.finishedRuns,
      totalRuns: payload.totalRuns,
    },
  });
}

const builtSuiteEvents = new WeakMap<StoredEvent, CompressionSuiteEvent>();

export function toCompressionSuiteEvent(event: StoredEvent): CompressionSuiteEvent {
  let result = builtSuiteEvents.get(event);
  if (!result) {
    const payload = event.payload as { run?: RunSnapshot; finishedRuns: number; totalRuns: number };
    result = {
      seq: event.seq,
      type: event.type as CompressionSuiteEventType,
      suiteId: event.stream.slice('compression-suite:'.length),
      run: payload.run ? revive(payload.run) : null,
      finishedRuns: payload.finishedRuns,
      totalRuns: payload.totalRuns,
      occurredAt: event.createdAt,
    };
    builtSuiteEvents.set(event, result);
  }
  return result;
}
