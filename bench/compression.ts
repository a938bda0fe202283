// npm run bench:compression -- [--kinds TEXT] [--size 16] [--small-size 1] [--repeat 3] [--fast-repeat 7]
//   [--seed 1] [--load GZIP:6] [--scaling-runs 4] [--scaling-size 32] [--latency-runs 4]
//   [--latency-size 64] [--rate 50] [--fetchers 2] [--idle-seconds 4] [--parts throughput,scaling,latency]
// Two real servers (child processes, each on a fresh embedded PostgreSQL: see bench/support/harness.ts),
// one with COMPRESSION_WORKERS=1 and one with 2. This process creates runs over GraphQL with a corpus spec
// and follows them on a subscription to their end. It reports:
//   1. throughput: per algorithm and level, the MB/s the server's runs report against the same codec
//      called directly here on the same bytes (sizes in MiB; brotli 11 and zstd 19 on --small-size);
//   2. scaling: --scaling-runs concurrent --load runs of --scaling-size MiB, on 1 worker and on 2;
//   3. latency: `me` queries sent at --rate per second (or, with --rate 0, by --fetchers closed loops)
//      while --latency-runs runs of --latency-size MiB execute, against the same probe with the server
//      idle (--idle-seconds before and after), on each server.
// Definitions and results: docs/PERFORMANCE.md.
import os from 'node:os';
import type { ChildProcess } from 'node:child_process';
import type { CompressionAlgorithm, CorpusKind } from '../src/sdk/generated/graphql.js';
import { RunClient, type RunSpec } from './compression-clients.js';
import {
  LATENCY_TARGET_PERCENT,
  measureConcurrentRuns,
  measureLatencyUnderRuns,
} from './compression-load.js';
import { grid, measureThroughput, MiB, TARGET_RATIO } from './compression-throughput.js';
import { nextMessage } from './support/child.js';
import { arg, textArg } from './support/harness.js';
import { Children } from './support/processes.js';

const [loadAlgorithm, loadLevel] = textArg('load', 'GZIP:6').split(':') as [CompressionAlgorithm, string];
const options = {
  kinds: textArg('kinds', 'TEXT').split(',') as CorpusKind[],
  sizeMiB: arg('size', 16),
  smallSizeMiB: arg('small-size', 1),
  repeat: arg('repeat', 3),
  fastRepeat: arg('fast-repeat', 7),
  seed: arg('seed', 1),
  load: { algorithm: loadAlgorithm, level: Number(loadLevel), kind: 'TEXT' as CorpusKind },
  scalingRuns: arg('scaling-runs', 4),
  scalingSizeMiB: arg('scaling-size', 32),
  latencyRuns: arg('latency-runs', 4),
  latencySizeMiB: arg('latency-size', 64),
  rate: arg('rate', 50),
  fetchers: arg('fetchers', 2),
  idleSeconds: arg('idle-seconds', 4),
  parts: textArg('parts', 'throughput,scaling,latency').split(','),
};
const WORKERS = [1, 2] as const;
const progress = (text: string) => process.stderr.write(`bench:compression: ${text}\n`);
const children = new Children();

interface Server {
  workers: number;
  child: ChildProcess;
  url: string;
  token: string;
  client: RunClient;
}

async function startServer(workers: number): Promise<Server> {
  const env = {
    COMPRESSION_WORKERS: String(workers),
    // Room for every run of a phase at once (4 by default, the app's own default limit).
    COMPRESSION_MAX_ACTIVE_PER_USER: String(Math.max(4, options.scalingRuns, options.latencyRuns)),
  };
  const child = children.fork(new URL('./compression-server.js', import.meta.url), {
    BENCH_SERVER_ENV: JSON.stringify(env),
  });
  const { url, wsUrl, token } = await nextMessage<{ url: string; wsUrl: string; token: string }>(
    child,
    'ready',
  );
  return { workers, child, url, token, client: await RunClient.connect(url, wsUrl, token) };
}

const loadSpec = (sizeMiB: number): RunSpec => ({
  ...options.load,
  sizeBytes: sizeMiB * MiB,
  seed: options.seed,
});

async function run(): Promise<void> {
  const started = performance.now();
  const loadAverageAtStart = os.loadavg().map((value) => Math.round(value * 100) / 100);
  progress('starting a server with 1 compression worker and one with 2');
  const servers = await Promise.all(WORKERS.map(startServer));
  const report: Record<string, unknown> = { bench: 'compression', ...options };

  // Every worker thread compresses once before anything is measured (two at once reach both threads).
  await Promise.all(servers.flatMap((server) => WORKERS.map(() => server.client.run(loadSpec(1)))));

  if (options.parts.includes('throughput')) {
    // On the one-worker server: runs go one at a time, so more threads would change nothing.
    const entries = grid(options.sizeMiB * MiB, options.smallSizeMiB * MiB);
    const corpora = [];
    for (const kind of options.kinds) {
      corpora.push(
        await measureThroughput({
          client: servers[0]!.client,
          kind,
          seed: options.seed,
          entries,
          repeat: options.repeat,
          fastRepeat: options.fastRepeat,
          progress,
        }),
      );
    }
    report.throughput = { targetRatio: TARGET_RATIO, corpora };
  }

  if (options.parts.includes('scaling')) {
    const spec = loadSpec(options.scalingSizeMiB);
    const byWorkers: Record<string, Awaited<ReturnType<typeof measureConcurrentRuns>>> = {};
    for (const server of servers) {
      progress(
        `scaling: ${options.scalingRuns} × ${spec.algorithm} ${spec.level} on ${server.workers} worker(s)`,
      );
      byWorkers[`workers${server.workers}`] = await measureConcurrentRuns(
        server.client,
        spec,
        options.scalingRuns,
      );
    }
    report.scaling = {
      runs: options.scalingRuns,
      spec,
      ...byWorkers,
      speedup: Math.round((byWorkers.workers2!.MBps / byWorkers.workers1!.MBps) * 100) / 100,
    };
  }

  if (options.parts.includes('latency')) {
    const spec = loadSpec(options.latencySizeMiB);
    const latency: Record<string, unknown> = {
      query: 'me { id email role createdAt lastLoginAt }',
      probe:
        options.rate > 0
          ? { openLoop: true, requestsPerSecond: options.rate }
          : { openLoop: false, closedLoops: options.fetchers },
      runs: options.latencyRuns,
      spec,
      targetPercent: LATENCY_TARGET_PERCENT,
    };
    // The server with as many workers as cores (the app's default here) first.
    for (const server of [...servers].reverse()) {
      progress(`latency: idle, then during ${options.latencyRuns} runs, on ${server.workers} worker(s)`);
      latency[`workers${server.workers}`] = await measureLatencyUnderRuns({
        client: server.client,
        server: server.child,
        url: server.url,
        token: server.token,
        spec,
        count: options.latencyRuns,
        probe: { rate: options.rate, fetchers: options.fetchers },
        idleSeconds: options.idleSeconds,
      });
    }
    report.latency = latency;
  }

  for (const server of servers) server.client.close();
  report.machine = {
    cores: os.availableParallelism(),
    node: process.version,
    loadAverageAtStart,
    loadAverageAtEnd: os.loadavg().map((value) => Math.round(value * 100) / 100),
  };
  report.wallSeconds = Math.round((performance.now() - started) / 100) / 10;
  console.log(JSON.stringify(report, null, 2));
}

let ok = false;
try {
  await run();
  ok = true;
} catch (error) {
  console.error(error);
} finally {
  await children.stop();
}
process.exit(ok ? 0 : 1);
