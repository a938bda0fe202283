import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateCorpus } from '../src/compression/corpus.js';
import {
  CompressionRunDocument,
  CompressionRunUpdatedDocument,
  CreateCompressionRunDocument,
  CreateUserDocument,
  LoginDocument,
  type CompressionRunUpdatedSubscription,
} from '../src/sdk/generated/graphql.js';
import { buildServer, exited, type BuiltServer, type BuiltServers } from './support/built-server.js';
import { execute } from './support/client.js';
import { createTestDatabase, dropTestDatabase, query } from './support/database.js';
import { eventually } from './support/eventually.js';
import { connectWs, subscribe, type Subscription, type WsClient } from './support/ws.js';

/**
 * The crash guarantee for compression runs, against the BUILT server run as separate processes: a
 * run whose process is `kill -9`ed while its worker thread is compressing is run again by the next process
 * once the job's lease runs out, and ends with one result: one SUCCEEDED, the figures stored once, and a
 * subscriber that resumes on the new process with the last seq it saw misses nothing.
 */
const LEASE_MS = 3_000;
const POLL_MS = 200;
const admin = { email: 'compression-crash-admin@example.test', password: 'a long enough password' };
const analyst = { email: 'compression-crash-analyst@example.test', password: 'another long password' };
/**
 * About 7 s of brotli at level 9 on an idle 2-CPU machine (level 11 manages about 0.6 MB/s here, so
 * 48 MiB would take 90 s): long enough to be killed mid-compression, short enough to run twice.
 */
const CORPUS = { kind: 'TEXT', sizeBytes: 48 * 1024 * 1024, seed: 11 } as const;
const ALGORITHM = 'BROTLI' as const;
const LEVEL = 9;

type Event = CompressionRunUpdatedSubscription['compressionRunUpdated'];
type Events = Subscription<CompressionRunUpdatedSubscription>;

let servers: BuiltServers;
let databaseUrl: string | undefined;
const sockets: WsClient[] = [];

async function login(server: BuiltServer, credentials: { email: string; password: string }) {
  const response = await execute(server.url, LoginDocument, credentials);
  if (!response.data) throw new Error(JSON.stringify(response.errors));
  return response.data.login.accessToken;
}

/** The admin (created at boot from ADMIN_EMAIL) makes an ANALYST, who is the one that benchmarks. */
async function analystToken(server: BuiltServer): Promise<string> {
  const created = await execute(
    server.url,
    CreateUserDocument,
    { input: { ...analyst, role: 'ANALYST' } },
    { token: await login(server, admin) },
  );
  expect(created.errors).toBeUndefined();
  return login(server, analyst);
}

function watch(server: BuiltServer, token: string, id: string, afterSeq: number): Events {
  const ws = connectWs(server.wsUrl, token);
  sockets.push(ws);
  return subscribe(ws, CompressionRunUpdatedDocument, { id, afterSeq });
}

const eventsOf = (subscription: Events): Event[] =>
  subscription.received.map((each) => each.compressionRunUpdated);
/** What the event log stores and replays: PROGRESS is live only. */
const storedOf = (events: Event[]) => events.filter((event) => event.type !== 'PROGRESS');

function waitForEvent(events: Events, matches: (event: Event) => boolean, what: string, timeoutMs: number) {
  return eventually(() => eventsOf(events).find(matches), { timeoutMs, intervalMs: 20, what });
}

/** A live PROGRESS event carries the seq of the last stored one: resuming from it skips nothing. */
function expectProgressAtHead(events: Event[], afterSeq: number) {
  let head = afterSeq;
  for (const event of events) {
    if (event.type === 'PROGRESS') expect(event.seq).toBe(head);
    else head = event.seq;
  }
}

beforeAll(async () => {
  servers = await buildServer('parley-compression-crash');
}, 180_000);

afterAll(async () => {
  await servers?.remove();
});

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.dispose()));
  // A failed test may leave a server running: only the ones this file started, by their handle.
  await servers.killAll();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
  databaseUrl = undefined;
});

describe('a compression run whose process is killed while it compresses', () => {
  it('kill -9, restart: run again after the lease, one SUCCEEDED with its figures, the resumed stream gap-free', async () => {
    databaseUrl = await createTestDatabase();
    const url = databaseUrl;
    const env = {
      DATABASE_URL: url,
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      JOB_LEASE_MS: String(LEASE_MS),
      JOB_POLL_MS: String(POLL_MS),
      COMPRESSION_WORKERS: '1',
    };
    const first = await servers.start('compression-first', env);
    const token = await analystToken(first);
    const created = await execute(
      first.url,
      CreateCompressionRunDocument,
      { input: { algorithm: ALGORITHM, level: LEVEL, data: { corpus: CORPUS } } },
      { token },
    );
    expect(created.errors).toBeUndefined();
    const id = created.data!.createCompressionRun.id;
    const before = watch(first, token, id, 0);

    await waitForEvent(before, (event) => event.type === 'STARTED', 'the run to start', 30_000);
    // Inside the codec: its COMPRESSING tick, or (had it come before the subscription) well past the
    // ~0.3 s it takes to generate the corpus.
    await waitForEvent(before, (event) => event.phase === 'COMPRESSING', 'the tick', 2_000).catch(
      () => undefined,
    );
    const sawCompressing = eventsOf(before).some((event) => event.phase === 'COMPRESSING');
    const running = await execute(first.url, CompressionRunDocument, { id }, { token });
    expect(running.data?.compressionRun).toMatchObject({ status: 'RUNNING', outputBytes: null });
    expect(await exited(first.child, 'SIGKILL')).toBeNull();
    const killedAt = Date.now();
    await before.ended; // its socket closed with the killed process

    // Killed mid-run: the job still holds the dead process's lease, nothing was stored but QUEUED, STARTED.
    const [jobAtKill] = await query<{ status: string; attempts: number; lease_owner: string }>(
      url,
      'select status, attempts, lease_owner from jobs where key = $1',
      [`compression:${id}`],
    );
    expect(jobAtKill).toMatchObject({ status: 'RUNNING', attempts: 1 });
    expect(jobAtKill!.lease_owner).toMatch(/^compression-first:/);
    const typesAtKill = await query<{ type: string }>(
      url,
      'select type from events where stream = $1 order by seq',
      [`compression-run:${id}`],
    );
    expect(typesAtKill.map((row) => row.type)).toEqual(['QUEUED', 'STARTED']);

    const second = await servers.start('compression-second', env);
    const readyAt = Date.now();
    // The dashboard reconnects to the new process with the last seq it saw.
    const lastSeen = storedOf(eventsOf(before)).at(-1)!.seq;
    const after = watch(second, token, id, lastSeen);
    const restarted = await waitForEvent(after, (event) => event.type === 'STARTED', 'the run again', 30_000);
    const succeeded = await waitForEvent(
      after,
      (event) => event.type === 'SUCCEEDED' || event.type === 'FAILED',
      'the run to end',
      180_000,
    );
    const recoveredMs = Date.now() - readyAt;
    expect(succeeded.type).toBe('SUCCEEDED');

    // What a user reads: one result, with its figures, for exactly the corpus asked for.
    const expectedChecksum = createHash('sha256')
      .update(generateCorpus(CORPUS.kind, CORPUS.sizeBytes, CORPUS.seed))
      .digest('hex');
    const run = (await execute(second.url, CompressionRunDocument, { id }, { token })).data!.compressionRun!;
    expect(run).toMatchObject({
      status: 'SUCCEEDED',
      roundTripOk: true,
      error: null,
      inputBytes: CORPUS.sizeBytes,
      inputChecksum: expectedChecksum,
      requestedBy: { email: analyst.email },
    });
    expect(run.ratio).toBeGreaterThan(2);
    expect(run.outputBytes! * run.ratio!).toBeCloseTo(CORPUS.sizeBytes, -1);
    expect(run.compressMs).toBeGreaterThan(0);
    expect(run.decompressMBps).toBeGreaterThan(0);
    expect(new Date(run.startedAt!).getTime()).toBeGreaterThan(killedAt); // the run that counted
    expect(succeeded.run).toEqual(run);

    const [row] = await query<{
      status: string;
      round_trip_ok: boolean;
      output_bytes: string;
      input_checksum: string;
      input: Buffer | null;
    }>(
      url,
      'select status, round_trip_ok, output_bytes, input_checksum, input from compression_runs where id = $1',
      [id],
    );
    expect(row).toMatchObject({
      status: 'SUCCEEDED',
      round_trip_ok: true,
      input_checksum: expectedChecksum,
      input: null,
    });
    expect(Number(row!.output_bytes)).toBe(run.outputBytes);
    const stored = await query<{ seq: string; type: string }>(
      url,
      'select seq, type from events where stream = $1 order by seq',
      [`compression-run:${id}`],
    );
    expect(stored.map((event) => event.type)).toEqual(['QUEUED', 'STARTED', 'STARTED', 'SUCCEEDED']);
    const [job] = await query<{ status: string; attempts: number; lease_owner: string | null }>(
      url,
      'select status, attempts, lease_owner from jobs where key = $1',
      [`compression:${id}`],
    );
    expect(job).toEqual({ status: 'SUCCEEDED', attempts: 2, lease_owner: null });

    // The subscriber's two streams together: every stored event once, in order, ending at SUCCEEDED.
    const seen = [...eventsOf(before), ...eventsOf(after)];
    expect(storedOf(seen).map((event) => [event.seq, event.type])).toEqual(
      stored.map((event) => [Number(event.seq), event.type]),
    );
    expectProgressAtHead(eventsOf(before), 0);
    expectProgressAtHead(eventsOf(after), lastSeen);
    expect(eventsOf(after).at(-1)).toBe(succeeded);
    expect(after.errors).toEqual([]); // `before` ended with its socket, closed by the kill

    // Within the lease left on the killed claim, a poll, and the run's own work (plus corpus, hash and
    // scheduling slack); the restart itself is claimed within a lease of the kill.
    const restartedAfterKillMs = new Date(restarted.occurredAt).getTime() - killedAt;
    expect(restartedAfterKillMs).toBeLessThan(Math.max(readyAt - killedAt, LEASE_MS) + POLL_MS + 2_000);
    const ownMs = run.compressMs! + run.decompressMs!;
    expect(recoveredMs).toBeLessThan(LEASE_MS + POLL_MS + ownMs * 1.5 + 5_000);
    console.info(
      `compression-crash: killed ${sawCompressing ? 'while COMPRESSING' : '2 s after STARTED'}; ` +
        `claimed again ${restartedAfterKillMs} ms after the kill (${readyAt - killedAt} ms to restart); ` +
        `SUCCEEDED ${recoveredMs} ms after the new process was ready; the run itself took ${Math.round(ownMs)} ms`,
    );

    expect(await exited(second.child, 'SIGTERM')).toBe(0);
  }, 300_000);
});
