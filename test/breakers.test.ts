import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import {
  CircuitBreakerChangedDocument,
  CircuitBreakersDocument,
  ModelsDocument,
  ResetCircuitBreakerDocument,
} from '../src/sdk/generated/graphql.js';
import { startFakeOllama, type FakeOllama } from '../src/testing/fake-ollama.js';
import { createActor, type Actor } from './support/actors.js';
import { codes, execute } from './support/client.js';
import { query } from './support/database.js';
import { startTestServer, type TestServer } from './support/server.js';
import { connectWs, subscribe, type WsClient } from './support/ws.js';

/** Two replicas on one database, both guarding the same fake Ollama with a quick-to-trip breaker. */
let fake: FakeOllama;
let a: TestServer;
let b: TestServer;
let viewer: Actor;
let admin: Actor;
const sockets: WsClient[] = [];

const breakerEnv = (replica: string, ollama: string) => ({
  REPLICA_ID: replica,
  OLLAMA_HOST: ollama,
  OLLAMA_RETRIES: '0',
  OLLAMA_TIMEOUT_MS: '2000',
  OLLAMA_BREAKER_WINDOW: '4',
  OLLAMA_BREAKER_MIN_CALLS: '2',
  OLLAMA_BREAKER_FAILURE_RATE: '50',
  OLLAMA_BREAKER_OPEN_MS: '800',
  OLLAMA_BREAKER_HALF_OPEN_CALLS: '1',
});

const breakerName = () => `ollama:${fake.url}`;

/** Retries an assertion until it passes or time runs out (then throws its last failure). */
async function until(assertion: () => unknown, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

let port = 0;
async function startOllama(): Promise<void> {
  fake = await startFakeOllama({ port, models: ['llama3.2:3b', 'qwen2.5:7b'] });
  port = fake.port;
}
async function stopOllama(): Promise<void> {
  await fake.close();
}

async function modelsOn(server: TestServer) {
  return execute(server.url, ModelsDocument, undefined, { token: viewer.token });
}

beforeAll(async () => {
  await startOllama();
  a = await startTestServer({ env: breakerEnv('replica-a', fake.url) });
  b = await startTestServer({ databaseUrl: a.databaseUrl, env: breakerEnv('replica-b', fake.url) });
  viewer = await createActor(a, Role.VIEWER, 'breaker-viewer');
  admin = await createActor(a, Role.ADMIN, 'breaker-admin');
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
  await b?.close();
  await a?.close();
  await fake?.close();
});

describe('Ollama behind a circuit breaker', () => {
  it('lists the models Ollama has', async () => {
    const result = await modelsOn(a);
    expect(result.errors).toBeUndefined();
    expect(result.data?.models.map((model) => model.name).sort()).toEqual(['llama3.2:3b', 'qwen2.5:7b']);
  });

  it('opens on failures, broadcasts to another replica, fails fast, then half-opens and closes again', async () => {
    const ws = connectWs(b.wsUrl, viewer.token);
    sockets.push(ws);
    const events = subscribe(ws, CircuitBreakerChangedDocument, {});
    await new Promise((resolve) => setTimeout(resolve, 300));

    await stopOllama(); // connection refused from here on
    for (let i = 0; i < 2; i++) expect(codes(await modelsOn(a))).toEqual(['SERVICE_UNAVAILABLE']);

    const [opened] = await events.waitFor(1);
    expect(opened!.circuitBreakerChanged).toMatchObject({
      type: 'STATE_CHANGED',
      name: breakerName(),
      previousState: 'CLOSED',
      breaker: { replica: 'replica-a', state: 'OPEN' },
    });

    // Open: refused at once, without a request reaching Ollama (which is back, and would answer).
    await startOllama();
    const refused = await modelsOn(a);
    expect(codes(refused)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(refused.errors?.[0]?.message).toMatch(/circuit is open/);
    expect(refused.errors?.[0]?.extensions?.retryAfter).toBeGreaterThanOrEqual(1);
    expect(fake.requests.filter((request) => request.path === '/api/tags')).toEqual([]);

    // Every replica's breakers are visible from any replica.
    const seenFromB = await execute(b.url, CircuitBreakersDocument, undefined, { token: viewer.token });
    const states = Object.fromEntries(
      (seenFromB.data?.circuitBreakers ?? []).map((breaker) => [breaker.replica, breaker.state]),
    );
    expect(states).toMatchObject({ 'replica-a': 'OPEN', 'replica-b': 'CLOSED' });

    // After the open delay a probe goes through and the breaker closes.
    await until(async () => {
      const result = await modelsOn(a);
      expect(result.errors).toBeUndefined();
    }, 5_000);
    const transitions = await events.waitFor(3);
    expect(transitions.map((event) => event.circuitBreakerChanged.breaker?.state)).toEqual([
      'OPEN',
      'HALF_OPEN',
      'CLOSED',
    ]);
    const stored = await query<{ state: string }>(
      a.databaseUrl,
      `select state from circuit_breakers where name = $1 and replica = 'replica-a'`,
      [breakerName()],
    );
    expect(stored[0]?.state).toBe('CLOSED');
    events.unsubscribe();
  });

  it('an admin reset closes the breaker on every replica and is audited; others may not reset', async () => {
    await stopOllama();
    for (let i = 0; i < 2; i++) await modelsOn(a);
    expect(a.app.services.ollama.circuit.snapshot().state).toBe('OPEN');
    await startOllama();

    const denied = await execute(
      a.url,
      ResetCircuitBreakerDocument,
      { name: breakerName() },
      { token: viewer.token },
    );
    expect(codes(denied)).toEqual(['FORBIDDEN']);
    const unknown = await execute(
      b.url,
      ResetCircuitBreakerDocument,
      { name: 'nope' },
      { token: admin.token },
    );
    expect(codes(unknown)).toEqual(['NOT_FOUND']);

    const reset = await execute(
      b.url,
      ResetCircuitBreakerDocument,
      { name: breakerName() },
      { token: admin.token },
    );
    expect(reset.data?.resetCircuitBreaker).toBe(true);
    await until(() => expect(a.app.services.ollama.circuit.snapshot().state).toBe('CLOSED'), 3_000);
    // The open period's timer is cancelled too: a reset breaker does not half-open by itself later.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(a.app.services.ollama.circuit.snapshot().state).toBe('CLOSED');
    expect((await modelsOn(a)).errors).toBeUndefined();
    const audit = await query<{ outcome: string }>(
      a.databaseUrl,
      `select outcome from audit_events where action = 'Mutation.resetCircuitBreaker' and resource_id = $1`,
      [breakerName()],
    );
    expect(audit.map((row) => row.outcome)).toEqual(['SUCCESS']);
  });

  it('/health/ollama reports Ollama and its breaker', async () => {
    const base = a.url.replace('/graphql', '');
    const up = await fetch(`${base}/health/ollama`);
    expect(up.status).toBe(200);
    expect(await up.json()).toMatchObject({ status: 'up', breaker: { state: 'CLOSED' } });

    const nowhere = await startTestServer({
      databaseUrl: a.databaseUrl,
      env: breakerEnv('replica-c', 'http://127.0.0.1:9'),
    });
    try {
      const down = await fetch(nowhere.url.replace('/graphql', '/health/ollama'));
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ status: 'down' });
      expect(codes(await modelsOn(nowhere))).toEqual(['SERVICE_UNAVAILABLE']);
    } finally {
      await nowhere.close();
    }
  });
});
