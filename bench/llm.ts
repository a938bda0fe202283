// npm run bench:llm -- [--conversations 200] [--agents 10] [--tokens 100] [--token-delay 20]
//   [--load-delay 0] [--job-concurrency <conversations>] [--db-pool <app default>] [--timeout 60] [--cpu-prof]
// A real server (a child process, on a fresh database: see bench/support/harness.ts) replying through a
// fake Ollama (another child process) that streams `--tokens` tokens at `--token-delay` ms each. This
// process opens one graphql-ws subscription per conversation, sends every conversation's message at
// once, and reports what Parley adds to the model's own time, how late deltas arrive, and the server's
// event-loop lag. JOB_CONCURRENCY is set to the number of conversations so that every reply runs at once.
import os from 'node:os';
import path from 'node:path';
import { CreateAgentDocument, StartConversationDocument } from '../src/sdk/generated/graphql.js';
import { watch, type Watcher } from './llm-clients.js';
import { measure } from './llm-report.js';
import type { FakeReport, ServerReport } from './llm-shared.js';
import { ask, nextMessage } from './support/child.js';
import { execute } from './support/graphql.js';
import { arg } from './support/harness.js';
import { cpuPercent, machineCpuTimes, machinePercent } from './support/metrics.js';
import { Children } from './support/processes.js';

const options = {
  conversations: arg('conversations', 200),
  agents: arg('agents', 10),
  tokens: arg('tokens', 100),
  tokenDelayMs: arg('token-delay', 20),
  loadDelayMs: arg('load-delay', 0),
  timeoutSeconds: arg('timeout', 60),
};
const jobConcurrency = arg('job-concurrency', options.conversations);
const dbPoolMax = arg('db-pool', 0); // 0: the app's default (DB_POOL_MAX)
const progress = (text: string) => process.stderr.write(`bench:llm: ${text}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// --cpu-prof: the server's CPU profile, written when it stops, for finding where added latency goes.
const profileDir = process.argv.includes('--cpu-prof')
  ? path.join(os.tmpdir(), 'parley-bench-llm-prof')
  : undefined;
const children = new Children();

async function run(): Promise<boolean> {
  const fake = children.fork(new URL('./llm-fake.js', import.meta.url), {
    LLM_TOKEN_DELAY_MS: String(options.tokenDelayMs),
    LLM_LOAD_DELAY_MS: String(options.loadDelayMs),
    LLM_REPLY_TOKENS: String(options.tokens),
  });
  const { url: ollamaUrl } = await nextMessage<{ url: string }>(fake, 'ready');

  const serverEnv: Record<string, string> = {
    OLLAMA_HOST: ollamaUrl,
    JOB_CONCURRENCY: String(jobConcurrency),
  };
  if (dbPoolMax > 0) serverEnv.DB_POOL_MAX = String(dbPoolMax);
  const server = children.fork(
    new URL('./llm-server.js', import.meta.url),
    { BENCH_SERVER_ENV: JSON.stringify(serverEnv) },
    profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
  );
  if (profileDir) progress(`the server's CPU profile goes to ${profileDir}`);
  const { url, wsUrl, token } = await nextMessage<{ url: string; wsUrl: string; token: string }>(
    server,
    'ready',
  );

  progress(`creating ${options.agents} agents and ${options.conversations} conversations`);
  const agentIds: string[] = [];
  for (let i = 0; i < options.agents; i++) {
    const input = { name: `bench-${i}`, model: 'llama3.2:3b', systemPrompt: 'Answer briefly.' };
    agentIds.push((await execute(url, CreateAgentDocument, { input }, token)).createAgent.id);
  }
  const watchers: Watcher[] = [];
  for (let start = 0; start < options.conversations; start += 25) {
    const batch = Array.from({ length: Math.min(25, options.conversations - start) }, (_, j) => start + j);
    watchers.push(
      ...(await Promise.all(
        batch.map(async (index) => {
          const agentId = agentIds[index % agentIds.length]!;
          const started = await execute(
            url,
            StartConversationDocument,
            { agentId, title: `bench ${index}` },
            token,
          );
          return watch(wsUrl, token, index, started.startConversation.id);
        }),
      )),
    );
  }
  while ((await ask<{ count: number }>(server, 'subscribers')).count < options.conversations) await sleep(50);
  await sleep(1_000); // let setup's work (audit writes, GC) settle before measuring

  progress(`sending ${options.conversations} messages at once`);
  await Promise.all([ask(server, 'measure'), ask(fake, 'measure')]);
  const machineAtStart = machineCpuTimes();
  const cpuAtStart = process.cpuUsage();
  const measuringSince = performance.now();
  const sends = watchers.map((watcher) =>
    watcher.send(url, token).catch((error: Error) => {
      watcher.conversation.failure ??= `sendMessage: ${error.message}`;
    }),
  );
  const conversations = watchers.map((watcher) => watcher.conversation);
  const settled = Promise.all([...sends, ...conversations.map((conversation) => conversation.settled)]);
  const timedOut = await Promise.race([
    settled.then(() => false),
    sleep(options.timeoutSeconds * 1000).then(() => true),
  ]);
  const clientsCpuPercent = cpuPercent(cpuAtStart, performance.now() - measuringSince);
  const machineAtEnd = machineCpuTimes();
  const serverReport = await ask<ServerReport>(server, 'report');
  const fakeReport = await ask<FakeReport>(fake, 'report');
  const cpuPercentOfOneCore = {
    server: serverReport.cpuPercent,
    fakeOllama: fakeReport.cpuPercent,
    clients: clientsCpuPercent,
    // Everything on the machine (PostgreSQL included), as a percentage of one core.
    machine: machinePercent(machineAtStart, machineAtEnd, os.availableParallelism()),
  };
  for (const watcher of watchers) watcher.close();

  const result = measure({ ...options, conversations }, fakeReport, serverReport);
  console.log(
    JSON.stringify(
      {
        bench: 'llm',
        ...options,
        jobConcurrency,
        dbPoolMax: dbPoolMax > 0 ? dbPoolMax : 'app default',
        timedOut,
        ...result,
        cpuPercentOfOneCore,
        cores: os.availableParallelism(),
      },
      null,
      2,
    ),
  );
  return !timedOut && result.repliesFailed === 0 && result.repliesCompleted === options.conversations;
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
