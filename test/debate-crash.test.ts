import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateAgentDocument,
  CreateDebateDocument,
  DebateDocument,
  DebateEventsDocument,
  LoginDocument,
  StartDebateDocument,
  type DebateEventsSubscription,
} from '../src/sdk/generated/graphql.js';
import { buildServer, exited, type BuiltServer, type BuiltServers } from './support/built-server.js';
import { execute } from './support/client.js';
import { createTestDatabase, dropTestDatabase, query } from './support/database.js';
import { eventually } from './support/eventually.js';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.js';
import { connectWs, subscribe, type Subscription, type WsClient } from './support/ws.js';

/**
 * The crash guarantees, against the BUILT server run as separate processes: a debate whose
 * orchestrating process is `kill -9`ed mid-turn finishes on another process with every (round, seat)
 * stored once and a subscriber's stream gap-free; with two replicas, killing the one holding the step
 * job hands the debate to the survivor without interleaving turns.
 */
const admin = { email: 'debate-crash@example.test', password: 'a long enough password' };
const ALL_TURNS = [1, 2, 3].flatMap((round) => [1, 2, 3].map((seat) => [round, seat]));

type Event = DebateEventsSubscription['debateEvents'];
type Events = Subscription<DebateEventsSubscription>;

/** A private build (and data folder): another session's `npm run build` empties the shared `dist/`. */
let servers: BuiltServers;
const sockets: WsClient[] = [];

/** A process of the build, with the admin account and short job leases. */
function startBuiltServer(replicaId: string, env: Record<string, string>): Promise<BuiltServer> {
  return servers.start(replicaId, {
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    JOB_LEASE_MS: '3000',
    JOB_POLL_MS: '200',
    ...env,
  });
}

async function login(replica: BuiltServer): Promise<string> {
  const response = await execute(replica.url, LoginDocument, admin);
  if (!response.data) throw new Error(JSON.stringify(response.errors));
  return response.data.login.accessToken;
}

/** Three agents and a debate that runs all three rounds (a threshold of 1 is never reached). */
async function createDebate(replica: BuiltServer, token: string): Promise<string> {
  const agentIds: string[] = [];
  for (const name of ['Ada', 'Babbage', 'Curie']) {
    const created = await execute(
      replica.url,
      CreateAgentDocument,
      { input: { name, model: 'llama3.2:3b', systemPrompt: `You are ${name}.` } },
      { token },
    );
    agentIds.push(created.data!.createAgent.id);
  }
  const created = await execute(
    replica.url,
    CreateDebateDocument,
    {
      input: {
        topic: 'Should a crash ever cost a debate a turn?',
        participants: agentIds.map((agentId) => ({ agentId })),
        maxRounds: 3,
        consensusThreshold: 1,
      },
    },
    { token },
  );
  if (!created.data) throw new Error(JSON.stringify(created.errors));
  return created.data.createDebate.id;
}

function watch(replica: BuiltServer, token: string, debateId: string, afterSeq: number): Events {
  const ws = connectWs(replica.wsUrl, token);
  sockets.push(ws);
  return subscribe(ws, DebateEventsDocument, { debateId, afterSeq });
}

const eventsOf = (subscription: Events): Event[] => subscription.received.map((each) => each.debateEvents);
/** What the event log stores (and replays); deltas and restarts are live only. */
const storedOf = (events: Event[]) =>
  events.filter((event) => event.type !== 'TURN_DELTA' && event.type !== 'TURN_RESTARTED');

function waitForEvent(
  events: () => Event[],
  matches: (event: Event) => boolean,
  what: string,
  timeoutMs = 60_000,
) {
  return eventually(() => events().find(matches), { timeoutMs, intervalMs: 20, what });
}

/** The stream's head right now, straight from the database. */
async function headSeq(databaseUrl: string, debateId: string): Promise<number> {
  const [row] = await query<{ last_seq: string }>(
    databaseUrl,
    'select last_seq from event_streams where stream = $1',
    [`debate:${debateId}`],
  );
  return Number(row?.last_seq ?? 0);
}

/** Polls the event log for the first TURN_STARTED stored after `afterSeq`: the step played again. */
async function firstTurnStartedAfter(
  databaseUrl: string,
  debateId: string,
  afterSeq: number,
  timeoutMs: number,
) {
  return eventually(
    async () => {
      const [row] = await query<{ payload: { round: number; seat: number; reason?: string } }>(
        databaseUrl,
        `select payload from events where stream = $1 and seq > $2 and type = 'TURN_STARTED' order by seq limit 1`,
        [`debate:${debateId}`, afterSeq],
      );
      return row?.payload;
    },
    { timeoutMs, intervalMs: 100, what: 'the killed turn to start again' },
  );
}

async function runningStep(databaseUrl: string, debateId: string) {
  const rows = await query<{ key: string; lease_owner: string }>(
    databaseUrl,
    `select key, lease_owner from jobs where kind = 'debate.step' and status = 'RUNNING' and key like $1`,
    [`debate:${debateId}:%`],
  );
  return rows;
}

/** What a user would check after the crash: the debate, its turns and rounds, the jobs, the stream. */
async function expectFinishedExactlyOnce(
  replica: BuiltServer,
  token: string,
  databaseUrl: string,
  debateId: string,
) {
  const debate = await execute(replica.url, DebateDocument, { id: debateId, turnsFirst: 100 }, { token });
  expect(debate.errors).toBeUndefined();
  expect(debate.data!.debate).toMatchObject({
    status: 'CONCLUDED',
    conclusionReason: 'MAX_ROUNDS',
    figures: { rounds: 3, turns: 9 },
  });
  expect(debate.data!.debate.turns.nodes.map((turn) => [turn.round, turn.seat])).toEqual(ALL_TURNS);

  const turns = await query<{ round: number; seat: number; created_at: Date }>(
    databaseUrl,
    'select round, seat, created_at from debate_turns where debate_id = $1 order by created_at',
    [debateId],
  );
  // In the order they were stored: no (round, seat) twice or missing, and never out of turn.
  expect(turns.map((turn) => [turn.round, turn.seat])).toEqual(ALL_TURNS);
  const times = turns.map((turn) => turn.created_at.getTime());
  expect(times.every((time, index) => index === 0 || time > times[index - 1]!)).toBe(true);
  const rounds = await query<{ number: number }>(
    databaseUrl,
    'select number from debate_rounds where debate_id = $1 order by number',
    [debateId],
  );
  expect(rounds.map((round) => round.number)).toEqual([1, 2, 3]);
  const jobs = await query<{ key: string; status: string }>(
    databaseUrl,
    `select key, status from jobs where kind = 'debate.step' and key like $1`,
    [`debate:${debateId}:%`],
  );
  expect(jobs.filter((job) => job.status !== 'SUCCEEDED')).toEqual([]);
  expect(jobs).toHaveLength(10); // nine turns and the conclusion
}

/** Seqs consecutive from the first to the last (so increasing, no gaps, no duplicates), with every turn once. */
function expectGapFreeStream(stored: Event[]) {
  const seqs = stored.map((event) => event.seq);
  expect(seqs[0]).toBe(1);
  expect(seqs).toEqual(seqs.map((_, index) => seqs[0]! + index));
  const completed = stored.filter((event) => event.type === 'TURN_COMPLETED');
  expect(completed.map((event) => [event.round, event.seat])).toEqual(ALL_TURNS);
  expect(stored.filter((event) => event.type === 'ROUND_COMPLETED').map((event) => event.round)).toEqual([
    1, 2, 3,
  ]);
  expect(stored.filter((event) => event.type === 'CONCLUDED')).toHaveLength(1);
  expect(stored.at(-1)!.type).toBe('CONCLUDED');
}

beforeAll(async () => {
  servers = await buildServer('parley-debate-crash');
}, 180_000);

afterAll(async () => {
  await servers?.remove();
});

describe('a debate whose orchestrating process is killed mid-turn', () => {
  let fake: FakeOllama;
  let databaseUrl: string;

  beforeAll(async () => {
    // About 20 tokens of structured output per turn at 50 ms each: a turn streams for about a second.
    fake = await startFakeOllama({ tokenDelayMs: 50 });
  });
  afterAll(async () => {
    await fake?.close();
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => socket.dispose()));
    // A failed test may leave a server running: only the ones this file started, by their handle.
    await servers.killAll();
    await dropTestDatabase(databaseUrl);
  });

  it('kill -9, restart: resumes within 10 s, every (round, seat) once, the resumed stream gap-free', async () => {
    databaseUrl = await createTestDatabase();
    const env = { DATABASE_URL: databaseUrl, OLLAMA_HOST: fake.url };
    const first = await startBuiltServer('crash-first', env);
    const token = await login(first);
    const debateId = await createDebate(first, token);
    const before = watch(first, token, debateId, 0);
    const started = await execute(first.url, StartDebateDocument, { id: debateId }, { token });
    expect(started.data?.startDebate.status).toBe('RUNNING');

    await waitForEvent(
      () => eventsOf(before),
      (event) => event.type === 'TURN_DELTA' && event.round === 2 && event.seat === 2,
      'round 2, seat 2 to stream',
    );
    expect(await exited(first.child, 'SIGKILL')).toBeNull();
    const headAtKill = await headSeq(databaseUrl, debateId);
    const [killed] = await runningStep(databaseUrl, debateId);
    expect(killed?.key).toMatch(/:t2\.2$/); // the turn that was streaming, left running with its lease
    const storedAtKill = await query(databaseUrl, 'select 1 from debate_turns where debate_id = $1', [
      debateId,
    ]);
    expect(storedAtKill).toHaveLength(4);

    const second = await startBuiltServer('crash-second', env);
    const restartedAt = Date.now();
    const resumed = await firstTurnStartedAfter(databaseUrl, debateId, headAtKill, 30_000);
    const resumedAfterMs = Date.now() - restartedAt;
    expect(resumed).toMatchObject({ round: 2, seat: 2 });
    expect(resumed.reason).toMatch(/^attempt \d+$/);
    expect(resumedAfterMs).toBeLessThan(10_000);

    // The dashboard reconnects to the new process with the last seq it saw.
    const lastSeen = storedOf(eventsOf(before)).at(-1)!.seq;
    const after = watch(second, token, debateId, lastSeen);
    await waitForEvent(
      () => eventsOf(after),
      (event) => event.type === 'CONCLUDED',
      'the conclusion',
      90_000,
    );

    await expectFinishedExactlyOnce(second, token, databaseUrl, debateId);
    const stored = storedOf([...eventsOf(before), ...eventsOf(after)]);
    expectGapFreeStream(stored);
    await before.ended; // its socket closed with the killed process
    expect(after.errors).toEqual([]);
    console.info(`debate-crash: resumed ${resumedAfterMs} ms after the restarted process was ready`);

    expect(await exited(second.child, 'SIGTERM')).toBe(0);
  }, 240_000);

  it('two replicas, the step holder killed: the survivor takes over within 30 s, turns never interleave', async () => {
    databaseUrl = await createTestDatabase();
    const env = { DATABASE_URL: databaseUrl, OLLAMA_HOST: fake.url };
    // One after the other: the first creates the admin and the shared development keys.
    const replicas = [await startBuiltServer('replica-a', env), await startBuiltServer('replica-b', env)];
    const token = await login(replicas[0]!);
    const debateId = await createDebate(replicas[0]!, token);
    const watchers = replicas.map((replica) => watch(replica, token, debateId, 0));
    await execute(replicas[1]!.url, StartDebateDocument, { id: debateId }, { token });

    await waitForEvent(
      () => watchers.flatMap(eventsOf),
      (event) => event.type === 'TURN_DELTA' && event.round === 2 && event.seat === 2,
      'round 2, seat 2 to stream',
    );
    const [step] = await runningStep(databaseUrl, debateId);
    expect(step?.key).toMatch(/:t2\.2$/);
    const holder = replicas.findIndex((replica) => step!.lease_owner.startsWith(`${replica.replicaId}:`));
    expect(holder).toBeGreaterThanOrEqual(0);
    const survivor = replicas[1 - holder]!;
    const survivorEvents = watchers[1 - holder]!;
    expect(await exited(replicas[holder]!.child, 'SIGKILL')).toBeNull();
    const killedAt = Date.now();
    const headAtKill = await headSeq(databaseUrl, debateId);

    const resumed = await firstTurnStartedAfter(databaseUrl, debateId, headAtKill, 60_000);
    const takeoverMs = Date.now() - killedAt;
    expect(resumed).toMatchObject({ round: 2, seat: 2 });
    expect(takeoverMs).toBeLessThan(30_000);

    await waitForEvent(
      () => eventsOf(survivorEvents),
      (event) => event.type === 'CONCLUDED',
      'the conclusion on the survivor',
      90_000,
    );
    await expectFinishedExactlyOnce(survivor, token, databaseUrl, debateId);
    // The survivor's subscriber was connected throughout: it alone must have seen everything.
    expectGapFreeStream(storedOf(eventsOf(survivorEvents)));
    expect(survivorEvents.errors).toEqual([]);
    console.info(`debate-crash: ${replicas[holder]!.replicaId} killed; taken over after ${takeoverMs} ms`);

    expect(await exited(survivor.child, 'SIGTERM')).toBe(0);
  }, 240_000);
});
