import { randomBytes } from 'node:crypto';
import type { GraphQLFormattedError } from 'graphql';
import { MessageType } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import {
  AuditEventsDocument,
  CircuitBreakersDocument,
  LoginDocument,
  MeDocument,
  RefreshTokenDocument,
  type SessionFieldsFragment,
} from '../src/sdk/generated/graphql.js';
import { codes, execute, type GraphQLResponse } from './support/client.js';
import { query } from './support/database.js';
import { eventually } from './support/eventually.js';
import { RawWsClient } from './support/raw-ws.js';
import { redisAvailable, redisSkipReason, startRedis, type PrivateRedis } from './support/redis.js';
import { startTestServer, type TestServer } from './support/server.js';

/*
 * Rate limits (DESIGN.md, Security): token buckets per role tier (anonymous callers by address) over HTTP
 * (429 + Retry-After) and graphql-ws (an `error` for that operation), sign-in limited per account and
 * per address, refresh per address; hits audited at most once per caller and limit per minute. Counters
 * are per process in memory, shared by replicas through Redis, and fall back to per-replica counting while
 * Redis is away.
 */

const servers: TestServer[] = [];
const sockets: RawWsClient[] = [];

afterAll(async () => {
  for (const socket of sockets) socket.dispose();
  // Second instances first: the first owns the database.
  for (const server of servers.reverse()) await server.close();
});

async function start(env: Record<string, string>, databaseUrl?: string): Promise<TestServer> {
  const server = await startTestServer({ databaseUrl, env });
  servers.push(server);
  return server;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const unique = () => randomBytes(4).toString('hex');

let addressSeq = 0;
/** A documentation address (RFC 5737) no other test uses, to act as another client behind the proxy. */
const freshAddress = () => {
  addressSeq += 1;
  return `198.51.${100 + Math.floor(addressSeq / 250)}.${(addressSeq % 250) + 1}`;
};
const from = (address: string, extra: Record<string, string> = {}) => ({
  headers: { 'x-forwarded-for': address, ...extra },
});

interface SignedIn {
  id: string;
  email: string;
  password: string;
  token: string;
  session: SessionFieldsFragment;
}

/** A new user of `role`, signed in over HTTP from an address of its own (so no test's budget is touched). */
async function signIn(server: TestServer, role: Role, name: string): Promise<SignedIn> {
  const email = `${name}-${unique()}@example.test`;
  const password = `correct horse ${name}`;
  const user = await server.app.services.users.create(server.app.orm.em.fork(), null, {
    email,
    password,
    role,
  });
  const response = await execute(server.url, LoginDocument, { email, password }, from(freshAddress()));
  const session = response.data?.login;
  if (!session) throw new Error(`login for ${email} failed: ${JSON.stringify(response.errors)}`);
  return { id: user.id, email, password, token: session.accessToken, session };
}

const me = (server: TestServer, token: string | undefined, headers: Record<string, string> = {}) =>
  execute(server.url, MeDocument, undefined, { token, headers });

/** The RATE_LIMITED error of a refused response, checked for shape; returns its retryAfter. */
function expectRateLimited(response: { errors?: readonly GraphQLFormattedError[] }): number {
  expect(codes(response)).toEqual(['RATE_LIMITED']);
  const retryAfter = response.errors![0].extensions?.retryAfter;
  expect(typeof retryAfter).toBe('number');
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  return retryAfter as number;
}

/** An HTTP 429 as callerGuard sends it: Retry-After header equal to `extensions.retryAfter`. */
function expect429(response: GraphQLResponse<unknown>): number {
  expect(response.status).toBe(429);
  expect(response.data ?? undefined).toBeUndefined();
  const retryAfter = expectRateLimited(response);
  expect(response.headers.get('retry-after')).toBe(String(retryAfter));
  return retryAfter;
}

const statuses = (responses: GraphQLResponse<unknown>[]) => responses.map((response) => response.status);

/** Sequential calls (quick ones: the buckets below refill at ≤ 1 per second). */
async function calls<T>(n: number, call: () => Promise<GraphQLResponse<T>>): Promise<GraphQLResponse<T>[]> {
  const responses: GraphQLResponse<T>[] = [];
  for (let i = 0; i < n; i++) responses.push(await call());
  return responses;
}

describe('operations per role tier, counted in this process (no REDIS_URL)', () => {
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    const env = {
      REPLICA_ID: 'memory-a',
      TRUST_PROXY: 'true',
      RATE_LIMIT_ANONYMOUS: '1,2',
      RATE_LIMIT_VIEWER: '1,3',
      RATE_LIMIT_ADMIN: '1,10',
    };
    a = await start(env);
    // A second replica on the same database, without TRUST_PROXY (X-Forwarded-For is not believed).
    b = await start({ ...env, REPLICA_ID: 'memory-b', TRUST_PROXY: 'false' }, a.databaseUrl);
  });

  it('VIEWER "1,3": three quick queries pass, the 4th gets 429 with Retry-After; after it, calls pass again', async () => {
    const viewer = await signIn(a, Role.VIEWER, 'tier-viewer');
    const passed = await calls(3, () => me(a, viewer.token));
    expect(statuses(passed)).toEqual([200, 200, 200]);
    expect(passed.map((response) => response.data?.me.id)).toEqual([viewer.id, viewer.id, viewer.id]);

    const refused = await me(a, viewer.token);
    const retryAfter = expect429(refused);
    expect(retryAfter).toBe(1); // one token short at one token per second
    expect(refused.errors![0].message).toMatch(/VIEWER tier allows 1 operations per second with bursts of 3/);

    await sleep(retryAfter * 1000);
    const again = await me(a, viewer.token);
    expect(again.status).toBe(200);
    expect(again.data?.me.id).toBe(viewer.id);
  });

  it('ANONYMOUS "1,2" is counted per address (behind a trusted proxy): one address is limited, another is not', async () => {
    const limited = freshAddress();
    const other = freshAddress();
    const first = await calls(2, () => me(a, undefined, from(limited).headers));
    expect(statuses(first)).toEqual([200, 200]);
    expect(codes(first[0])).toEqual(['UNAUTHENTICATED']); // answered (asked to sign in), not limited
    expect429(await me(a, undefined, from(limited).headers));
    const elsewhere = await me(a, undefined, from(other).headers);
    expect(elsewhere.status).toBe(200);
    expect(codes(elsewhere)).toEqual(['UNAUTHENTICATED']);
  });

  it('without TRUST_PROXY, X-Forwarded-For is ignored: changing it does not buy a new anonymous budget', async () => {
    const responses = await calls(3, () => me(b, undefined, from(freshAddress()).headers));
    expect(statuses(responses)).toEqual([200, 200, 429]);
  });

  it('tiers differ by role: ADMIN ("1,10") still passes where VIEWER ("1,3") is refused', async () => {
    const [viewer, admin] = await Promise.all([
      signIn(a, Role.VIEWER, 'tier-viewer2'),
      signIn(a, Role.ADMIN, 'tier-admin'),
    ]);
    const viewerCalls = await calls(4, () => me(a, viewer.token));
    const adminCalls = await calls(6, () => me(a, admin.token));
    expect(statuses(viewerCalls)).toEqual([200, 200, 200, 429]);
    expect(statuses(adminCalls)).toEqual([200, 200, 200, 200, 200, 200]);
  });

  let wsHit: { correlationId: string; row: { correlation_id: string | null } } | undefined;
  const wsHitAudited = async (actorId: string) =>
    (
      await eventually(async () => {
        const rows = await query<{ outcome: string; correlation_id: string | null; details: object }>(
          a.databaseUrl,
          `select outcome, correlation_id, details from audit_events where action = 'RateLimited' and actor_id = $1`,
          [actorId],
        );
        return rows.length ? rows : undefined;
      })
    )[0];

  it('graphql-ws: subscribe messages beyond the budget get an error for that id; the socket stays open', async () => {
    const viewer = await signIn(a, Role.VIEWER, 'tier-ws');
    const client = new RawWsClient(a.wsUrl);
    sockets.push(client);
    const correlationId = `rl-ws-${unique()}`;
    await client.opened;
    // connection_init is not an operation: it does not spend from the budget.
    client.send({
      type: MessageType.ConnectionInit,
      payload: { authorization: `Bearer ${viewer.token}`, correlationId },
    });
    await client.waitFor((message) => message.type === MessageType.ConnectionAck, 'connection_ack');
    const ended = (id: string) =>
      client.waitFor(
        (message) =>
          message.id === id && (message.type === MessageType.Complete || message.type === MessageType.Error),
        `the end of operation ${id}`,
      );
    for (const id of ['1', '2', '3']) {
      client.subscribe(id, '{ me { id } }');
      expect((await ended(id)).type).toBe(MessageType.Complete);
      expect(client.nexts<{ me: { id: string } }>(id)[0].data?.me.id).toBe(viewer.id);
    }

    client.subscribe('4', '{ me { id } }');
    const refused = await ended('4');
    expect(refused.type).toBe(MessageType.Error);
    const retryAfter = expectRateLimited({ errors: refused.payload as GraphQLFormattedError[] });
    expect(client.nexts('4')).toEqual([]);
    expect(client.isOpen).toBe(true);
    // Audited like an HTTP hit.
    const audited = await wsHitAudited(viewer.id);
    expect(audited).toMatchObject({ outcome: 'DENIED', details: { limit: 'operations:VIEWER' } });
    wsHit = { correlationId, row: audited };

    await sleep(retryAfter * 1000);
    client.subscribe('5', '{ me { id } }');
    expect((await ended('5')).type).toBe(MessageType.Complete);
    expect(client.nexts<{ me: { id: string } }>('5')[0].data?.me.id).toBe(viewer.id);
    expect(client.isOpen).toBe(true);
  });

  it('graphql-ws: the audit row of a hit carries the connection’s correlation id', () => {
    expect(wsHit).toBeDefined();
    expect(wsHit!.row.correlation_id).toBe(wsHit!.correlationId);
  });

  it('hits are audited (RateLimited, DENIED, with the correlation id), at most once per caller and limit per minute', async () => {
    const [viewer, admin] = await Promise.all([
      signIn(a, Role.VIEWER, 'tier-audited'),
      signIn(a, Role.ADMIN, 'tier-auditor'),
    ]);
    await calls(3, () => me(a, viewer.token));
    const correlationIds = ['rl-audit-1', 'rl-audit-2', 'rl-audit-3'].map((id) => `${id}-${unique()}`);
    for (const correlationId of correlationIds) {
      const refused = await me(a, viewer.token, { 'x-correlation-id': correlationId });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('x-correlation-id')).toBe(correlationId);
    }

    const rowsOf = () =>
      query<{ correlation_id: string; outcome: string; details: Record<string, unknown> }>(
        a.databaseUrl,
        `select correlation_id, outcome, details from audit_events where action = 'RateLimited' and actor_id = $1`,
        [viewer.id],
      );
    await eventually(async () => ((await rowsOf()).length > 0 ? true : undefined), {
      what: 'the RateLimited audit event',
    });
    await sleep(300); // a second row (there must be none) would have landed by now
    const rows = await rowsOf();
    expect(rows).toHaveLength(1);
    expect(rows[0].details).toMatchObject({ limit: 'operations:VIEWER' });

    // As an admin reads it.
    const audited = await execute(
      a.url,
      AuditEventsDocument,
      { action: 'RateLimited', actorId: viewer.id, first: 10 },
      { token: admin.token },
    );
    expect(audited.data?.auditEvents.nodes).toHaveLength(1);
    expect(audited.data?.auditEvents.nodes[0]).toMatchObject({
      actorId: viewer.id,
      actorRole: Role.VIEWER,
      outcome: 'DENIED',
      correlationId: correlationIds[0],
    });
  });

  it('two replicas without Redis count alone: 2 calls on A + 1 on B spend nobody’s budget of 3', async () => {
    const viewer = await signIn(a, Role.VIEWER, 'tier-two-alone');
    const spent = [await me(a, viewer.token), await me(a, viewer.token), await me(b, viewer.token)];
    expect(statuses(spent)).toEqual([200, 200, 200]);
    // Shared counters would refuse both of these; per-process ones have budget left on each replica.
    expect((await me(a, viewer.token)).status).toBe(200);
    expect((await me(b, viewer.token)).status).toBe(200);
  });
});

describe('sign-in and refresh limits (graphql-rate-limit shield rules)', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await start({
      TRUST_PROXY: 'true',
      LOGIN_LIMIT_PER_ACCOUNT: '3,60',
      LOGIN_LIMIT_PER_ADDRESS: '3,60',
      REFRESH_LIMIT_PER_ADDRESS: '2,60',
    });
  });

  const login = (email: string, password: string, address: string, extra: Record<string, string> = {}) =>
    execute(server.url, LoginDocument, { email, password }, from(address, extra));

  async function newUser(name: string) {
    const email = `${name}-${unique()}@example.test`;
    const password = `correct horse ${name}`;
    const user = await server.app.services.users.create(server.app.orm.em.fork(), null, {
      email,
      password,
      role: Role.VIEWER,
    });
    return { id: user.id, email, password };
  }

  it('per account ("3,60"): the 4th attempt is refused whatever the address and email case; another account signs in', async () => {
    const alice = await newUser('alice');
    const bob = await newUser('bob');
    const attempts = [
      await login(alice.email.toUpperCase(), 'wrong password!', freshAddress()),
      await login(alice.email, alice.password, freshAddress()),
      await login(` ${alice.email.replace('alice', 'ALICE')} `, 'wrong again!!', freshAddress()),
    ];
    expect(attempts.map(codes)).toEqual([['UNAUTHENTICATED'], [], ['UNAUTHENTICATED']]);

    const correlationId = `rl-login-${unique()}`;
    const refused = await login(alice.email, alice.password, freshAddress(), {
      'x-correlation-id': correlationId,
    });
    expect(refused.status).toBe(200); // a field limit: a GraphQL error, not a 429
    expect(refused.data ?? null).toBeNull();
    const retryAfter = expectRateLimited(refused);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.errors![0].message).toMatch(/at most 3 per 60 s/);

    const other = await login(bob.email, bob.password, freshAddress());
    expect(codes(other)).toEqual([]);
    expect(other.data?.login.user.id).toBe(bob.id);

    const [row] = await eventually(async () => {
      const rows = await query<{
        outcome: string;
        actor_id: string | null;
        details: Record<string, unknown>;
      }>(
        server.databaseUrl,
        `select outcome, actor_id, details from audit_events where action = 'RateLimited' and correlation_id = $1`,
        [correlationId],
      );
      return rows.length ? rows : undefined;
    });
    expect(row).toMatchObject({ outcome: 'DENIED', actor_id: null, details: { limit: 'loginPerAccount' } });
  });

  it('per address ("3,60"): the 4th sign-in from one address is refused, even for valid credentials; other addresses sign in', async () => {
    const carol = await newUser('carol');
    const address = freshAddress();
    const guesses = await calls(3, () => login(`nobody-${unique()}@example.test`, 'guess guess!', address));
    expect(guesses.map(codes)).toEqual([['UNAUTHENTICATED'], ['UNAUTHENTICATED'], ['UNAUTHENTICATED']]);
    const refused = await login(carol.email, carol.password, address);
    expect(refused.data ?? null).toBeNull();
    expectRateLimited(refused);
    expect(refused.errors![0].message).toMatch(/sign-in attempts from your address/);
    const elsewhere = await login(carol.email, carol.password, freshAddress());
    expect(elsewhere.data?.login.user.id).toBe(carol.id);
  });

  it('refresh per address ("2,60"): the 3rd refresh from one address is refused and does not spend the token', async () => {
    const dave = await newUser('dave');
    const signedIn = await login(dave.email, dave.password, freshAddress());
    let token = signedIn.data!.login.refreshToken;
    const address = freshAddress();
    for (let i = 0; i < 2; i++) {
      const refreshed = await execute(server.url, RefreshTokenDocument, { token }, from(address));
      expect(codes(refreshed)).toEqual([]);
      token = refreshed.data!.refreshToken.refreshToken;
    }
    const refused = await execute(server.url, RefreshTokenDocument, { token }, from(address));
    expect(refused.data ?? null).toBeNull();
    expectRateLimited(refused);
    expect(refused.errors![0].message).toMatch(/token refreshes from your address: at most 2 per 60 s/);
    // Refused before the resolver ran: the same token still works from elsewhere.
    const elsewhere = await execute(server.url, RefreshTokenDocument, { token }, from(freshAddress()));
    expect(codes(elsewhere)).toEqual([]);
    expect(elsewhere.data?.refreshToken.user.id).toBe(dave.id);
  });
});

describe.skipIf(!redisAvailable)(
  `shared through Redis${redisSkipReason ? ` (${redisSkipReason})` : ''}`,
  () => {
    const TIMEOUT_MS = 200;
    const OPEN_MS = 300;
    let redis: PrivateRedis;
    let a: TestServer;
    let b: TestServer;
    let admin: SignedIn;

    beforeAll(async () => {
      redis = await startRedis();
      const env = {
        REDIS_URL: redis.url,
        REDIS_TIMEOUT_MS: String(TIMEOUT_MS),
        REDIS_BREAKER_OPEN_MS: String(OPEN_MS),
        RATE_LIMIT_VIEWER: '0.5,3',
        RATE_LIMIT_ADMIN: '1000,1000',
      };
      a = await start({ ...env, REPLICA_ID: 'redis-a' });
      b = await start({ ...env, REPLICA_ID: 'redis-b' }, a.databaseUrl);
      admin = await signIn(a, Role.ADMIN, 'redis-admin');
    });
    afterAll(() => redis?.dispose());

    /** The `redis` breaker of a replica, as an admin reads it. */
    async function redisBreaker(server: TestServer) {
      const response = await execute(server.url, CircuitBreakersDocument, undefined, { token: admin.token });
      expect(response.status).toBe(200);
      return response.data?.circuitBreakers.find(
        (breaker) => breaker.name === 'redis' && breaker.replica === (server === a ? 'redis-a' : 'redis-b'),
      );
    }

    /** A fresh viewer spends 2 calls on A and 1 on B (a budget of 3), then calls once more on each. */
    async function spendAcross(): Promise<{ spent: number[]; after: number[]; durations: number[] }> {
      const viewer = await signIn(a, Role.VIEWER, 'redis-viewer');
      const durations: number[] = [];
      const timed = async (server: TestServer) => {
        const started = performance.now();
        const response = await me(server, viewer.token);
        durations.push(performance.now() - started);
        return response.status;
      };
      const spent = [await timed(a), await timed(a), await timed(b)];
      const after = [await timed(a), await timed(b)];
      return { spent, after, durations };
    }

    it('a budget of 3 spent as 2 calls on A and 1 on B: the next call on either replica is refused', async () => {
      const { spent, after } = await spendAcross();
      expect(spent).toEqual([200, 200, 200]);
      expect(after).toEqual([429, 429]);
    });

    it('Redis frozen: every call is answered within REDIS_TIMEOUT_MS (plus slack), limits per replica, breaker opens', async () => {
      redis.freeze();
      try {
        const { spent, after, durations } = await spendAcross();
        expect([...spent, ...after].every((status) => status < 500)).toBe(true);
        expect(after).toEqual([200, 200]); // each replica counts alone now
        expect(Math.max(...durations)).toBeLessThan(TIMEOUT_MS + 300);
        await eventually(async () => ((await redisBreaker(a))?.state === 'OPEN' ? true : undefined), {
          timeoutMs: 5_000,
          what: "replica A's redis breaker to open",
        });
      } finally {
        redis.thaw();
      }
      // Thawed: back to shared counting once the breakers close again.
      await eventually(
        async () => {
          const { after } = await spendAcross();
          return after[0] === 429 && after[1] === 429 ? true : undefined;
        },
        { timeoutMs: 10_000, intervalMs: OPEN_MS, what: 'counters shared again after the thaw' },
      );
    });

    it('Redis down: calls still answered (per replica, no 5xx, no hang), breaker opens; restarted: shared again', async () => {
      await redis.stop();
      const { spent, after, durations } = await spendAcross();
      expect(spent).toEqual([200, 200, 200]);
      expect(after).toEqual([200, 200]);
      expect(Math.max(...durations)).toBeLessThan(TIMEOUT_MS + 300);
      for (const server of [a, b]) {
        await eventually(async () => ((await redisBreaker(server))?.state === 'OPEN' ? true : undefined), {
          timeoutMs: 5_000,
          what: 'the redis breaker to open',
        });
      }

      await redis.restart();
      await eventually(
        async () => {
          const { after } = await spendAcross();
          return after[0] === 429 && after[1] === 429 ? true : undefined;
        },
        { timeoutMs: 15_000, intervalMs: OPEN_MS, what: 'counters shared again after the restart' },
      );
      expect((await redisBreaker(a))?.state).toBe('CLOSED');
      expect((await redisBreaker(b))?.state).toBe('CLOSED');
    });
  },
);
