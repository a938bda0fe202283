import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Role } from '../src/modules/users/role.js';
import type { DebateEventsSubscription } from '../src/sdk/index.js';
import { eventually } from './support/eventually.js';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.js';
import { rememberSecret } from './support/secrets-audit.js';
import { startTestServer, type TestServer } from './support/server.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

/*
 * The typed SDK as a consumer uses it: compiled, and imported through the package's "exports" entry
 * (`parley/sdk`), never from its sources. The build is private to this file (a temporary folder holding
 * the package with its own dist/ and a consumer project that depends on it), because another session's
 * `npm run build` may be emptying the shared dist/ at any moment. Types come from the sources (identical
 * to the emitted declarations, which the first test checks as a TypeScript consumer would).
 *
 * Apart from creating users (through the app's services, as an admin would), everything below goes
 * through the SDK only.
 */

type Sdk = typeof import('../src/sdk/index.js');
type DebateEvent = DebateEventsSubscription['debateEvents'];

const root = path.resolve(import.meta.dirname, '..');
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MODEL = 'llama3.2:3b';

let sdk: Sdk;
let buildDir: string;
let consumerDir: string;
let fake: FakeOllama;
let server: TestServer;
/** Between the SDK and `server`, so a test can drop every connection like a network would. */
let proxy: TcpProxy;
const servers: TestServer[] = [];
const clients: { close(): Promise<void> }[] = [];

/** Compiles src/sdk with the build's settings into a package folder, and a consumer depending on it. */
async function buildSdkPackage(): Promise<void> {
  buildDir = await mkdtemp(path.join(os.tmpdir(), 'parley-sdk-'));
  const packageDir = path.join(buildDir, 'parley');
  consumerDir = path.join(buildDir, 'consumer');
  await mkdir(packageDir);
  await copyFile(path.join(root, 'package.json'), path.join(packageDir, 'package.json'));
  await symlink(path.join(root, 'node_modules'), path.join(packageDir, 'node_modules'), 'dir');
  await writeFile(
    path.join(packageDir, 'tsconfig.json'),
    JSON.stringify({
      extends: path.join(root, 'tsconfig.build.json'),
      compilerOptions: { rootDir: root, outDir: path.join(packageDir, 'dist'), sourceMap: false },
      include: [],
      files: [path.join(root, 'src/sdk/index.ts')],
    }),
  );
  await run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', packageDir]);

  await mkdir(path.join(consumerDir, 'node_modules'), { recursive: true });
  await symlink(packageDir, path.join(consumerDir, 'node_modules', 'parley'), 'dir');
  await writeFile(path.join(consumerDir, 'package.json'), '{ "private": true, "type": "module" }\n');
  await writeFile(path.join(consumerDir, 'sdk.js'), "export * from 'parley/sdk';\n");
}

/** A user made as an admin would make one; the SDK signs in with the email and password. */
async function createUser(target: TestServer, role: Role, name: string) {
  const email = `${name}-${randomUUID().slice(0, 8)}@example.test`;
  const password = `correct horse ${name}`;
  rememberSecret(password);
  const user = await target.app.services.users.create(target.app.orm.em.fork(), null, {
    email,
    password,
    role,
  });
  return { id: user.id, login: { email, password } };
}

interface Exchange {
  operation: string;
  status: number;
  code?: string;
  authorization?: string;
}

/** A fetch that notes each exchange (and the tokens the SDK received, for the run's secrets audit). */
function recordingFetch(log: Exchange[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const body = (await response
      .clone()
      .json()
      .catch(() => undefined)) as
      | { data?: Record<string, { accessToken?: string; refreshToken?: string } | null>; errors?: unknown[] }
      | undefined;
    const session = body?.data?.login ?? body?.data?.refreshToken;
    if (session) rememberSecret(session.accessToken, session.refreshToken);
    log.push({
      operation: (JSON.parse(String(init?.body)) as { operationName: string }).operationName,
      status: response.status,
      code: (body?.errors?.[0] as { extensions?: { code?: string } } | undefined)?.extensions?.code,
      authorization: (init?.headers as Record<string, string> | undefined)?.authorization,
    });
    return response;
  };
}

/** The `ws` WebSocket, counting the sockets the SDK opens and how they closed. */
function countingWebSocket() {
  const stats = { opened: 0, closes: [] as number[] };
  class CountingWebSocket extends WebSocket {
    constructor(...args: ConstructorParameters<typeof WebSocket>) {
      super(...args);
      stats.opened += 1;
      this.on('close', (code) => stats.closes.push(code));
    }
  }
  return { CountingWebSocket, stats };
}

function client(...args: Parameters<Sdk['createParleyClient']>) {
  const created = sdk.createParleyClient(...args);
  clients.push(created);
  return created;
}

async function start(env: Record<string, string> = {}) {
  const started = await startTestServer({ env: { OLLAMA_HOST: fake.url, JOB_POLL_MS: '200', ...env } });
  servers.push(started);
  return started;
}

beforeAll(async () => {
  await buildSdkPackage();
  sdk = (await import(pathToFileURL(path.join(consumerDir, 'sdk.js')).href)) as Sdk;
  fake = await startFakeOllama({ tokenDelayMs: 20, replyTokens: 12 });
  server = await start({ COMPRESSION_WORKERS: '2' });
  proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(server.url).port) });
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((each) => each.close()));
  await proxy?.close();
  for (const each of servers) await each.close();
  await fake?.close();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

describe('the SDK package', () => {
  it('resolves as `parley/sdk` for Node and for TypeScript (declarations through "exports")', async () => {
    const node = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const sdk = await import('parley/sdk'); console.log(typeof sdk.createParleyClient, typeof sdk.DebateEventsDocument)",
      ],
      { cwd: consumerDir },
    );
    expect(node.stdout.trim()).toBe('function object');

    await writeFile(
      path.join(consumerDir, 'check.ts'),
      [
        "import { createParleyClient, MeDocument, type ParleyErrorCode } from 'parley/sdk';",
        "const client = createParleyClient({ url: 'http://127.0.0.1:1/graphql', token: 't' });",
        'export const role = async (): Promise<string> => (await client.query(MeDocument)).me.role;',
        "export const code: ParleyErrorCode = 'RATE_LIMITED';",
        '// @ts-expect-error not a code Parley answers with',
        "export const wrong: ParleyErrorCode = 'TEAPOT';",
        '',
      ].join('\n'),
    );
    await writeFile(
      path.join(consumerDir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', strict: true, noEmit: true, skipLibCheck: false, types: [] },
        files: ['check.ts'],
      }),
    );
    // Rejects (with tsc's diagnostics) if the declarations do not resolve or do not type the call.
    await run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', consumerDir]);
  }, 60_000);
});

describe('a whole scenario through the SDK', () => {
  let operatorLogin: { email: string; password: string };

  beforeAll(async () => {
    operatorLogin = (await createUser(server, Role.OPERATOR, 'sdk-operator')).login;
  });

  it('signs in, creates agents, runs a debate and follows it live through a dropped connection', async () => {
    const { CountingWebSocket, stats } = countingWebSocket();
    const operator = client(
      { url: `http://127.0.0.1:${proxy.port}/graphql`, login: operatorLogin },
      {
        webSocketImpl: CountingWebSocket,
        reconnect: { initialDelayMs: 50, maxDelayMs: 400, maxAttempts: 40 },
      },
    );
    // A second sign-in that does not go through the proxy: it watches the debate while the other is cut off.
    const observer = client({ url: server.url, login: operatorLogin });

    const { me } = await operator.query(sdk.MeDocument);
    expect(me).toMatchObject({ email: operatorLogin.email, role: 'OPERATOR' });
    const agentIds: string[] = [];
    for (const name of ['Ada', 'Babbage', 'Curie']) {
      const { createAgent } = await operator.mutate(sdk.CreateAgentDocument, {
        input: { name, model: MODEL, systemPrompt: `You are ${name}.` },
      });
      agentIds.push(createAgent.id);
    }
    const { createDebate: debate } = await operator.mutate(sdk.CreateDebateDocument, {
      input: {
        topic: 'Should every API ship a typed SDK?',
        participants: agentIds.map((agentId) => ({ agentId })),
        maxRounds: 3,
        consensusThreshold: 1, // never reached early: all three rounds run
      },
    });
    const events = operator.subscribe(sdk.DebateEventsDocument, { debateId: debate.id, afterSeq: 0 });
    expect((await operator.mutate(sdk.StartDebateDocument, { id: debate.id })).startDebate.status).toBe(
      'RUNNING',
    );

    /** Cuts every connection through the proxy until the debate has stored another turn, then restores. */
    const storedTurns = async () =>
      (await observer.query(sdk.DebateDocument, { id: debate.id, turnsFirst: 1 })).debate.turns.totalCount;
    let turnsWhileCut = 0;
    const dropConnections = async () => {
      proxy.cut();
      const before = await storedTurns();
      const after = await eventually(
        async () => {
          const now = await storedTurns();
          return now > before ? now : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 50, what: 'a turn to be stored during the outage' },
      );
      turnsWhileCut = after - before;
      proxy.restore();
    };

    const received: DebateEvent[] = [];
    const transcript: string[] = [];
    let dropped: Promise<void> | undefined;
    for await (const { debateEvents: event } of events) {
      received.push(event);
      if (event.type === 'TURN_COMPLETED' && event.turn) {
        const { round, seat, agent, position, confidence } = event.turn;
        transcript.push(
          `#${event.seq} round ${round} seat ${seat} ${agent.name}: ${position} (${confidence})`,
        );
      }
      if (event.type === 'ROUND_COMPLETED') {
        transcript.push(`#${event.seq} round ${event.round} ends with consensus ${event.consensus}`);
        if (event.round === 1 && !dropped) {
          dropped = dropConnections();
        }
      }
      if (event.type === 'CONCLUDED') break;
    }
    await dropped;
    console.log(`debate "${debate.topic}" (#seq)\n${transcript.join('\n')}`);

    // Every stored event exactly once, in order: 1, 2, 3, … (token deltas are live-only and carry the
    // last stored seq, so they are left out of the count).
    const stored = received.filter((event) => event.type !== 'TURN_DELTA');
    expect(stored.map((event) => event.seq)).toEqual(stored.map((_, i) => i + 1));
    const turns = stored.filter((event) => event.type === 'TURN_COMPLETED');
    expect(turns.map((event) => [event.round, event.seat])).toEqual(
      [1, 2, 3].flatMap((round) => [1, 2, 3].map((seat) => [round, seat])),
    );
    const rounds = stored.filter((event) => event.type === 'ROUND_COMPLETED');
    expect(rounds.map((event) => event.round)).toEqual([1, 2, 3]);
    for (const round of rounds) expect(round.consensus).toBeGreaterThanOrEqual(0);
    expect(stored.at(-1)).toMatchObject({ type: 'CONCLUDED', conclusionReason: 'MAX_ROUNDS' });
    // The socket did drop, turns were stored while the client was cut off (they reached it as a replay),
    // and the iterator carried on over a new socket.
    expect(stats.closes.length).toBeGreaterThanOrEqual(1);
    expect(stats.opened).toBeGreaterThanOrEqual(2);
    expect(turnsWhileCut).toBeGreaterThanOrEqual(1);

    const { debate: final } = await operator.query(sdk.DebateDocument, { id: debate.id, turnsFirst: 100 });
    expect(final).toMatchObject({ status: 'CONCLUDED', figures: { rounds: 3, turns: 9 } });
    expect(final.rounds.map((round) => round.consensus)).toEqual(rounds.map((event) => event.consensus));
  }, 60_000);

  it('runs a compression suite to completion and reads its comparison table', async () => {
    const operator = client({ url: server.url, login: operatorLogin });
    const { createCompressionSuite: suite } = await operator.mutate(sdk.CreateCompressionSuiteDocument, {
      input: {
        data: { corpus: { kind: 'TEXT', sizeBytes: 256 * 1024, seed: 7 } },
        runs: [
          { algorithm: 'GZIP', level: 1 },
          { algorithm: 'GZIP', level: 9 },
          { algorithm: 'BROTLI' },
          { algorithm: 'ZSTD', level: 19 },
        ],
      },
    });
    const progress: string[] = [];
    for await (const { compressionSuiteUpdated: event } of operator.subscribe(
      sdk.CompressionSuiteUpdatedDocument,
      { id: suite.id, afterSeq: 0 },
    )) {
      progress.push(`${event.type} ${event.finishedRuns}/${event.totalRuns}`);
      if (event.type === 'COMPLETED') break;
    }
    expect(progress).toEqual([
      'RUN_FINISHED 1/4',
      'RUN_FINISHED 2/4',
      'RUN_FINISHED 3/4',
      'RUN_FINISHED 4/4',
      'COMPLETED 4/4',
    ]);

    const { compressionSuite: done } = await operator.query(sdk.CompressionSuiteDocument, { id: suite.id });
    expect(done.status).toBe('COMPLETE');
    const table = done.comparison!;
    console.table(
      table.map(
        ({ algorithm, level, ratio, compressMBps, decompressMBps, bestRatio, fastestCompression }) => ({
          algorithm,
          level,
          ratio,
          compressMBps,
          decompressMBps,
          bestRatio,
          fastestCompression,
        }),
      ),
    );
    expect(table.map((row) => `${row.algorithm}:${row.level}`).sort()).toEqual(
      ['BROTLI:5', 'GZIP:1', 'GZIP:9', 'ZSTD:19'].sort(),
    );
    expect(table.every((row) => row.status === 'SUCCEEDED' && row.ratio! > 1)).toBe(true);
    expect(table.filter((row) => row.bestRatio)).toHaveLength(1);
    expect(table.filter((row) => row.fastestCompression)).toHaveLength(1);
  }, 60_000);
});

describe('typed errors', () => {
  it('FORBIDDEN: a viewer may not create an agent (data null, code typed)', async () => {
    const viewer = client({
      url: server.url,
      login: (await createUser(server, Role.VIEWER, 'sdk-viewer')).login,
    });
    const refused = await viewer
      .mutate(sdk.CreateAgentDocument, { input: { name: 'Nope', model: MODEL } })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(sdk.ParleyError);
    expect(sdk.isParleyError(refused, 'FORBIDDEN')).toBe(true);
    expect(refused).toMatchObject({ code: 'FORBIDDEN', data: null, status: 200 });
    expect((refused as InstanceType<Sdk['ParleyError']>).errors[0]?.path).toEqual(['createAgent']);
  });

  it('UNAUTHENTICATED: a wrong password fails the call and the subscription, without retry loops', async () => {
    const { login } = await createUser(server, Role.VIEWER, 'sdk-wrong');
    const wrongPassword = `wrong horse ${randomUUID()}`;
    rememberSecret(wrongPassword); // a failed attempt must not be logged either
    const exchanges: Exchange[] = [];
    const wrong = client(
      { url: server.url, login: { ...login, password: wrongPassword } },
      { fetch: recordingFetch(exchanges) },
    );
    await expect(wrong.query(sdk.MeDocument)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(wrong.subscribe(sdk.AgentEventsDocument).next()).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    expect(exchanges.map((exchange) => [exchange.operation, exchange.code])).toEqual([
      ['Login', 'UNAUTHENTICATED'],
      ['Login', 'UNAUTHENTICATED'],
    ]);
  });

  it('a subscription the server refuses throws from the iterator', async () => {
    const viewer = client({
      url: server.url,
      login: (await createUser(server, Role.VIEWER, 'sdk-watcher')).login,
    });
    const events = viewer.subscribe(sdk.ConversationEventsDocument, { conversationId: randomUUID() });
    await expect(events.next()).rejects.toMatchObject({ name: 'ParleyError', code: 'NOT_FOUND' });
    expect(await events.next()).toEqual({ done: true, value: undefined });
  });

  it('RATE_LIMITED carries retryAfter; with `retry.rateLimited` the SDK waits and the caller sees no error', async () => {
    const limited = await start({ RATE_LIMIT_VIEWER: '1,2' });
    const plain = client({
      url: limited.url,
      login: (await createUser(limited, Role.VIEWER, 'sdk-limited')).login,
    });
    // The bucket holds 2 and refills at 1 a second: quick calls run out at the third.
    let refused: unknown;
    for (let call = 0; call < 5 && !refused; call++) {
      refused = await plain.query(sdk.MeDocument).then(
        () => undefined,
        (error: unknown) => error,
      );
    }
    expect(refused).toMatchObject({
      name: 'ParleyError',
      code: 'RATE_LIMITED',
      status: 429,
      data: undefined,
    });
    expect((refused as InstanceType<Sdk['ParleyError']>).retryAfter).toBeGreaterThanOrEqual(1);

    const exchanges: Exchange[] = [];
    const patient = client(
      { url: limited.url, login: (await createUser(limited, Role.VIEWER, 'sdk-patient')).login },
      { retry: { rateLimited: true, maxRetries: 2 }, fetch: recordingFetch(exchanges) },
    );
    for (let i = 0; i < 4; i++) expect((await patient.query(sdk.MeDocument)).me.role).toBe('VIEWER');
    expect(exchanges.filter((exchange) => exchange.status === 429).length).toBeGreaterThanOrEqual(1);
  }, 30_000);
});

describe('tokens', () => {
  it('refreshes a 10-second access token without the caller noticing, on HTTP and on the WebSocket', async () => {
    const shortLived = await start({ ACCESS_TOKEN_TTL_SECONDS: '10' });
    const exchanges: Exchange[] = [];
    const { CountingWebSocket, stats } = countingWebSocket();
    const operator = client(
      { url: shortLived.url, login: (await createUser(shortLived, Role.OPERATOR, 'sdk-short')).login },
      { fetch: recordingFetch(exchanges), webSocketImpl: CountingWebSocket },
    );
    const signedInAt = Date.now();
    const events = operator.subscribe(sdk.AgentEventsDocument, { afterSeq: 0 });
    await operator.mutate(sdk.CreateAgentDocument, { input: { name: 'Before', model: MODEL } });
    const before = (await events.next()).value!.agentEvents;
    expect(before).toMatchObject({ type: 'CREATED', agent: { name: 'Before' } });

    // Past the token's expiry: the server has closed the socket with 4401 and the SDK has come back.
    await sleep(signedInAt + 11_000 - Date.now());
    await operator.mutate(sdk.CreateAgentDocument, { input: { name: 'After', model: MODEL } });
    const after = (await events.next()).value!.agentEvents;
    expect(after).toMatchObject({ type: 'CREATED', agent: { name: 'After' }, seq: before.seq + 1 });

    expect(stats.closes).toContain(4401);
    expect(stats.opened).toBe(2);
    const operations = exchanges.map((exchange) => exchange.operation);
    expect(operations.filter((name) => name === 'Login')).toHaveLength(1);
    expect(operations).toContain('RefreshToken');
    expect(exchanges.every((exchange) => exchange.status === 200 && !exchange.code)).toBe(true);
    const creations = exchanges.filter((exchange) => exchange.operation === 'CreateAgent');
    expect(creations[0]!.authorization).not.toBe(creations[1]!.authorization);
  }, 30_000);

  it('a token the server revoked (role change) is renewed and the call retried once, unnoticed', async () => {
    const analyst = await createUser(server, Role.ANALYST, 'sdk-promoted');
    const exchanges: Exchange[] = [];
    const promoted = client({ url: server.url, login: analyst.login }, { fetch: recordingFetch(exchanges) });
    expect((await promoted.query(sdk.MeDocument)).me.role).toBe('ANALYST');

    const admin = await createUser(server, Role.ADMIN, 'sdk-admin');
    await server.app.services.users.updateRole(
      server.app.orm.em.fork(),
      { id: admin.id, email: admin.login.email, role: Role.ADMIN },
      analyst.id,
      Role.OPERATOR,
    );
    // The revocation reaches the server's token check through its event log, a moment after the commit.
    const created = await eventually(
      () =>
        promoted
          .mutate(sdk.CreateAgentDocument, { input: { name: 'Promoted', model: MODEL } })
          .catch((error: unknown) =>
            sdk.isParleyError(error, 'FORBIDDEN') ? undefined : Promise.reject(error),
          ),
      { timeoutMs: 5_000, what: 'the promotion to take effect' },
    );
    expect(created.createAgent.owner.id).toBe(analyst.id);
    // What happened underneath: refused, the refresh token was gone with the old role, signed in again, retried.
    const afterPromotion = exchanges.slice(
      exchanges.findIndex((exchange) => exchange.code === 'UNAUTHENTICATED'),
    );
    expect(afterPromotion.map((exchange) => [exchange.operation, exchange.code])).toEqual([
      ['CreateAgent', 'UNAUTHENTICATED'],
      ['RefreshToken', 'UNAUTHENTICATED'],
      ['Login', undefined],
      ['CreateAgent', undefined],
    ]);
  }, 30_000);
});
