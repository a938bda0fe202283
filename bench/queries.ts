// npm run bench:queries -- [--seconds 15] [--warmup 5] [--repeats 3] [--connections 32]
//   [--statement-requests 200] [--users 1000] [--agents 5000] [--debates 2000] [--only Q1,Q3] [--cpu-prof]
// Issue 10's read queries (bench/queries-documents.ts) under load. This process starts a fresh embedded
// PostgreSQL (or uses BENCH_DATABASE_URL's database, which it wipes), migrates it and seeds the issue's
// dataset (bench/seed-data.ts), forks the server (bench/queries-server.ts: NODE_ENV=production, the full
// HTTP and GraphQL stack, rate limits raised so they never refuse), signs in as a seeded VIEWER over
// HTTP, then drives each query with autocannon: a warm-up, then --repeats runs of --seconds each,
// interleaved (Q1 Q2 Q3 Q1 Q2 Q3 …) so that a noisy moment does not land on one query. Per run: req/s,
// p50/p99 latency, CPU ms per request of the server process and of PostgreSQL (from /proc), reported as
// medians. Then, in a separate short run per query with pg_stat_statements tracking on (it is off while
// throughput is measured), the SQL statements PostgreSQL executed per request, and which.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../src/observability/logger.js';
import {
  READ_QUERIES,
  requestBody,
  TARGETS,
  type AgentsAnswer,
  type DebateAnswer,
  type DebatesAnswer,
  type ReadQuery,
} from './queries-documents.js';
import { postgresCpuMs, processCpuMs } from './queries-cpu.js';
import { countedStatements, prepareDatabase, resetStatements, trackStatements } from './queries-database.js';
import { load, type LoadResult } from './queries-load.js';
import { DEFAULT_SEED, SEED_PASSWORD, SEED_VIEWER_EMAIL } from './seed-data.js';
import { ask, nextMessage } from './support/child.js';
import { arg, textArg } from './support/harness.js';
import { machineCpuTimes, machinePercent } from './support/metrics.js';
import { Children } from './support/processes.js';

const options = {
  seconds: arg('seconds', 15),
  warmupSeconds: arg('warmup', 5),
  repeats: arg('repeats', 3),
  connections: arg('connections', 32),
  statementRequests: arg('statement-requests', 200),
  only: textArg('only', 'Q1,Q2,Q3').split(','),
};
const counts = {
  users: arg('users', DEFAULT_SEED.users),
  agents: arg('agents', DEFAULT_SEED.agents),
  debates: arg('debates', DEFAULT_SEED.debates),
};
const profileDir = process.argv.includes('--cpu-prof')
  ? path.join(os.tmpdir(), 'parley-bench-queries-prof')
  : undefined;
const progress = (text: string) => process.stderr.write(`bench:queries: ${text}\n`);
const median = (values: number[]) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round2 = (value: number) => Math.round(value * 100) / 100;
const children = new Children();

async function post<T>(url: string, body: string, token?: string): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  const answer = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!answer.data || answer.errors)
    throw new Error(`GraphQL ${response.status}: ${JSON.stringify(answer.errors)}`);
  return answer.data;
}

/** Throws unless the answer has the shape the seed guarantees (checked before and after the load). */
function check(name: ReadQuery['name'], data: unknown): void {
  const fail = (what: string) => {
    throw new Error(`${name} answered wrongly: ${what}`);
  };
  if (name === 'Q1') {
    const edges = (data as AgentsAnswer).agents.edges;
    if (edges.length !== 20 || edges.some((edge) => !edge.node.owner.email))
      fail('not 20 agents with owners');
  } else if (name === 'Q2') {
    const edges = (data as DebatesAnswer).debates.edges;
    if (edges.length !== 20 || edges.some((edge) => edge.node.turns.edges.length !== 9))
      fail('not 20 debates of 9 turns');
  } else {
    const debate = (data as DebateAnswer).debate;
    if (debate.participants.length !== 3 || debate.turns.edges.length !== 9) fail('not 3 seats and 9 turns');
  }
}

interface StatementFigures {
  requests: number;
  /** Statements per request, the server's background statements (seen while idle) left out. */
  perRequest: number;
  statements: { perRequest: number; calls: number; query: string }[];
  background: { calls: number; idleCalls: number; query: string }[];
}

interface RunFigures extends LoadResult {
  serverCpuMsPerRequest: number | null;
  postgresCpuMsPerRequest: number | null;
  clientCpuPercent: number;
  machineCpuPercent: number | null;
  serverLagP99Ms: number;
}

async function run(): Promise<boolean> {
  const log = createLogger({ level: 'warn' });
  progress(`seeding ${counts.users} users, ${counts.agents} agents, ${counts.debates} debates`);
  const database = await prepareDatabase(log, counts);
  try {
    progress(`seeded in ${database.seed.ms} ms; starting the server`);
    const server = children.fork(
      new URL('./queries-server.js', import.meta.url),
      {
        BENCH_DATABASE_URL: database.url,
        // The runs take minutes: a token that outlives them (its lifetime costs nothing per request).
        BENCH_SERVER_ENV: JSON.stringify({ ACCESS_TOKEN_TTL_SECONDS: '7200' }),
      },
      // As `npm start` runs it (package.json), plus the profiler when asked.
      ['--max-semi-space-size=64', ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [])],
    );
    if (profileDir) progress(`the server's CPU profile goes to ${profileDir}`);
    const { url } = await nextMessage<{ url: string }>(server, 'ready');
    const login = await post<{ login: { accessToken: string } }>(
      url,
      requestBody(
        'mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { accessToken } }',
        { email: SEED_VIEWER_EMAIL, password: SEED_PASSWORD },
      ),
    );
    const token = login.login.accessToken;
    const debateId = database.seed.debateIds[Math.floor(database.seed.debateIds.length / 2)]!;
    const queries = READ_QUERIES.filter((query) => options.only.includes(query.name)).map((query) => ({
      ...query,
      body: requestBody(query.query, query.name === 'Q3' ? { id: debateId } : {}),
    }));
    for (const query of queries) check(query.name, await post(url, query.body, token));

    const runs = new Map<string, RunFigures[]>(queries.map((query) => [query.name, []]));
    for (const query of queries) {
      progress(`${query.name}: warming up for ${options.warmupSeconds} s`);
      await load({
        url,
        token,
        body: query.body,
        connections: options.connections,
        seconds: options.warmupSeconds,
      });
    }
    for (let repeat = 1; repeat <= options.repeats; repeat++) {
      for (const query of queries) {
        progress(`${query.name}: run ${repeat} of ${options.repeats} (${options.seconds} s)`);
        await ask(server, 'measure');
        const serverCpu = processCpuMs(server.pid!);
        const postgresCpu = database.postmasterPid ? postgresCpuMs(database.postmasterPid) : undefined;
        const machine = machineCpuTimes();
        const clientCpu = process.cpuUsage();
        const startedAt = performance.now();
        const result = await load({
          url,
          token,
          body: query.body,
          connections: options.connections,
          seconds: options.seconds,
        });
        const wallMs = performance.now() - startedAt;
        const clientUsed = process.cpuUsage(clientCpu);
        const serverUsed = processCpuMs(server.pid!);
        const postgresUsed = database.postmasterPid ? postgresCpuMs(database.postmasterPid) : undefined;
        const machineUsed = machinePercent(machine, machineCpuTimes(), os.availableParallelism());
        const report = await ask<{ lag: { p99: number } }>(server, 'report');
        const perRequest = (from: number | undefined, to: number | undefined) =>
          from !== undefined && to !== undefined && result.requests > 0
            ? Math.round(((to - from) / result.requests) * 1000) / 1000
            : null;
        runs.get(query.name)!.push({
          ...result,
          serverCpuMsPerRequest: perRequest(serverCpu, serverUsed),
          postgresCpuMsPerRequest: perRequest(postgresCpu, postgresUsed),
          clientCpuPercent: Math.round(((clientUsed.user + clientUsed.system) / 1000 / wallMs) * 100),
          machineCpuPercent: machineUsed,
          serverLagP99Ms: report.lag.p99,
        });
      }
    }
    for (const query of queries) check(query.name, await post(url, query.body, token));

    // Statements per request, counted by PostgreSQL in a short run of its own (with tracking on). The
    // server's own timers (the job queue's polls) run meanwhile: what an idle window of the same length
    // counts is taken off and listed apart.
    const statements: Record<string, StatementFigures> = {};
    if (database.statementsAvailable) {
      await trackStatements(database.client, true);
      for (const query of queries) {
        await resetStatements(database.client);
        const startedAt = performance.now();
        const result = await load({
          url,
          token,
          body: query.body,
          connections: options.connections,
          amount: options.statementRequests,
        });
        const duringLoad = await countedStatements(database.client);
        await resetStatements(database.client);
        await sleep(performance.now() - startedAt);
        const idle = new Map(
          (await countedStatements(database.client)).map((each) => [each.query, each.calls]),
        );
        const perRequest = (calls: number) => round2(calls / result.requests);
        const ofRequests = duringLoad
          .map((each) => ({ ...each, calls: Math.max(0, each.calls - (idle.get(each.query) ?? 0)) }))
          .filter((each) => each.calls > 0);
        statements[query.name] = {
          requests: result.requests,
          perRequest: perRequest(ofRequests.reduce((sum, each) => sum + each.calls, 0)),
          statements: ofRequests.map((each) => ({
            perRequest: perRequest(each.calls),
            calls: each.calls,
            query: each.query.length > 240 ? `${each.query.slice(0, 240)}…` : each.query,
          })),
          background: duringLoad
            .filter((each) => idle.has(each.query))
            .map((each) => ({
              calls: each.calls,
              idleCalls: idle.get(each.query)!,
              query: each.query.slice(0, 100),
            })),
        };
      }
      await trackStatements(database.client, false);
    }

    let ok = true;
    const report: Record<string, unknown> = {};
    for (const query of queries) {
      const list = runs.get(query.name)!;
      const pick = (field: keyof RunFigures) => median(list.map((each) => each[field] as number));
      const medians = {
        reqPerSec: pick('reqPerSec'),
        p50Ms: pick('p50Ms'),
        p99Ms: pick('p99Ms'),
        serverCpuMsPerRequest: pick('serverCpuMsPerRequest'),
        postgresCpuMsPerRequest: pick('postgresCpuMsPerRequest'),
      };
      const target = TARGETS[query.name];
      const counted = statements[query.name];
      const failed = list.reduce((sum, each) => sum + each.failed, 0);
      ok &&= failed === 0;
      report[query.name] = {
        description: query.description,
        median: { ...medians, statementsPerRequest: counted?.perRequest ?? null },
        target,
        met: {
          reqPerSec: (medians.reqPerSec ?? 0) >= target.reqPerSec,
          p99: (medians.p99Ms ?? Infinity) < target.p99Ms,
          statements: counted ? counted.perRequest <= target.statements : null,
        },
        failedRequests: failed,
        runs: list,
        statements: statements[query.name] ?? null,
      };
    }
    console.log(
      JSON.stringify(
        {
          bench: 'queries',
          commit: gitCommit(),
          ...options,
          seed: database.seed.counts,
          seedMs: database.seed.ms,
          queries: report,
          cores: os.availableParallelism(),
          loadAverage: os.loadavg().map((value) => round2(value)),
        },
        null,
        2,
      ),
    );
    return ok;
  } finally {
    await children.stop();
    await database.stop();
  }
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

let ok = false;
try {
  ok = await run();
} catch (error) {
  console.error(error);
}
process.exit(ok ? 0 : 1);
