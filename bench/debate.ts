// npm run bench:debate -- [--debates 50] [--rounds 3] [--tokens 40] [--token-delay 20] [--agents 3]
//   [--job-concurrency 64] [--db-pool <app default>] [--timeout 120] [--pg-waits] [--cpu-prof]
// A real server (a child process, on a fresh database: see bench/support/harness.ts) running debates of
// three agents against a fake Ollama (another child process) that answers every turn with a scripted
// JSON turn of `--tokens` tokens at `--token-delay` ms each; seats hold different positions, so every
// debate runs all its rounds. This process opens one graphql-ws subscription per debate, starts every
// debate at once, and reports the orchestration's time between turns (beyond the model's), how soon
// subscribers get stored events, and the wall time against the model's. Definitions: docs/PERFORMANCE.md.
import os from 'node:os';
import path from 'node:path';
import { CreateAgentDocument, CreateDebateDocument } from '../src/sdk/generated/graphql.js';
import { watchDebate, type DebateWatcher } from './debate-clients.js';
import { measure } from './debate-report.js';
import { debateTopic, type DebateServerReport, type FakeReport } from './debate-shared.js';
import { ask, clockOffset, nextMessage } from './support/child.js';
import { execute } from './support/graphql.js';
import { arg } from './support/harness.js';
import { cpuPercent, machineCpuTimes, machinePercent } from './support/metrics.js';
import { Children } from './support/processes.js';

const SEATS = 3;
const options = {
  debates: arg('debates', 50),
  seats: SEATS,
  rounds: arg('rounds', 3),
  // Seat s of debate d is taken by agent (3d + s) mod agents: with 3, seat s is always agent s.
  agents: arg('agents', SEATS),
  tokens: arg('tokens', 40),
  tokenDelayMs: arg('token-delay', 20),
  timeoutSeconds: arg('timeout', 120),
};
const jobConcurrency = arg('job-concurrency', 64);
const dbPoolMax = arg('db-pool', 0); // 0: the app's default (DB_POOL_MAX)
// --pg-waits: sample pg_stat_activity every 20 ms (one more connection and query; off for plain runs).
const pgWaits = process.argv.includes('--pg-waits');
// --cpu-prof: the server's CPU profile, written when it stops.
const profileDir = process.argv.includes('--cpu-prof')
  ? path.join(os.tmpdir(), 'parley-bench-debate-prof')
  : undefined;
const progress = (text: string) => process.stderr.write(`bench:debate: ${text}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const children = new Children();

async function run(): Promise<boolean> {
  const fake = children.fork(new URL('./debate-fake.js', import.meta.url), {
    DEBATE_TOKEN_DELAY_MS: String(options.tokenDelayMs),
    DEBATE_TURN_TOKENS: String(options.tokens),
  });
  const { url: ollamaUrl } = await nextMessage<{ url: string }>(fake, 'ready');

  const serverEnv: Record<string, string> = {
    OLLAMA_HOST: ollamaUrl,
    JOB_CONCURRENCY: String(jobConcurrency),
  };
  if (dbPoolMax > 0) serverEnv.DB_POOL_MAX = String(dbPoolMax);
  const server = children.fork(
    new URL('./debate-server.js', import.meta.url),
    { BENCH_SERVER_ENV: JSON.stringify(serverEnv), BENCH_PG_WAITS: pgWaits ? '1' : '0' },
    profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
  );
  if (profileDir) progress(`the server's CPU profile goes to ${profileDir}`);
  const { url, wsUrl, token } = await nextMessage<{ url: string; wsUrl: string; token: string }>(
    server,
    'ready',
  );

  progress(`creating ${options.agents} agents and ${options.debates} debates`);
  const agentIds: string[] = [];
  for (let i = 1; i <= options.agents; i++) {
    const input = { name: `debater-${i}`, model: 'llama3.2:3b', systemPrompt: 'Argue briefly.' };
    agentIds.push((await execute(url, CreateAgentDocument, { input }, token)).createAgent.id);
  }
  const watchers: DebateWatcher[] = [];
  for (let start = 0; start < options.debates; start += 25) {
    const batch = Array.from({ length: Math.min(25, options.debates - start) }, (_, j) => start + j);
    watchers.push(
      ...(await Promise.all(
        batch.map(async (index) => {
          const input = {
            topic: debateTopic(index),
            participants: Array.from({ length: SEATS }, (_, seat) => ({
              agentId: agentIds[(index * SEATS + seat) % agentIds.length]!,
            })),
            maxRounds: options.rounds,
            consensusThreshold: 1,
          };
          const created = await execute(url, CreateDebateDocument, { input }, token);
          return watchDebate(wsUrl, token, index, created.createDebate.id);
        }),
      )),
    );
  }
  while ((await ask<{ count: number }>(server, 'subscribers')).count < options.debates) await sleep(50);
  await sleep(1_000); // let setup's work (audit writes, GC) settle before measuring

  progress(`starting ${options.debates} debates at once`);
  await Promise.all([ask(server, 'measure'), ask(fake, 'measure')]);
  const machineAtStart = machineCpuTimes();
  const cpuAtStart = process.cpuUsage();
  const measuringSince = performance.now();
  const starts = watchers.map((watcher) =>
    watcher.start(url, token).catch((error: Error) => {
      watcher.debate.failure ??= `startDebate: ${error.message}`;
    }),
  );
  const debates = watchers.map((watcher) => watcher.debate);
  const settled = Promise.all([...starts, ...debates.map((debate) => debate.settled)]);
  const timedOut = await Promise.race([
    settled.then(() => false),
    sleep(options.timeoutSeconds * 1000).then(() => true),
  ]);
  const clientsCpuPercent = cpuPercent(cpuAtStart, performance.now() - measuringSince);
  const machineAtEnd = machineCpuTimes();
  const serverReport = await ask<DebateServerReport>(server, 'report');
  const fakeReport = await ask<FakeReport>(fake, 'report');
  for (const watcher of watchers) watcher.close();
  const clocks = { server: await clockOffset(server), fakeOllama: await clockOffset(fake) };

  const { ok, ...result } = measure(options, debates, fakeReport, serverReport);
  console.log(
    JSON.stringify(
      {
        bench: 'debate',
        ...options,
        jobConcurrency,
        dbPoolMax: dbPoolMax > 0 ? dbPoolMax : 'app default',
        timedOut,
        ...result,
        // The server's CPU time over the run, per turn stored (turn handoffs, deltas and fan-out included).
        serverCpuMsPerTurn:
          result.turnsStored > 0
            ? Math.round(
                ((serverReport.cpuPercent / 100) * result.time.wallSeconds * 1000) / result.turnsStored,
              )
            : null,
        cpuPercentOfOneCore: {
          server: serverReport.cpuPercent,
          fakeOllama: fakeReport.cpuPercent,
          clients: clientsCpuPercent,
          // Everything on the machine (PostgreSQL and other users included), as a percentage of one core.
          machine: machinePercent(machineAtStart, machineAtEnd, os.availableParallelism()),
        },
        // Each child's clock against this process's: figures mixing processes are off by about this much.
        clockOffsetsMs: clocks,
        cores: os.availableParallelism(),
        loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
      },
      null,
      2,
    ),
  );
  return ok && !timedOut;
}

let ok = false;
try {
  ok = await run();
} catch (error) {
  console.error(error);
} finally {
  await children.stop();
}
process.exit(ok ? 0 : 1);
