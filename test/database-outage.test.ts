import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import { AgentsDocument } from '../src/sdk/generated/graphql.js';
import { createActor, type Actor } from './support/actors.js';
import { codes, execute } from './support/client.js';
import { createTestDatabase, dropTestDatabase, query } from './support/database.js';
import { eventually } from './support/eventually.js';
import { startTestServer, type TestServer } from './support/server.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

// The app reaches Postgres through a relay the test can cut: the database "goes away" and comes back
// while the app keeps running.
let databaseUrl: string;
let proxy: TcpProxy;
let server: TestServer;
let viewer: Actor;
let baseUrl: string;

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  const direct = new URL(databaseUrl);
  proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port) });
  const relayed = new URL(databaseUrl);
  relayed.port = String(proxy.port);
  server = await startTestServer({
    databaseUrl: relayed.toString(),
    env: {
      JOB_POLL_MS: '100',
      DB_TIMEOUT_MS: '1000',
      DB_BREAKER_MIN_CALLS: '3',
      DB_BREAKER_OPEN_MS: '1000',
    },
  });
  baseUrl = server.url.replace(/\/graphql$/, '');
  viewer = await createActor(server, Role.VIEWER, 'outage-viewer');
});

afterAll(async () => {
  proxy?.restore();
  await server?.close();
  await proxy?.close();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
});

async function databaseHealth() {
  const response = await fetch(`${baseUrl}/health/database`);
  return { status: response.status, body: (await response.json()) as { breaker: { state: string } } };
}

describe('the database going away and coming back', () => {
  it('opens the postgres breaker, answers 503 SERVICE_UNAVAILABLE at once, and recovers by itself', async () => {
    const before = await execute(server.url, AgentsDocument, { first: 1 }, { token: viewer.token });
    expect(before.data?.agents).toBeDefined();

    proxy.cut();
    // The job poller's failing claims open the breaker; nobody has to send a request for that.
    const down = await eventually(
      async () => {
        const health = await databaseHealth();
        return health.body.breaker.state === 'OPEN' ? health : undefined;
      },
      { timeoutMs: 10_000, what: 'the postgres breaker to open' },
    );
    expect(down.status).toBe(503);

    const refused = await execute(server.url, AgentsDocument, { first: 1 }, { token: viewer.token });
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(codes(refused)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(refused.errors![0]!.extensions).toMatchObject({ circuit: 'postgres' });

    proxy.restore();
    await eventually(
      async () => {
        const health = await databaseHealth();
        return health.status === 200 && health.body.breaker.state === 'CLOSED' ? true : undefined;
      },
      { timeoutMs: 15_000, what: 'the postgres breaker to close again' },
    );
    const after = await execute(server.url, AgentsDocument, { first: 1 }, { token: viewer.token });
    expect(after.errors).toBeUndefined();
    await eventually(
      async () => {
        const ready = await fetch(`${baseUrl}/health/ready`);
        return ready.status === 200 ? true : undefined;
      },
      { timeoutMs: 15_000, what: 'readiness (the LISTEN connection back)' },
    );

    // The transitions that happened while the database was away were stored once it was back, in order.
    const states = await eventually(
      async () => {
        const rows = await query<{ state: string }>(
          databaseUrl,
          `select payload->'snapshot'->>'state' as state from events
            where stream = 'breakers' and entity_id = 'postgres' order by seq`,
        );
        const seen = rows.map((row) => row.state);
        return seen.at(-1) === 'CLOSED' ? seen : undefined;
      },
      { timeoutMs: 5_000, what: 'the stored transitions' },
    );
    expect(states).toEqual(['OPEN', 'HALF_OPEN', 'CLOSED']);
  });

  it('a query that fails on a lost connection is SERVICE_UNAVAILABLE, not an internal error', async () => {
    // Cut and ask at once: the breaker has not opened yet, the query itself meets the dead connection.
    proxy.cut();
    try {
      const failed = await execute(server.url, AgentsDocument, { first: 1 }, { token: viewer.token });
      expect(codes(failed)).toEqual(['SERVICE_UNAVAILABLE']);
    } finally {
      proxy.restore();
    }
    await eventually(
      async () => {
        const health = await databaseHealth();
        return health.status === 200 && health.body.breaker.state === 'CLOSED' ? true : undefined;
      },
      { timeoutMs: 15_000, what: 'recovery' },
    );
  });
});
