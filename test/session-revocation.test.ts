import { randomBytes, randomUUID } from 'node:crypto';
import { CloseCode, MessageType } from 'graphql-ws';
import { importPKCS8, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import {
  LoginDocument,
  LogoutDocument,
  MeDocument,
  UpdateUserRoleDocument,
  type SessionFieldsFragment,
} from '../src/sdk/generated/graphql.js';
import { createActor, type Actor } from './support/actors.js';
import { codes, execute } from './support/client.js';
import { eventually } from './support/eventually.js';
import { RawWsClient } from './support/raw-ws.js';
import { startTestServer, testJwtKeys, type TestServer } from './support/server.js';

/*
 * Access tokens are stateless, so ending a sign-in or changing a role must reach every replica through the
 * event log (src/modules/auth/revocations.ts): the token is refused over HTTP and open graphql-ws
 * connections holding it close (4401 signed out or promoted, 4403 demoted, 4401 at expiry).
 */

const SIGNED_OUT = /^Access token was revoked: its sign-in ended$/;
const ROLE_CHANGED = /^Access token was revoked: your role changed; sign in again$/;

let a: TestServer;
let b: TestServer;
let admin: Actor;
const servers: TestServer[] = [];
const sockets: RawWsClient[] = [];

beforeAll(async () => {
  a = await startTestServer({ env: { REPLICA_ID: 'revocation-a' } });
  servers.push(a);
  b = await startTestServer({ databaseUrl: a.databaseUrl, env: { REPLICA_ID: 'revocation-b' } });
  servers.push(b);
  admin = await createActor(a, Role.ADMIN, 'revocation-admin');
});

afterAll(async () => {
  for (const socket of sockets) socket.dispose();
  for (const server of servers.reverse()) await server.close(); // the first owns the database
});

const unique = () => randomBytes(4).toString('hex');

interface User {
  id: string;
  email: string;
  password: string;
}

async function newUser(role: Role, name: string): Promise<User> {
  const email = `${name}-${unique()}@example.test`;
  const password = `correct horse ${name}`;
  const user = await a.app.services.users.create(a.app.orm.em.fork(), null, { email, password, role });
  return { id: user.id, email, password };
}

async function signIn(server: TestServer, user: User): Promise<SessionFieldsFragment> {
  const response = await execute(server.url, LoginDocument, { email: user.email, password: user.password });
  if (!response.data) throw new Error(`login failed: ${JSON.stringify(response.errors)}`);
  return response.data.login;
}

const me = (server: TestServer, token: string) => execute(server.url, MeDocument, undefined, { token });

/** `me` with this token is refused with UNAUTHENTICATED saying `message` (no data). */
async function expectRefused(server: TestServer, token: string, message: RegExp): Promise<void> {
  const response = await me(server, token);
  expect(codes(response)).toEqual(['UNAUTHENTICATED']);
  expect(response.errors![0].message).toMatch(message);
  expect(response.data ?? null).toBeNull();
}

/** Waits until `me` with this token is refused (revocations reach other replicas asynchronously). */
async function eventuallyRefused(server: TestServer, token: string, message: RegExp): Promise<void> {
  await eventually(async () => (codes(await me(server, token))[0] === 'UNAUTHENTICATED' ? true : undefined), {
    what: `the token to be refused on ${server.url}`,
    timeoutMs: 5_000,
  });
  await expectRefused(server, token, message);
}

async function expectWorks(server: TestServer, token: string, role?: Role): Promise<void> {
  const response = await me(server, token);
  expect(codes(response)).toEqual([]);
  if (role) expect(response.data?.me.role).toBe(role);
}

/** An acknowledged graphql-ws connection holding `token`. */
async function connect(server: TestServer, token: string): Promise<RawWsClient> {
  const client = new RawWsClient(server.wsUrl);
  sockets.push(client);
  await client.init(token);
  return client;
}

/** The connection still answers: a query over it completes with data. */
async function expectAnswers(client: RawWsClient): Promise<void> {
  const id = `q-${unique()}`;
  client.subscribe(id, '{ me { id } }');
  await client.waitFor((message) => message.id === id && message.type === MessageType.Complete, 'complete');
  expect(client.nexts<{ me: { id: string } }>(id)[0].data?.me.id).toBeTruthy();
}

describe('logout', () => {
  it('refuses that sign-in’s access token on both replicas and closes its sockets with 4401; another sign-in works', async () => {
    const user = await newUser(Role.VIEWER, 'logout');
    const first = await signIn(a, user);
    const second = await signIn(b, user);
    const onA = await connect(a, first.accessToken);
    const onB = await connect(b, first.accessToken);
    const otherOnB = await connect(b, second.accessToken);
    await expectWorks(a, first.accessToken);
    await expectWorks(b, first.accessToken);

    const logout = await execute(a.url, LogoutDocument, { token: first.refreshToken });
    expect(logout.data?.logout).toBe(true);

    // Even the replica that ended the sign-in hears of it through the event log (LISTEN/NOTIFY), so for a
    // few milliseconds after logout answers it may still accept the token: see the report (a race).
    await eventuallyRefused(a, first.accessToken, SIGNED_OUT);
    await eventuallyRefused(b, first.accessToken, SIGNED_OUT);
    for (const socket of [onA, onB]) {
      expect(await socket.closedWithin(5_000)).toEqual({
        code: CloseCode.Unauthorized,
        reason: 'Unauthorized: signed out',
      });
    }
    // A revoked token cannot open a new connection either.
    const reconnect = new RawWsClient(b.wsUrl);
    sockets.push(reconnect);
    await reconnect.opened;
    reconnect.send({
      type: MessageType.ConnectionInit,
      payload: { authorization: `Bearer ${first.accessToken}` },
    });
    expect(await reconnect.closedWithin(5_000)).toMatchObject({ code: CloseCode.Unauthorized });

    // The user's other sign-in is untouched.
    await expectWorks(a, second.accessToken);
    await expectWorks(b, second.accessToken);
    expect(otherOnB.isOpen).toBe(true);
    await expectAnswers(otherOnB);
  });
});

describe('role changes', () => {
  it('demotion closes the user’s socket with 4403 and refuses the old token; a fresh login has the new role', async () => {
    const operator = await newUser(Role.OPERATOR, 'demoted');
    const before = await signIn(a, operator);
    const socket = await connect(b, before.accessToken);
    await expectAnswers(socket);

    const demoted = await execute(
      a.url,
      UpdateUserRoleDocument,
      { id: operator.id, role: Role.VIEWER },
      { token: admin.token },
    );
    expect(demoted.data?.updateUserRole.role).toBe(Role.VIEWER);

    expect(await socket.closedWithin(5_000)).toEqual({
      code: CloseCode.Forbidden,
      reason: 'Forbidden: your role changed',
    });
    await eventuallyRefused(a, before.accessToken, ROLE_CHANGED);
    await eventuallyRefused(b, before.accessToken, ROLE_CHANGED);

    const after = await signIn(b, operator);
    expect(after.user.role).toBe(Role.VIEWER);
    await expectWorks(a, after.accessToken, Role.VIEWER);
    await expectWorks(b, after.accessToken, Role.VIEWER);
  });

  it('promotion closes the user’s socket with 4401 (sign in again for the new role)', async () => {
    const viewer = await newUser(Role.VIEWER, 'promoted');
    const before = await signIn(a, viewer);
    const socket = await connect(b, before.accessToken);

    const promoted = await execute(
      a.url,
      UpdateUserRoleDocument,
      { id: viewer.id, role: Role.ANALYST },
      { token: admin.token },
    );
    expect(promoted.data?.updateUserRole.role).toBe(Role.ANALYST);

    expect(await socket.closedWithin(5_000)).toEqual({
      code: CloseCode.Unauthorized,
      reason: 'Unauthorized: your role changed',
    });
    await eventuallyRefused(a, before.accessToken, ROLE_CHANGED);
    await eventuallyRefused(b, before.accessToken, ROLE_CHANGED);
    const after = await signIn(a, viewer);
    await expectWorks(b, after.accessToken, Role.ANALYST);
  });

  it('a token revoked by a demotion stays revoked when the role is given back', async () => {
    const operator = await newUser(Role.OPERATOR, 'aba');
    const before = await signIn(a, operator);
    const setRole = async (role: Role) =>
      expect(
        (await execute(a.url, UpdateUserRoleDocument, { id: operator.id, role }, { token: admin.token })).data
          ?.updateUserRole.role,
      ).toBe(role);
    await setRole(Role.VIEWER);
    await eventuallyRefused(a, before.accessToken, ROLE_CHANGED);
    await setRole(Role.OPERATOR);
    const fresh = await signIn(a, operator);
    await eventually(async () => (codes(await me(a, fresh.accessToken)).length === 0 ? true : undefined), {
      what: 'the re-promotion to reach this replica',
    });
    await expectRefused(a, before.accessToken, ROLE_CHANGED);
  });
});

describe('token expiry', () => {
  it('a connection opened with a token that expires in ~2 s is closed with 4401 at expiry', async () => {
    const user = await newUser(Role.VIEWER, 'expiring');
    const key = await importPKCS8(testJwtKeys.privateKeyPem, 'EdDSA');
    const iat = Math.floor(Date.now() / 1000);
    const exp = iat + 2;
    // Exactly the claims AccessTokens.sign puts in (src/modules/auth/access-tokens.ts).
    const token = await new SignJWT({ email: user.email, role: Role.VIEWER, sid: randomUUID() })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' })
      .setSubject(user.id)
      .setIssuer('parley')
      .setAudience('parley-api')
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(key);
    await expectWorks(a, token, Role.VIEWER); // genuine until it expires

    const socket = await connect(a, token);
    await expectAnswers(socket);
    const closed = await socket.closedWithin(5_000);
    const closedAt = Date.now();
    expect(closed).toEqual({ code: CloseCode.Unauthorized, reason: 'Unauthorized: token expired' });
    expect(closedAt).toBeGreaterThanOrEqual(exp * 1000 - 50); // at expiry, not before
    expect(closedAt).toBeLessThan(exp * 1000 + 1_500);
  });
});

describe('a replica started after the revocation', () => {
  it('reads earlier revocations from the event log at start and enforces them', async () => {
    const user = await newUser(Role.VIEWER, 'before-start');
    const ended = await signIn(a, user);
    const kept = await signIn(a, user);
    const operator = await newUser(Role.OPERATOR, 'before-start-op');
    const operatorBefore = await signIn(a, operator);

    expect((await execute(a.url, LogoutDocument, { token: ended.refreshToken })).data?.logout).toBe(true);
    const demoted = await execute(
      a.url,
      UpdateUserRoleDocument,
      { id: operator.id, role: Role.VIEWER },
      { token: admin.token },
    );
    expect(demoted.data?.updateUserRole.role).toBe(Role.VIEWER);

    const c = await startTestServer({ databaseUrl: a.databaseUrl, env: { REPLICA_ID: 'revocation-c' } });
    servers.push(c);
    await expectRefused(c, ended.accessToken, SIGNED_OUT);
    await expectRefused(c, operatorBefore.accessToken, ROLE_CHANGED);
    await expectWorks(c, kept.accessToken);

    const socket = new RawWsClient(c.wsUrl);
    sockets.push(socket);
    await socket.opened;
    socket.send({
      type: MessageType.ConnectionInit,
      payload: { authorization: `Bearer ${ended.accessToken}` },
    });
    expect(await socket.closedWithin(5_000)).toEqual({
      code: CloseCode.Unauthorized,
      reason: 'Access token was revoked: its sign-in ended',
    });
  });
});
