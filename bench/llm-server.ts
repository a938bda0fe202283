// Child process of bench/llm.ts: the Parley server under test (bench/support/harness.ts), alone in its
// process so that the event-loop delay and CPU measured here are the server's, not the clients' or the
// fake Ollama's.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { JobQueue, type JobHandler } from '../src/jobs/job-queue.js';
import { REPLY_JOB } from '../src/modules/conversations/conversations.service.js';
import { cpuPercent, now, type ServerReport } from './llm-shared.js';
import { startBenchServer } from './support/harness.js';

/** The monitor's timer interval; what it records is the interval, so the lag is what exceeds this. */
const RESOLUTION_MS = 10;

// When each reply job started running here (claimed, handed to the reply worker), by conversation: it
// splits the time before Ollama into queueing and the worker's own setup. The queue has no hook for it,
// so the handler is wrapped as it is registered.
const jobStartedAt: Record<string, number> = {};
const register = JobQueue.prototype.register;
JobQueue.prototype.register = function (
  this: JobQueue,
  kind: string,
  handler: JobHandler,
  ...rest: unknown[]
) {
  const timed: JobHandler = (job, context) => {
    if (kind === REPLY_JOB)
      jobStartedAt[(job.payload as { conversationId: string }).conversationId] ??= now();
    return handler(job, context);
  };
  return (register as (...args: unknown[]) => void).call(this, kind, timed, ...rest);
};

const server = await startBenchServer(
  JSON.parse(process.env.LLM_SERVER_ENV ?? '{}') as Record<string, string>,
);

const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
let cpuAtStart = process.cpuUsage();
let measuringSince = performance.now();

async function report(): Promise<ServerReport> {
  delay.disable();
  const lag = (nanoseconds: number) => Math.max(0, Math.round((nanoseconds / 1e6 - RESOLUTION_MS) * 10) / 10);
  const jobs = await server.app.orm.em
    .getConnection()
    .execute<{ status: string; count: number; retried: number }[]>(
      `select status, count(*)::int as count, count(*) filter (where attempts > 1)::int as retried
       from jobs group by status order by status`,
    );
  return {
    lag: { p50: lag(delay.percentile(50)), p99: lag(delay.percentile(99)), max: lag(delay.max) },
    cpuPercent: cpuPercent(cpuAtStart, performance.now() - measuringSince),
    rssMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
    jobs,
    jobStartedAt,
  };
}

process.on('message', (message: { type: string }) => {
  switch (message.type) {
    case 'subscribers':
      process.send!({ type: 'subscribers', count: server.app.realtime.hub.subscriberCount });
      break;
    case 'measure':
      delay.reset();
      delay.enable();
      cpuAtStart = process.cpuUsage();
      measuringSince = performance.now();
      process.send!({ type: 'measure' });
      break;
    case 'report':
      void report().then((result) => process.send!({ type: 'report', ...result }));
      break;
    case 'stop':
      void server.stop().then(() => process.exit(0));
      break;
  }
});
process.send!({ type: 'ready', url: server.url, wsUrl: server.wsUrl, token: server.tokens.operator });
