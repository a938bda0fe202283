import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { ServiceUnavailableError } from '../common/errors.js';
import type { Logger } from '../observability/logger.js';
import type { JobOutcome, Metrics } from '../observability/metrics.js';
import { runWithCorrelationId } from '../observability/correlation.js';
import { JOBS_CHANNEL } from '../realtime/event-log.js';
import type { EventListener } from '../realtime/listener.js';
import type { GuardedCircuit } from '../resilience/circuit.js';
import { JobStatus } from './job.entity.js';

export interface Job<P = Record<string, unknown>> {
  id: string;
  kind: string;
  key: string;
  payload: P;
  attempts: number;
  maxAttempts: number;
  /** This claim's fencing token (`replica:uuid`): a later claim of the same job gets another one. */
  leaseToken: string;
}

export interface JobContext {
  /** Aborted when the lease is lost or the process stops: stop work, write nothing. */
  signal: AbortSignal;
  /**
   * Completes the job in the transaction `effect` runs in: the effect (written with its own unique key)
   * and the job's completion commit together, and only while this worker still holds the lease.
   */
  complete(effect: (tx: EntityManager) => Promise<void>): Promise<void>;
}

export type JobHandler = (job: Job, context: JobContext) => Promise<void>;
export type FinalFailureHandler = (job: Job, message: string) => Promise<void>;

export interface JobQueueOptions {
  replicaId: string;
  concurrency: number;
  leaseMs: number;
  pollMs: number;
}

/** A Postgres text[] literal (knex would spread a JS array into a list of parameters). */
const textArray = (values: string[]) =>
  `{${values.map((value) => `"${value.replace(/[\\"]/g, (char) => `\\${char}`)}"`).join(',')}}`;

/** Jobs claimed per statement: enough to fill a burst quickly, few enough to spread across replicas. */
const CLAIM_BATCH = 16;

/** Thrown when the lease was lost before completing: another worker owns the job now. */
class LeaseLostError extends Error {}

/**
 * A small Postgres job queue: `FOR UPDATE SKIP LOCKED` claims, leases renewed while a job runs, expired
 * leases claimable again (a killed process's work resumes elsewhere), retries with backoff, and waiting
 * without failing while a dependency's breaker is open. Why not pg-boss: see docs/ARCHITECTURE.md.
 */
export class JobQueue {
  private readonly handlers = new Map<
    string,
    { run: JobHandler; onFinalFailure?: FinalFailureHandler; concurrency?: number }
  >();
  private readonly running = new Map<string, { job: Job; controller: AbortController }>();
  private renewer: NodeJS.Timeout | undefined;
  private readonly wake = () => this.poll();
  private listener: EventListener | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private polling = false;
  private lastSweep = 0;

  constructor(
    private readonly orm: MikroORM,
    /** Every queue statement goes through the database's circuit: while Postgres is away, polls fail fast. */
    private readonly db: GuardedCircuit,
    private readonly options: JobQueueOptions,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {}

  /** The kinds this process runs (metrics list each one, idle or not). */
  get kinds(): string[] {
    return [...this.handlers.keys()];
  }

  /**
   * `onFinalFailure` runs once when a job of this kind has used all its attempts (e.g. to store a failed
   * reply); `concurrency` caps how many of this kind run here at once (e.g. no more than there are
   * compression threads), within the queue's own limit.
   */
  register(
    kind: string,
    run: JobHandler,
    options: { onFinalFailure?: FinalFailureHandler; concurrency?: number } = {},
  ): void {
    this.handlers.set(kind, { run, ...options });
  }

  /** Enqueues in the caller's transaction; a second job with the same key is ignored. */
  async enqueue(
    em: EntityManager,
    job: {
      kind: string;
      key: string;
      payload: Record<string, unknown>;
      maxAttempts?: number;
      /** Not before this many seconds from now. */
      delaySeconds?: number;
    },
  ): Promise<void> {
    // One statement: the insert (a duplicate key is a no-op) and the doorbell, delivered at commit.
    await em.execute(
      `with queued as (
         insert into jobs (id, kind, key, payload, status, attempts, max_attempts, run_after, created_at, updated_at)
         values (gen_random_uuid(), ?, ?, ?::jsonb, 'QUEUED', 0, ?, now() + make_interval(secs => ?), now(), now())
         on conflict (key) do nothing
         returning 1
       )
       select pg_notify('${JOBS_CHANNEL}', ?)`,
      [job.kind, job.key, JSON.stringify(job.payload), job.maxAttempts ?? 5, job.delaySeconds ?? 0, job.kind],
    );
  }

  /**
   * The doorbell is the process's one LISTEN connection (which reconnects by itself); the poll covers
   * leases running out, retries coming due, and anything rung while it was reconnecting.
   */
  start(listener: EventListener): void {
    this.listener = listener;
    listener.on('job', this.wake);
    listener.on('listening', this.wake);
    this.timer = setInterval(() => this.poll(), this.options.pollMs);
    this.timer.unref();
    this.renewer = setInterval(() => void this.renewLeases(), this.options.leaseMs / 3);
    this.renewer.unref();
    this.poll();
  }

  /** Aborts running jobs (their leases will run out for someone else) and stops claiming. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.renewer);
    for (const { controller } of this.running.values()) controller.abort(new Error('shutting down'));
    this.listener?.off('job', this.wake);
    this.listener?.off('listening', this.wake);
  }

  /** Aborts a running job here, e.g. a reply whose generation was stopped. */
  abort(jobId: string, reason: string): boolean {
    const running = this.running.get(jobId);
    running?.controller.abort(new Error(reason));
    return Boolean(running);
  }

  private poll(): void {
    if (this.stopped || this.polling) return;
    this.polling = true;
    void (async () => {
      try {
        // At the poll's pace, not at every wake-up: it is for the rare job whose worker died.
        if (Date.now() - this.lastSweep >= this.options.pollMs) {
          this.lastSweep = Date.now();
          await this.failExhausted();
        }
        while (!this.stopped && this.running.size < this.options.concurrency) {
          let claimed = 0;
          for (const group of this.claimGroups()) {
            const free = this.options.concurrency - this.running.size;
            if (free <= 0) break;
            const jobs = await this.claim(group.kinds, Math.min(CLAIM_BATCH, free, group.limit));
            for (const job of jobs) void this.run(job);
            claimed += jobs.length;
          }
          if (claimed === 0) break;
        }
      } catch (err) {
        if (err instanceof ServiceUnavailableError)
          this.log.debug({ err }, 'not claiming: database circuit open');
        else this.log.warn({ err }, 'claiming jobs failed');
      } finally {
        this.polling = false;
      }
    })();
  }

  /**
   * A job whose worker died on its last attempt (its lease ran out) is not claimed again: work that
   * kills its process (out of memory, say) would take down every replica in turn. It fails here instead.
   */
  private async failExhausted(): Promise<void> {
    const rows: (Omit<Job, 'maxAttempts' | 'leaseToken'> & { max_attempts: number })[] =
      await this.db.execute(() =>
        this.orm.em.getConnection().execute(
          `update jobs set status = 'FAILED', lease_owner = null, lease_expires_at = null, updated_at = now(),
                  last_error = 'its worker stopped (crashed or was killed) on the last attempt'
            where id in (
              select id from jobs where kind = any(?::text[]) and status = 'RUNNING'
                 and lease_expires_at < now() and attempts >= max_attempts
               limit 100 for update skip locked)
            returning id, kind, key, payload, attempts, max_attempts`,
          [textArray([...this.handlers.keys()])],
        ),
      );
    for (const { max_attempts, ...row } of rows) {
      const job = { ...row, maxAttempts: max_attempts, leaseToken: '' };
      this.log.error({ jobId: job.id, kind: job.kind }, 'job failed: its worker stopped on the last attempt');
      await this.handlers
        .get(job.kind)
        ?.onFinalFailure?.(job, 'its worker stopped (crashed or was killed) on the last attempt')
        .catch((err: unknown) => this.log.error({ err, jobId: job.id }, 'could not record the job failure'));
    }
  }

  /** Kinds without a cap are claimed together; each capped kind alone, up to its free places. */
  private claimGroups(): { kinds: string[]; limit: number }[] {
    const uncapped: string[] = [];
    const groups: { kinds: string[]; limit: number }[] = [];
    for (const [kind, { concurrency }] of this.handlers) {
      if (concurrency === undefined) {
        uncapped.push(kind);
        continue;
      }
      let running = 0;
      for (const { job } of this.running.values()) if (job.kind === kind) running += 1;
      if (running < concurrency) groups.push({ kinds: [kind], limit: concurrency - running });
    }
    return uncapped.length > 0 ? [{ kinds: uncapped, limit: Infinity }, ...groups] : groups;
  }

  /** Claims up to `limit` due jobs of `kinds` in one statement, each with its own fencing token. */
  private async claim(kinds: string[], limit: number): Promise<Job[]> {
    const rows: (Omit<Job, 'maxAttempts' | 'leaseToken'> & { max_attempts: number; lease_owner: string })[] =
      await this.db.execute(() =>
        this.orm.em.getConnection().execute(
          `update jobs set status = 'RUNNING', lease_owner = ? || ':' || gen_random_uuid(),
                lease_expires_at = now() + make_interval(secs => ?), attempts = attempts + 1, updated_at = now()
          where id in (
            select id from jobs
             where kind = any(?::text[]) and (
               (status = 'QUEUED' and run_after <= now())
               or (status = 'RUNNING' and lease_expires_at < now() and attempts < max_attempts))
             order by run_after limit ? for update skip locked)
          returning id, kind, key, payload, attempts, max_attempts, lease_owner`,
          // knex would spread a JS array into a list: pass a Postgres array literal instead.
          [this.options.replicaId, this.options.leaseMs / 1000, textArray(kinds), limit],
        ),
      );
    return rows.map(({ max_attempts, lease_owner, ...row }) => ({
      ...row,
      maxAttempts: max_attempts,
      leaseToken: lease_owner,
    }));
  }

  /**
   * Renews every lease held here in one statement (every lease/3). A job whose claim is no longer in the
   * table (taken over after its lease ran out) is aborted: it must stop and write nothing.
   */
  private async renewLeases(): Promise<void> {
    const held = [...this.running.values()];
    if (held.length === 0) return;
    try {
      const rows: { lease_owner: string }[] = await this.db.execute(() =>
        this.orm.em.getConnection().execute(
          `update jobs set lease_expires_at = now() + make_interval(secs => ?)
            where status = 'RUNNING' and lease_owner = any(?::text[]) returning lease_owner`,
          [this.options.leaseMs / 1000, textArray(held.map((run) => run.job.leaseToken))],
        ),
      );
      const renewed = new Set(rows.map((row) => row.lease_owner));
      for (const run of held)
        if (!renewed.has(run.job.leaseToken)) run.controller.abort(new LeaseLostError('lease lost'));
    } catch (err) {
      // The database may be away: the jobs go on; if it stays away their leases run out elsewhere too.
      this.log.warn({ err, jobs: held.length }, 'could not renew leases');
    }
  }

  private async run(job: Job): Promise<void> {
    const controller = new AbortController();
    this.running.set(job.id, { job, controller });
    const log = this.log.child({ jobId: job.id, kind: job.kind, attempt: job.attempts });
    const started = performance.now();
    let outcome: JobOutcome = 'succeeded';
    try {
      await runWithCorrelationId(`job:${job.id}`, () =>
        this.handlers.get(job.kind)!.run(job, {
          signal: controller.signal,
          complete: (effect) => this.complete(job, effect),
        }),
      );
    } catch (error) {
      outcome = 'stopped';
      if (error instanceof LeaseLostError) {
        // Completing found the job claimed by someone else: theirs to finish, nothing to record here.
        log.info({ reason: error.message }, 'job stopped: lease lost');
      } else if (controller.signal.aborted && !(error instanceof ServiceUnavailableError)) {
        log.info({ reason: String(controller.signal.reason) }, 'job stopped');
      } else {
        const waits = error instanceof ServiceUnavailableError && error.details.circuitState !== undefined;
        outcome = waits ? 'waiting' : 'failed';
        // Recording the failure needs the database; if it is away, the lease runs out and the job is
        // claimed again later. Never let this reject: nothing awaits it.
        await this.fail(job, error, log).catch((err: unknown) =>
          log.error({ err }, 'could not record the job failure; its lease will expire'),
        );
      }
    } finally {
      this.metrics?.jobFinished(job.kind, outcome, (performance.now() - started) / 1e3);
      this.running.delete(job.id);
      this.poll();
    }
  }

  private async complete(job: Job, effect: (tx: EntityManager) => Promise<void>): Promise<void> {
    await this.db.execute(() =>
      this.orm.em.fork().transactional(async (tx) => {
        // Fencing: only this claim completes; a worker whose lease ran out (and was re-claimed) writes nothing.
        const held: unknown[] = await tx.execute(
          `update jobs set status = 'SUCCEEDED', lease_owner = null, lease_expires_at = null, updated_at = now()
          where id = ? and status = 'RUNNING' and lease_owner = ? returning id`,
          [job.id, job.leaseToken],
        );
        if (held.length === 0) throw new LeaseLostError(`job ${job.id} is no longer ours`);
        await effect(tx);
      }),
    );
  }

  /**
   * A dependency's open breaker is not the job's fault: it goes back to the queue (the attempt not
   * counted) until the breaker lets calls through again. Other failures retry with backoff, then fail.
   */
  private async fail(job: Job, error: unknown, log: Logger): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const execute = (sql: string, params: unknown[]): Promise<unknown[]> =>
      this.db.execute(() => this.orm.em.getConnection().execute(sql, params));
    // Only a breaker's refusal waits without using an attempt; a request that keeps failing on a closed
    // breaker (one bad prompt among good ones) uses its attempts and ends FAILED instead of looping.
    if (error instanceof ServiceUnavailableError && error.details.circuitState !== undefined) {
      const wait = Number(error.details.retryAfter ?? 1);
      log.info({ waitSeconds: wait, reason: message }, 'job waits for a dependency');
      await execute(
        `update jobs set status = 'QUEUED', attempts = attempts - 1, run_after = now() + make_interval(secs => ?),
                lease_owner = null, lease_expires_at = null, last_error = ?, updated_at = now()
          where id = ? and lease_owner = ?`,
        [wait, message, job.id, job.leaseToken],
      );
      return;
    }
    const final = job.attempts >= job.maxAttempts;
    log[final ? 'error' : 'warn']({ err: error }, final ? 'job failed' : 'job failed; will retry');
    const recorded: unknown[] = await execute(
      `update jobs set status = ?, run_after = now() + make_interval(secs => ?), lease_owner = null,
              lease_expires_at = null, last_error = ?, updated_at = now()
        where id = ? and lease_owner = ? returning id`,
      [
        final ? JobStatus.FAILED : JobStatus.QUEUED,
        Math.min(60, 2 ** job.attempts),
        message,
        job.id,
        job.leaseToken,
      ],
    );
    // Only the claim that recorded the failure may act on it: a worker whose lease was taken over must
    // not fail work that another worker is still doing.
    if (final && recorded.length > 0) await this.handlers.get(job.kind)?.onFinalFailure?.(job, message);
  }
}
