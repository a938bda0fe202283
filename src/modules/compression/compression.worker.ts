import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { LockMode } from '@mikro-orm/core';
import type { CompressionPool } from '../../compression/pool.js';
import type { CompressionProgress, CompressionResult } from '../../compression/task.js';
import type { Job, JobContext, JobQueue } from '../../jobs/job-queue.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { EphemeralPublisher } from '../../realtime/event-log.js';
import type { EventHub } from '../../realtime/index.js';
import { watchForStop } from '../../realtime/live-output.js';
import { CompressionRun, CompressionRunStatus, TERMINAL_RUN_STATUSES } from './compression-run.entity.js';
import { CompressionRunEventType, compressionRunStream, recordRunEvent } from './compression.events.js';
import { CompressionInputKind } from './compression-input.js';
import { CompressionSuite } from './compression-suite.entity.js';
import { suiteRunFinished } from './suite-progress.js';
import { COMPRESSION_JOB } from './compression.service.js';

export interface CompressionWorkerDeps {
  orm: MikroORM;
  jobs: JobQueue;
  pool: CompressionPool;
  hub: EventHub;
  ephemeral: EphemeralPublisher;
  log: Logger;
  metrics?: Metrics;
}

const PROGRESS_EVERY_MS = 250;

/**
 * Runs are jobs whose work happens on a worker thread (`src/compression/pool.ts`), never on the event
 * loop. The run row is the state: a job re-run after a crash starts the run again, and only the claim
 * that completes the job stores its figures (the job's fencing), so a run has one result.
 */
export function registerCompressionWorker(deps: CompressionWorkerDeps): void {
  deps.jobs.register(COMPRESSION_JOB, (job, context) => runCompression(deps, job, context), {
    // No more claimed than there are threads: a claimed run is RUNNING, not waiting for a thread.
    concurrency: deps.pool.threads,
    onFinalFailure: async (job, message) => {
      await deps.orm.em
        .fork()
        .transactional((tx) =>
          finish(tx, (job.payload as { runId: string }).runId, { failed: message }, deps.metrics),
        );
    },
  });
}

async function runCompression(deps: CompressionWorkerDeps, job: Job, context: JobContext): Promise<void> {
  const { runId } = job.payload as { runId: string };
  // Listen first, then read the row: a cancel before the read shows in it, one after arrives here.
  const stop = await watchForStop(deps.hub, compressionRunStream(runId), {
    afterSeq: undefined,
    stops: (event) => (event.type === CompressionRunEventType.CANCEL_REQUESTED ? 'cancelled' : undefined),
    signal: context.signal,
  });
  try {
    const run = await start(deps.orm.em.fork(), runId, job.attempts);
    if (run === 'cancelled')
      return await context.complete((tx) => finish(tx, runId, { cancelled: true }, deps.metrics));
    if (!run) return await context.complete(async () => undefined);

    let lastProgress = 0;
    const onProgress = ({ phase, bytesDone, totalBytes }: CompressionProgress) => {
      const now = Date.now();
      if (now - lastProgress < PROGRESS_EVERY_MS && bytesDone !== 0) return;
      lastProgress = now;
      void deps.ephemeral
        .publish({
          stream: compressionRunStream(runId),
          type: CompressionRunEventType.PROGRESS,
          payload: { phase, progress: totalBytes > 0 ? Math.min(1, bytesDone / totalBytes) : 0 },
        })
        .catch(() => undefined); // live only: a lost progress tick is not worth a failure
    };
    const result = await deps.pool.run(
      {
        algorithm: run.algorithm,
        level: run.level,
        input: run.input
          ? { type: 'bytes', data: run.input }
          : {
              type: 'corpus',
              corpus: { kind: run.corpusKind!, sizeBytes: run.inputBytes, seed: run.corpusSeed! },
            },
      },
      { signal: stop.signal, onProgress },
    );
    await context.complete((tx) => finish(tx, runId, { result }, deps.metrics));
  } catch (error) {
    if (stop.signal.aborted && !context.signal.aborted) {
      await context.complete((tx) => finish(tx, runId, { cancelled: true }, deps.metrics));
      return;
    }
    throw error; // retried (3 attempts), then FAILED by onFinalFailure
  } finally {
    await stop.dispose();
  }
}

/** QUEUED (or RUNNING again, after a crash) → RUNNING, with its STARTED event; null if it has ended. */
async function start(
  em: EntityManager,
  runId: string,
  attempt: number,
): Promise<
  | Pick<CompressionRun, 'algorithm' | 'level' | 'input' | 'inputBytes' | 'corpusKind' | 'corpusSeed'>
  | 'cancelled'
  | null
> {
  return em.transactional(async (tx) => {
    const run = await tx.findOne(CompressionRun, runId, {
      lockMode: LockMode.PESSIMISTIC_WRITE,
      populate: ['input'],
    });
    if (!run || TERMINAL_RUN_STATUSES.includes(run.status)) return null;
    if (run.cancelRequested) return 'cancelled';
    // A suite stores its inline data once, for all its runs.
    const input =
      run.suite && run.inputKind !== CompressionInputKind.CORPUS
        ? (await tx.findOneOrFail(CompressionSuite, run.suite.id, { populate: ['input'] })).input
        : run.input;
    run.status = CompressionRunStatus.RUNNING;
    run.startedAt = new Date();
    // A run started again after a crash says so: attempt 2, 3…
    await recordRunEvent(tx, CompressionRunEventType.STARTED, run, { attempt });
    const { algorithm, level, inputBytes, corpusKind, corpusSeed } = run;
    return { algorithm, level, input, inputBytes, corpusKind, corpusSeed };
  });
}

/** Stores how the run ended, once: a run already ended (by another claim, or a cancel) is left alone. */
async function finish(
  tx: EntityManager,
  runId: string,
  outcome: { result: CompressionResult } | { cancelled: true } | { failed: string },
  metrics: Metrics | undefined,
): Promise<void> {
  const run = await tx.findOne(CompressionRun, runId, { lockMode: LockMode.PESSIMISTIC_WRITE });
  if (!run || TERMINAL_RUN_STATUSES.includes(run.status)) return;
  run.finishedAt = new Date();
  if (!run.keepInput) run.input = null;
  let type: CompressionRunEventType;
  if ('result' in outcome) {
    const { result } = outcome;
    Object.assign(run, {
      outputBytes: result.outputBytes,
      ratio: result.ratio,
      compressMs: result.compressMs,
      decompressMs: result.decompressMs,
      compressMBps: result.compressMBps,
      decompressMBps: result.decompressMBps,
      inputChecksum: result.checksum,
      roundTripOk: result.roundTripOk,
    });
    run.status = result.roundTripOk ? CompressionRunStatus.SUCCEEDED : CompressionRunStatus.FAILED;
    // A cancel that came too late leaves no error on a run that finished anyway.
    run.error = result.roundTripOk ? null : 'the decompressed data differs from the input';
    type = result.roundTripOk ? CompressionRunEventType.SUCCEEDED : CompressionRunEventType.FAILED;
  } else if ('cancelled' in outcome) {
    run.status = CompressionRunStatus.CANCELLED;
    run.error ??= 'cancelled';
    type = CompressionRunEventType.CANCELLED;
  } else {
    run.status = CompressionRunStatus.FAILED;
    run.error = outcome.failed;
    type = CompressionRunEventType.FAILED;
  }
  await recordRunEvent(tx, type, run);
  metrics?.compressionRunEnded(run.algorithm, run.status, 'result' in outcome ? outcome.result : undefined);
  if (run.suite) await suiteRunFinished(tx, run);
}
