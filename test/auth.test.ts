import { importPKCS8, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import {
  LoginDocument,
  LogoutDocument,
  MeDocument,
  RefreshTokenDocument,
} from '../src/sdk/generated/graphql.js';
import { createActor, type Actor } from './support/actors.js';
import { codes, execute } from './support/client.js';
import { query } from './support/database.js';
import { startTestServer, testJwtKeys, type TestServer } from './support/server.js';

let server: TestServer;
let viewer: Actor;

beforeAll(async () => {
  server = await startTestServer();
  viewer = await createActor(server, Role.VIEWER, 'auth-viewer');
});
afterAll(() => server?.close());

describe('login', () => {
  it('returns a session whose access token works for `me`', async () => {
    const login = await execute(server.url, LoginDocument, {
      email: viewer.email.toUpperCase(),
      password: viewer.password,
    });
    expect(login.errors).toBeUndefined();
    expect(login.data?.login.user).toMatchObject({ email: viewer.email, role: 'VIEWER' });
    const me = await execute(server.url, MeDocument, undefined, { token: login.data!.login.accessToken });
    expect(me.data?.me.email).toBe(viewer.email);
  });

  it('refuses a wrong password and an unknown email alike', async () => {
    const wrong = await execute(server.url, LoginDocument, {
      email: viewer.email,
      password: 'not the password',
    });
    const unknown = await execute(server.url, LoginDocument, {
      email: 'nobody@example.test',
      password: 'whatever',
    });
    expect(codes(wrong)).toEqual(['UNAUTHENTICATED']);
    expect(codes(unknown)).toEqual(['UNAUTHENTICATED']);
    expect(wrong.errors?.[0]?.message).toBe(unknown.errors?.[0]?.message);
  });
});

describe('refresh token rotation', () => {
  it('rotates: the new pair works, the old refresh token is spent', async () => {
    const first = (
      await execute(server.url, LoginDocument, { email: viewer.email, password: viewer.password })
    ).data!.login;
    const second = await execute(server.url, RefreshTokenDocument, { token: first.refreshToken });
    expect(second.errors).toBeUndefined();
    expect(second.data?.refreshToken.refreshToken).not.toBe(first.refreshToken);
    const me = await execute(server.url, MeDocument, undefined, {
      token: second.data!.refreshToken.accessToken,
    });
    expect(me.data?.me.email).toBe(viewer.email);
  });

  it('reuse of a spent token revokes the whole family, including the newest token', async () => {
    const first = (
      await execute(server.url, LoginDocument, { email: viewer.email, password: viewer.password })
    ).data!.login;
    const second = (await execute(server.url, RefreshTokenDocument, { token: first.refreshToken })).data!
      .refreshToken;

    const reuse = await execute(server.url, RefreshTokenDocument, { token: first.refreshToken });
    expect(codes(reuse)).toEqual(['UNAUTHENTICATED']);
    expect(reuse.errors?.[0]?.message).toMatch(/already used/);

    const afterTheft = await execute(server.url, RefreshTokenDocument, { token: second.refreshToken });
    expect(codes(afterTheft)).toEqual(['UNAUTHENTICATED']);

    const rows = await query<{ revoked: string }>(
      server.databaseUrl,
      `select count(*) filter (where revoked_at is null) as revoked from refresh_tokens
        where family_id = (select family_id from refresh_tokens where token_hash = encode(sha256($1::bytea), 'hex'))`,
      [first.refreshToken],
    );
    expect(Number(rows[0]!.revoked)).toBe(0);
  });

  it('two concurrent refreshes with one token: exactly one wins', async () => {
    const session = (
      await execute(server.url, LoginDocument, { email: viewer.email, password: viewer.password })
    ).data!.login;
    const results = await Promise.all([
      execute(server.url, RefreshTokenDocument, { token: session.refreshToken }),
      execute(server.url, RefreshTokenDocument, { token: session.refreshToken }),
    ]);
    expect(results.filter((result) => result.data?.refreshToken).length).toBe(1);
  });

  it('refuses an unknown refresh token', async () => {
    const result = await execute(server.url, RefreshTokenDocument, { token: 'not-a-token' });
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
  });
});

describe('logout', () => {
  it('ends the sign-in: its refresh token no longer works', async () => {
    const session = (
      await execute(server.url, LoginDocument, { email: viewer.email, password: viewer.password })
    ).data!.login;
    const logout = await execute(server.url, LogoutDocument, { token: session.refreshToken });
    expect(logout.data?.logout).toBe(true);
    const refresh = await execute(server.url, RefreshTokenDocument, { token: session.refreshToken });
    expect(codes(refresh)).toEqual(['UNAUTHENTICATED']);
    const again = await execute(server.url, LogoutDocument, { token: session.refreshToken });
    expect(again.data?.logout).toBe(false);
  });
});

describe('access tokens', () => {
  it('refuses a tampered token', async () => {
    const [header, payload, signature] = viewer.token.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'ADMIN' })).toString('base64url');
    const result = await execute(server.url, MeDocument, undefined, {
      token: `${header}.${forged}.${signature}`,
    });
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
    expect(result.errors?.[0]?.message).toMatch(/invalid/i);
  });

  it('refuses alg=none', async () => {
    const [, payload] = viewer.token.split('.');
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
    const result = await execute(server.url, MeDocument, undefined, { token: `${header}.${payload}.` });
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
  });

  it('refuses an expired token, saying so', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ email: viewer.email, role: 'VIEWER' })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' })
      .setSubject(viewer.session.user.id)
      .setIssuer('parley')
      .setAudience('parley-api')
      .setIssuedAt(now - 120)
      .setExpirationTime(now - 60)
      .sign(await importPKCS8(testJwtKeys.privateKeyPem, 'EdDSA'));
    const result = await execute(server.url, MeDocument, undefined, { token: expired });
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
    expect(result.errors?.[0]?.message).toMatch(/expired/i);
  });

  it('refuses a correctly signed token for another audience', async () => {
    const now = Math.floor(Date.now() / 1000);
    const foreign = await new SignJWT({ email: viewer.email, role: 'ADMIN' })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' })
      .setSubject(viewer.session.user.id)
      .setIssuer('parley')
      .setAudience('some-other-service')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(await importPKCS8(testJwtKeys.privateKeyPem, 'EdDSA'));
    const result = await execute(server.url, MeDocument, undefined, { token: foreign });
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
  });

  it('asks anonymous callers to sign in', async () => {
    const result = await execute(server.url, MeDocument);
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
  });
});
