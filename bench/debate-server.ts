// Child process of bench/debate.ts: the Parley server under test (bench/support/server-child.ts), with
// the points of a debate step's life timestamped from outside src/: the queue's claim and completion,
// the worker's hub subscription (watchForStop), its first transaction (TURN_STARTED), its Ollama call,
// and every SQL statement it runs. None of these has a hook, so the prototypes are wrapped before the
// app starts; a step is found from the job correlation id the queue runs each job under.
import { AbstractSqlConnection } from '@mikro-orm/postgresql';
import pg from 'pg';
import { JobQueue, type Job, type JobHandler } from '../src/jobs/job-queue.js';
import { OllamaProvider } from '../src/llm/ollama.provider.js';
import { DEBATE_STEP_JOB, type DebateStepPayload } from '../src/modules/debates/debate-steps.js';
import { currentCorrelationId } from '../src/observability/correlation.js';
import { EventHub } from '../src/realtime/event-hub.js';
import type { DebateServerReport, StepTimes } from './debate-shared.js';
import { percentile } from './support/harness.js';
import { now, round1 } from './support/metrics.js';
import { serveBenchServer, type ServerChildReport } from './support/server-child.js';

const steps: StepTimes[] = [];
const byJob = new Map<string, StepTimes>();
const otherStatements: DebateServerReport['otherStatements'] = {};
/** When the server's LISTEN connection got each debate event's NOTIFY (before the hub reads the event). */
const notifiedAt: Record<string, number> = {};
let measuring = false;

const stepName = ({ step }: DebateStepPayload) =>
  step.kind === 'turn' ? `t${step.round}.${step.seat}` : step.kind === 'moderate' ? `m${step.round}` : 'c';

function track(job: Job): StepTimes {
  let times = byJob.get(job.id);
  if (!times || times.attempts !== job.attempts) {
    const payload = job.payload as unknown as DebateStepPayload;
    times = { debateId: payload.debateId, step: stepName(payload), attempts: job.attempts, statements: [] };
    byJob.set(job.id, times);
    steps.push(times);
  }
  return times;
}

/** The step whose job this code runs for, if any. */
function currentStep(): StepTimes | undefined {
  const id = currentCorrelationId();
  return id?.startsWith('job:') ? byJob.get(id.slice('job:'.length)) : undefined;
}

type Method = (...args: never[]) => unknown;
/** Replaces `target[name]` with `around(original)`. */
function wrap<T extends object>(target: T, name: string, around: (original: Method) => Method): void {
  const methods = target as unknown as Record<string, Method>;
  methods[name] = around(methods[name]!);
}

// The queue: the claim statement that returned the job, the handler, and the completing transaction.
wrap(
  JobQueue.prototype,
  'claim',
  (claim) =>
    async function (this: JobQueue, ...args: never[]) {
      const sentAt = now();
      const jobs = (await claim.apply(this, args)) as Job[];
      const at = now();
      for (const job of jobs)
        if (job.kind === DEBATE_STEP_JOB) Object.assign(track(job), { claimSentAt: sentAt, claimedAt: at });
      return jobs;
    },
);
wrap(
  JobQueue.prototype,
  'register',
  (register) =>
    function (this: JobQueue, kind: string, handler: JobHandler, ...rest: unknown[]) {
      const timed: JobHandler = (job, context) => {
        if (kind === DEBATE_STEP_JOB) track(job).handlerAt = now();
        return handler(job, context);
      };
      return (register as (...args: unknown[]) => unknown).call(this, kind, timed, ...rest);
    } as Method,
);
wrap(
  JobQueue.prototype,
  'complete',
  (complete) =>
    async function (this: JobQueue, job: Job, ...rest: never[]) {
      const times = job.kind === DEBATE_STEP_JOB ? track(job) : undefined;
      if (times) times.completeAt = now();
      await (complete as (...args: unknown[]) => Promise<void>).call(this, job, ...rest);
      if (times) times.committedAt = now();
    } as Method,
);

// The worker: its stop watch (a hub subscription), its first transaction, its Ollama call.
wrap(
  EventHub.prototype,
  'subscribe',
  (subscribe) =>
    async function (this: EventHub, ...args: never[]) {
      const times = currentStep();
      if (times) times.watchAt ??= now();
      const result = await subscribe.apply(this, args);
      if (times) times.watchedAt ??= now();
      return result;
    },
);
wrap(
  OllamaProvider.prototype,
  'chat',
  (chat) =>
    async function (this: OllamaProvider, ...args: never[]) {
      const times = currentStep();
      if (times) times.chatAt ??= now();
      const result = await chat.apply(this, args);
      if (times) times.chatDoneAt = now();
      return result;
    },
);
wrap(
  AbstractSqlConnection.prototype,
  'transactional',
  (transactional) =>
    async function (this: AbstractSqlConnection, ...args: never[]) {
      const times = currentStep();
      const first = times && times.completeAt === undefined && times.startedTxAt === undefined;
      if (first) times.startedTxAt = now();
      const result = await transactional.apply(this, args);
      if (first) times.startedCommittedAt = now();
      return result;
    },
);

const POOL_WAIT = '(waiting for a pooled connection)';

/** A statement's kind, short: the start of its SQL, quotes and extra spaces removed. */
function label(sql: unknown): string {
  if (typeof sql !== 'string') return 'query builder';
  const text = sql;
  const flat = text.replace(/"/g, '').replace(/\s+/g, ' ').trim().toLowerCase();
  return `${flat.slice(0, 60)}${/for update/.test(flat) ? ' … for update' : ''}`;
}

function recordStatement(name: string, startedAt: number): void {
  const endedAt = now();
  const times = currentStep();
  if (times) times.statements.push([name, startedAt, endedAt]);
  else if (measuring) {
    const entry = (otherStatements[name] ??= { count: 0, totalMs: 0, maxMs: 0 });
    entry.count += 1;
    entry.totalMs += endedAt - startedAt;
    entry.maxMs = Math.max(entry.maxMs, endedAt - startedAt);
  }
}

// Every statement, BEGIN (which waits for a pool connection) and COMMIT.
for (const [name, labelOf] of [
  ['execute', (args: unknown[]) => label(args[0])],
  ['begin', () => 'begin (incl. its pool wait)'],
  ['commit', () => 'commit'],
] as const)
  wrap(
    AbstractSqlConnection.prototype,
    name,
    (original) =>
      async function (this: AbstractSqlConnection, ...args: never[]) {
        const startedAt = now();
        try {
          return await original.apply(this, args);
        } finally {
          recordStatement(labelOf(args), startedAt);
        }
      },
  );

// The pool, and (with BENCH_PG_WAITS) what PostgreSQL's backends wait on, sampled while measuring.
const poolSamples: { used: number; waiting: number }[] = [];
const pgWaits: Record<string, number> = {};
let sampler: NodeJS.Timeout | undefined;
let waitsClient: pg.Client | undefined;
let waitsTimer: NodeJS.Timeout | undefined;

const server = await serveBenchServer({
  onMeasure: (server) => {
    measuring = true;
    const pool = server.app.orm.em.getConnection().getKnex().client.pool as {
      numUsed(): number;
      numPendingAcquires(): number;
    };
    sampler = setInterval(
      () => poolSamples.push({ used: pool.numUsed(), waiting: pool.numPendingAcquires() }),
      10,
    );
    if (process.env.BENCH_PG_WAITS === '1')
      sampleWaits(server.app.config.databaseUrl!).catch((error: Error) =>
        process.stderr.write(`bench:debate: not sampling pg_stat_activity: ${error.message}\n`),
      );
  },
  report: async (server): Promise<Omit<DebateServerReport, keyof ServerChildReport>> => {
    measuring = false;
    clearInterval(sampler);
    clearInterval(waitsTimer);
    await waitsClient?.end();
    const connection = server.app.orm.em.getConnection();
    const [{ turns }] = await connection.execute<{ turns: number }[]>(
      'select count(*)::int as turns from debate_turns',
    );
    const statuses = await connection.execute<{ status: string; count: number }[]>(
      'select status, count(*)::int as count from debates group by status',
    );
    const used = poolSamples.map((sample) => sample.used).sort((a, b) => a - b);
    const waiting = poolSamples.map((sample) => sample.waiting).sort((a, b) => a - b);
    return {
      steps,
      notifiedAt,
      otherStatements: Object.fromEntries(
        Object.entries(otherStatements)
          .sort(([, a], [, b]) => b.totalMs - a.totalMs)
          .map(([name, entry]) => [
            name,
            { count: entry.count, totalMs: Math.round(entry.totalMs), maxMs: round1(entry.maxMs) },
          ]),
      ),
      pool: {
        max: server.app.config.dbPoolMax,
        usedP50: percentile(used, 50),
        usedMax: used.at(-1) ?? 0,
        waitingP50: percentile(waiting, 50),
        waitingP99: percentile(waiting, 99),
        waitingMax: waiting.at(-1) ?? 0,
      },
      pgWaits: process.env.BENCH_PG_WAITS === '1' ? topWaits() : null,
      turnsStored: turns!,
      debatesByStatus: Object.fromEntries(statuses.map((row) => [row.status, row.count])),
    };
  },
});

// Waits for a pooled connection (a statement outside a transaction, or a BEGIN): the statements' and
// BEGIN's own times include these.
const client = server.app.orm.em.getConnection().getKnex().client as { acquireConnection: Method };
wrap(
  client,
  'acquireConnection',
  (acquire) =>
    async function (this: unknown, ...args: never[]) {
      const startedAt = now();
      try {
        return await acquire.apply(this, args);
      } finally {
        recordStatement(POOL_WAIT, startedAt);
      }
    },
);

// Before the hub's own listener.
server.app.realtime.listener.prependListener('notification', (stream, seq) => {
  if (measuring && stream.startsWith('debate:')) notifiedAt[`${stream}:${seq}`] = now();
});

async function sampleWaits(databaseUrl: string): Promise<void> {
  waitsClient = new pg.Client({ connectionString: databaseUrl });
  await waitsClient.connect();
  let busy = false;
  waitsTimer = setInterval(() => {
    if (busy || !measuring) return;
    busy = true;
    waitsClient!
      .query<{ state: string; wait: string | null; query: string }>(
        `select state, wait_event_type || ':' || wait_event as wait,
                left(regexp_replace(lower(query), '\\s+', ' ', 'g'), 48) as query
           from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'
            and state in ('active', 'idle in transaction')`,
      )
      .then((result) => {
        for (const row of result.rows) {
          const key = `${row.state === 'active' ? (row.wait ?? 'running') : 'idle in transaction (app’s turn)'} | ${row.query.replace(/"/g, '')}`;
          pgWaits[key] = (pgWaits[key] ?? 0) + 1;
        }
      })
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, 20);
}

function topWaits(): Record<string, number> {
  return Object.fromEntries(
    Object.entries(pgWaits)
      .sort(([, a], [, b]) => b - a)
      .slice(0, 25),
  );
}
