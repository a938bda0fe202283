// The server under test alone in a child process (bench/llm-server.ts, bench/debate-server.ts), so that
// the event-loop delay and CPU measured here are the server's, not the clients' or the fake Ollama's.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { serveParent } from './child.js';
import { startBenchServer, type BenchServer } from './harness.js';

/** The monitor's timer interval; what it records is the interval, so the lag is what exceeds this. */
const RESOLUTION_MS = 10;

/** What every server child reports, besides its own figures. */
export interface ServerChildReport {
  /** Event-loop delay beyond the monitor's interval, in ms, from `measure` to `report`. */
  lag: { p50: number; p99: number; max: number };
  cpuPercent: number;
  rssMb: number;
  jobs: { status: string; count: number; retried: number }[];
}

/**
 * Starts the server with the environment the parent passed in BENCH_SERVER_ENV (JSON) and answers the
 * parent: `ready` ({ url, wsUrl, token }), `subscribers`, `measure`, `report` (with `report(server)`'s
 * fields) and `stop`.
 */
export async function serveBenchServer(options: {
  report?: (server: BenchServer) => Record<string, unknown> | Promise<Record<string, unknown>>;
  onMeasure?: (server: BenchServer) => void;
}): Promise<BenchServer> {
  const server = await startBenchServer(
    JSON.parse(process.env.BENCH_SERVER_ENV ?? '{}') as Record<string, string>,
  );
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  const lag = (nanoseconds: number) => Math.max(0, Math.round((nanoseconds / 1e6 - RESOLUTION_MS) * 10) / 10);
  serveParent({
    ready: { url: server.url, wsUrl: server.wsUrl, token: server.tokens.operator },
    queries: { subscribers: () => ({ count: server.app.realtime.hub.subscriberCount }) },
    onMeasure: () => {
      delay.reset();
      delay.enable();
      options.onMeasure?.(server);
    },
    report: async () => {
      delay.disable();
      const jobs = await server.app.orm.em.getConnection().execute<ServerChildReport['jobs']>(
        `select status, count(*)::int as count, count(*) filter (where attempts > 1)::int as retried
             from jobs group by status order by status`,
      );
      return {
        lag: { p50: lag(delay.percentile(50)), p99: lag(delay.percentile(99)), max: lag(delay.max) },
        rssMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
        jobs,
        ...(await options.report?.(server)),
      };
    },
    stop: () => server.stop(),
  });
  return server;
}
