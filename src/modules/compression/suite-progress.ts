import type { EntityManager } from '@mikro-orm/postgresql';
import { LockMode } from '@mikro-orm/core';
import type { CompressionRun } from './compression-run.entity.js';
import { CompressionSuite, CompressionSuiteStatus } from './compression-suite.entity.js';
import { CompressionSuiteEventType, recordSuiteEvent } from './compression.events.js';

/** Tells the suite's watchers; the last run to end completes the suite (serialised on the suite's row). */
export async function suiteRunFinished(tx: EntityManager, run: CompressionRun): Promise<void> {
  const suite = await tx.findOneOrFail(CompressionSuite, run.suite!.id, {
    lockMode: LockMode.PESSIMISTIC_WRITE,
  });
  await tx.flush();
  const [counts] = await tx.execute<{ total: number; finished: number }[]>(
    `select count(*)::int as total, count(*) filter (where status in ('SUCCEEDED', 'FAILED', 'CANCELLED'))::int as finished
       from compression_runs where suite_id = ?`,
    [suite.id],
  );
  const progress = { finishedRuns: counts!.finished, totalRuns: counts!.total };
  await recordSuiteEvent(tx, suite.id, CompressionSuiteEventType.RUN_FINISHED, { run, ...progress });
  if (progress.finishedRuns < progress.totalRuns || suite.status === CompressionSuiteStatus.COMPLETE) return;
  suite.status = CompressionSuiteStatus.COMPLETE;
  suite.finishedAt = new Date();
  if (!suite.keepInput) suite.input = null;
  await recordSuiteEvent(tx, suite.id, CompressionSuiteEventType.COMPLETED, progress);
}
