import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import {
  AgentEventsDocument,
  CreateAgentDocument,
  UpdateAgentDocument,
} from '../src/sdk/generated/graphql.js';
import { createActor, type Actor } from './support/actors.js';
import { execute } from './support/client.js';
import { query } from './support/database.js';
import { startTestServer, type TestServer } from './support/server.js';
import { connectWs, subscribe, type WsClient } from './support/ws.js';

/** Two replicas (separate apps, separate LISTEN connections) over one database. */
let a: TestServer;
let b: TestServer;
let operator: Actor;
let viewer: Actor;
const sockets: WsClient[] = [];

function ws(server: TestServer, token?: string): WsClient {
  const socket = connectWs(server.wsUrl, token);
  sockets.push(socket);
  return socket;
}

async function createAgent(server: TestServer, name: string) {
  const result = await execute(
    server.url,
    CreateAgentDocument,
    { input: { name, model: 'llama3.2:3b' } },
    { token: operator.token },
  );
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.createAgent;
}

async function headOfAgents(): Promise<number> {
  const rows = await query<{ last_seq: string }>(
    a.databaseUrl,
    `select last_seq from event_streams where stream = 'agents'`,
  );
  return Number(rows[0]?.last_seq ?? 0);
}

function expectContiguous(seqs: number[], from: number): void {
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, index) => from + index));
}

beforeAll(async () => {
  a = await startTestServer();
  b = await startTestServer({ databaseUrl: a.databaseUrl });
  operator = await createActor(a, Role.OPERATOR, 'rt-operator');
  viewer = await createActor(a, Role.VIEWER, 'rt-viewer');
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
  await b?.close();
  await a?.close();
});

describe('agentEvents across replicas', () => {
  it('a mutation through A reaches a subscriber on B, in order, exactly once', async () => {
    const start = await headOfAgents();
    const subscription = subscribe(ws(b, viewer.token), AgentEventsDocument, {});
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the subscription register
    const created = await createAgent(a, 'replica-1');
    await execute(
      a.url,
      UpdateAgentDocument,
      { id: created.id, input: { description: 'changed' } },
      { token: operator.token },
    );
    const events = await subscription.waitFor(2);
    await new Promise((resolve) => setTimeout(resolve, 300)); // nothing more may arrive
    expect(subscription.received).toHaveLength(2);
    expect(events.map((event) => event.agentEvents.type)).toEqual(['CREATED', 'UPDATED']);
    expectContiguous(
      events.map((event) => event.agentEvents.seq),
      start + 1,
    );
    expect(events[1]!.agentEvents.agent).toMatchObject({ id: created.id, owner: { email: operator.email } });
    subscription.unsubscribe();
  });

  it('replays from afterSeq, then continues live without a gap or duplicate', async () => {
    for (let index = 0; index < 5; index++) await createAgent(a, `replay-${index}`);
    const head = await headOfAgents();
    const subscription = subscribe(ws(b, viewer.token), AgentEventsDocument, { afterSeq: head - 3 });
    await subscription.waitFor(3);
    await createAgent(a, 'replay-live');
    const events = await subscription.waitFor(4);
    expectContiguous(
      events.map((event) => event.agentEvents.seq),
      head - 2,
    );
    subscription.unsubscribe();
  });

  it('many concurrent writers on one stream: subscribers on both replicas see a gap-free sequence', async () => {
    const start = await headOfAgents();
    const onA = subscribe(ws(a, viewer.token), AgentEventsDocument, { afterSeq: start });
    const onB = subscribe(ws(b, viewer.token), AgentEventsDocument, { afterSeq: start });
    const writers = 40;
    await Promise.all(
      Array.from({ length: writers }, (_, index) => createAgent(index % 2 ? a : b, `concurrent-${index}`)),
    );
    for (const subscription of [onA, onB]) {
      const events = await subscription.waitFor(writers, 20_000);
      expectContiguous(
        events.map((event) => event.agentEvents.seq),
        start + 1,
      );
      subscription.unsubscribe();
    }
  });

  it('filters by agent while the cursor still advances', async () => {
    const watched = await createAgent(a, 'filtered-watched');
    const subscription = subscribe(ws(b, viewer.token), AgentEventsDocument, { agentId: watched.id });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await createAgent(a, 'filtered-other');
    await execute(
      a.url,
      UpdateAgentDocument,
      { id: watched.id, input: { description: 'x' } },
      { token: operator.token },
    );
    const events = await subscription.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(subscription.received).toHaveLength(1);
    expect(events[0]!.agentEvents).toMatchObject({ type: 'UPDATED', agentId: watched.id });
    subscription.unsubscribe();
  });
});

describe('losing the LISTEN connection', () => {
  it('pg_terminate_backend of the listener while events are written: every event arrives exactly once', async () => {
    const start = await headOfAgents();
    const subscription = subscribe(ws(b, viewer.token), AgentEventsDocument, { afterSeq: start });
    const total = 30;
    const writing = (async () => {
      for (let index = 0; index < total; index++) {
        await createAgent(a, `terminate-${index}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 150));
    const killed = await query<{ killed: boolean }>(
      a.databaseUrl,
      `select pg_terminate_backend(pid) as killed from pg_stat_activity
        where datname = current_database() and query ilike 'listen parley_events%'`,
    );
    expect(killed.length).toBeGreaterThanOrEqual(2); // both replicas' listeners
    await writing;
    const events = await subscription.waitFor(total, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(subscription.received).toHaveLength(total);
    expectContiguous(
      events.map((event) => event.agentEvents.seq),
      start + 1,
    );
    expect(b.app.realtime.listener.reconnects).toBeGreaterThanOrEqual(1);
    const ready = (await fetch(b.url.replace('/graphql', '/health/ready')).then((response) =>
      response.json(),
    )) as {
      checks: { eventListener: unknown };
    };
    expect(ready.checks.eventListener).toMatchObject({ status: 'up', state: 'listening' });
    subscription.unsubscribe();
  });

  it('a client that disconnects mid-stream and resubscribes with its last seq loses nothing', async () => {
    const start = await headOfAgents();
    const first = ws(b, viewer.token);
    const before = subscribe(first, AgentEventsDocument, { afterSeq: start });
    for (let index = 0; index < 3; index++) await createAgent(a, `resume-a-${index}`);
    await before.waitFor(3);
    const lastSeen = before.received.at(-1)!.agentEvents.seq;
    await first.dispose();
    for (let index = 0; index < 4; index++) await createAgent(a, `resume-b-${index}`); // while away
    const after = subscribe(ws(b, viewer.token), AgentEventsDocument, { afterSeq: lastSeen });
    await createAgent(a, 'resume-live');
    const events = await after.waitFor(5);
    expectContiguous(
      [...before.received, ...events].map((event) => event.agentEvents.seq),
      start + 1,
    );
    after.unsubscribe();
  });
});

describe('bad subscriptions', () => {
  it('refuses an anonymous subscriber with UNAUTHENTICATED, and the socket stays usable', async () => {
    const socket = ws(a);
    const refused = subscribe(socket, AgentEventsDocument, {});
    await refused.ended;
    expect(refused.errors.flat().map((error) => error.extensions?.code)).toContain('UNAUTHENTICATED');
    const second = subscribe(socket, AgentEventsDocument, {});
    await second.ended;
    expect(second.errors.flat().map((error) => error.extensions?.code)).toContain('UNAUTHENTICATED');
  });

  it('closes a connection with a bad token with 4401', async () => {
    const socket = ws(a, 'not-a-jwt');
    expect((await socket.closed).code).toBe(4401);
  });

  it.each([
    ['negative', -1, /at least 0/],
    ['ahead of the stream', 1_000_000, /ahead of the stream/],
  ])('refuses an afterSeq %s with BAD_USER_INPUT naming afterSeq', async (_label, afterSeq, message) => {
    const socket = ws(a, viewer.token);
    const refused = subscribe(socket, AgentEventsDocument, { afterSeq });
    await refused.ended;
    const [error] = refused.errors.flat();
    expect(error?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error?.message).toMatch(/afterSeq/);
    expect(error?.message).toMatch(message);
    const fine = subscribe(socket, AgentEventsDocument, {});
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fine.errors).toEqual([]);
    fine.unsubscribe();
  });

  it('refuses an afterSeq whose events were pruned, saying where history starts', async () => {
    await createAgent(a, 'prune-1');
    await createAgent(a, 'prune-2');
    await query(
      a.databaseUrl,
      `update events set created_at = now() - interval '400 days' where stream = 'agents'`,
    );
    const removed = await a.app.realtime.retention.pruneOnce();
    expect(removed).toBeGreaterThan(0);
    const refused = subscribe(ws(a, viewer.token), AgentEventsDocument, { afterSeq: 0 });
    await refused.ended;
    const [error] = refused.errors.flat();
    expect(error?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error?.message).toMatch(/pruned/);
  });
});
