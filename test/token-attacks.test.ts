import { randomBytes } from 'node:crypto';
import { CloseCode, MessageType } from 'graphql-ws';
import { exportJWK, generateKeyPair, importPKCS8, SignJWT, type JWTPayload, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import {
  LoginDocument,
  LogoutDocument,
  MeDocument,
  RefreshTokenDocument,
  type SessionFieldsFragment,
} from '../src/sdk/generated/graphql.js';
import { createActor, type Actor } from './support/actors.js';
import { codes, execute } from './support/client.js';
import { query } from './support/database.js';
import { RawWsClient, type CloseEvent } from './support/raw-ws.js';
import { startTestServer, testJwtKeys, type TestServer } from './support/server.js';

/*
 * Negative tests for access and refresh tokens, against a real server over HTTP and over graphql-ws.
 * Every forged access token is tried both ways: over HTTP `me` must fail with UNAUTHENTICATED (and no
 * data), over graphql-ws `connection_init` must be answered by close code 4401 before any ack. Each case
 * names the message the server gives (src/modules/auth/access-tokens.ts), so a token refused for the
 * wrong reason (or an error that merely looks like a refusal) fails the test.
 */

const ISSUER = 'parley'; // JWT_ISSUER's default, as the test server uses it
const AUDIENCE = 'parley-api'; // JWT_AUDIENCE's default
const INVALID = /^Access token is invalid$/;
const EXPIRED = /^Access token expired: refresh it$/;
const MALFORMED = /^Access token is malformed$/;
const SIGN_IN = /^Authentication required/;

let server: TestServer;
let viewer: Actor;
let serverKey: CryptoKey;

beforeAll(async () => {
  server = await startTestServer();
  viewer = await createActor(server, Role.VIEWER, 'token-attacks-viewer');
  serverKey = await importPKCS8(testJwtKeys.privateKeyPem, 'EdDSA');
});
afterAll(() => server?.close());

const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: object | string) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** The claims a genuine access token of the viewer carries, claiming ADMIN (what an attacker wants). */
function claims(overrides: JWTPayload = {}): JWTPayload {
  return {
    sub: viewer.session.user.id,
    email: viewer.email,
    role: 'ADMIN',
    iss: ISSUER,
    aud: AUDIENCE,
    iat: now(),
    exp: now() + 300,
    ...overrides,
  };
}

/** Drops the claims given as undefined (to leave one out). */
const defined = (payload: JWTPayload): JWTPayload =>
  Object.fromEntries(Object.entries(payload).filter(([, value]) => value !== undefined));

async function sign(
  payload: JWTPayload,
  {
    key = serverKey,
    header = { alg: 'EdDSA', typ: 'at+jwt' },
  }: { key?: CryptoKey | Uint8Array; header?: Record<string, unknown> } = {},
): Promise<string> {
  return new SignJWT(defined(payload)).setProtectedHeader(header as { alg: string }).sign(key);
}

/** Replaces the payload of a genuine token, keeping its header and signature. */
function tamper(
  token: string,
  change: (payload: Record<string, unknown>) => Record<string, unknown>,
): string {
  const [header, payload, signature] = token.split('.');
  const decoded = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
  return `${header}.${b64url(change(decoded))}.${signature}`;
}

const attackerEd25519 = () => generateKeyPair('EdDSA', { extractable: true });
const secret = (text: string) => new TextEncoder().encode(text);

interface TokenCase {
  name: string;
  token: () => Promise<string>;
  /** The UNAUTHENTICATED message the server must give for it. */
  message: RegExp;
}

const cases: TokenCase[] = [
  {
    name: 'alg "none" (unsigned, empty signature) claiming ADMIN',
    token: async () => `${b64url({ alg: 'none', typ: 'at+jwt' })}.${b64url(claims())}.`,
    message: INVALID,
  },
  {
    name: 'alg "NONE" with a made-up signature',
    token: async () => `${b64url({ alg: 'NONE', typ: 'at+jwt' })}.${b64url(claims())}.${b64url('sig')}`,
    message: INVALID,
  },
  {
    name: 'HS256 signed with the server’s public key PEM as the HMAC secret (HS/RS confusion)',
    token: () =>
      sign(claims(), { key: secret(testJwtKeys.publicKeyPem), header: { alg: 'HS256', typ: 'at+jwt' } }),
    message: INVALID,
  },
  {
    name: 'HS512 signed with the server’s public key PEM, trimmed (HS/RS confusion)',
    token: () =>
      sign(claims(), {
        key: secret(testJwtKeys.publicKeyPem.trim()),
        header: { alg: 'HS512', typ: 'at+jwt' },
      }),
    message: INVALID,
  },
  {
    name: 'HS256 signed with a guessed secret ("secret")',
    token: () => sign(claims(), { key: secret('secret'), header: { alg: 'HS256', typ: 'at+jwt' } }),
    message: INVALID,
  },
  {
    name: 'EdDSA signed with another Ed25519 key',
    token: async () => sign(claims(), { key: (await attackerEd25519()).privateKey }),
    message: INVALID,
  },
  {
    name: 'EdDSA signed with another key that the header embeds as `jwk`',
    token: async () => {
      const { privateKey, publicKey } = await attackerEd25519();
      return sign(claims(), {
        key: privateKey,
        header: { alg: 'EdDSA', typ: 'at+jwt', jwk: await exportJWK(publicKey) },
      });
    },
    message: INVALID,
  },
  {
    name: 'ES256 signed with an attacker’s P-256 key',
    token: async () =>
      sign(claims(), {
        key: (await generateKeyPair('ES256')).privateKey,
        header: { alg: 'ES256', typ: 'at+jwt' },
      }),
    message: INVALID,
  },
  {
    name: 'expired (a minute ago, beyond the 5 s clock tolerance)',
    token: () => sign(claims({ role: 'VIEWER', iat: now() - 960, exp: now() - 60 })),
    message: EXPIRED,
  },
  {
    name: 'not yet valid: `nbf` an hour from now',
    token: () => sign(claims({ role: 'VIEWER', nbf: now() + 3600 })),
    message: INVALID,
  },
  {
    name: 'not yet valid: issued (`iat`) an hour from now, expiring 15 minutes after that',
    token: () => sign(claims({ role: 'VIEWER', iat: now() + 3600, exp: now() + 3600 + 900 })),
    message: INVALID,
  },
  {
    name: 'no `exp` (a token that never expires)',
    token: () => sign(claims({ role: 'VIEWER', exp: undefined })),
    message: INVALID,
  },
  {
    name: 'no `iat`',
    token: () => sign(claims({ role: 'VIEWER', iat: undefined })),
    message: INVALID,
  },
  {
    name: 'no `sub`',
    token: () => sign(claims({ role: 'VIEWER', sub: undefined })),
    message: INVALID,
  },
  {
    name: 'wrong `iss`',
    token: () => sign(claims({ role: 'VIEWER', iss: 'https://evil.example' })),
    message: INVALID,
  },
  {
    name: 'wrong `aud` (a token for another service)',
    token: () => sign(claims({ role: 'VIEWER', aud: 'some-other-service' })),
    message: INVALID,
  },
  {
    name: 'wrong `typ` ("JWT" instead of "at+jwt": an ID token or other JWT replayed as an access token)',
    token: () => sign(claims({ role: 'VIEWER' }), { header: { alg: 'EdDSA', typ: 'JWT' } }),
    message: INVALID,
  },
  {
    name: 'no `typ` header',
    token: () => sign(claims({ role: 'VIEWER' }), { header: { alg: 'EdDSA' } }),
    message: INVALID,
  },
  {
    name: 'tampered payload: role changed to ADMIN, signature kept',
    token: async () => tamper(viewer.token, (payload) => ({ ...payload, role: 'ADMIN' })),
    message: INVALID,
  },
  {
    name: 'tampered payload: `exp` pushed a year ahead, signature kept',
    token: async () => tamper(viewer.token, (payload) => ({ ...payload, exp: now() + 365 * 86_400 })),
    message: INVALID,
  },
  {
    name: 'signature stripped from a genuine token',
    token: async () => `${viewer.token.split('.').slice(0, 2).join('.')}.`,
    message: INVALID,
  },
  {
    name: 'correctly signed but with a role that does not exist ("SUPERUSER")',
    token: () => sign(claims({ role: 'SUPERUSER' })),
    message: MALFORMED,
  },
  {
    name: 'correctly signed but without an email claim',
    token: () => sign(claims({ role: 'VIEWER', email: undefined })),
    message: MALFORMED,
  },
  { name: 'garbage', token: async () => 'garbage', message: INVALID },
  { name: 'three dots of garbage', token: async () => 'a.b.c', message: INVALID },
  {
    name: 'random base64url in the shape of a JWT',
    token: async () => [24, 96, 64].map((size) => randomBytes(size).toString('base64url')).join('.'),
    message: INVALID,
  },
  {
    name: 'a refresh token presented as an access token',
    token: async () => viewer.session.refreshToken,
    message: INVALID,
  },
];

/** Opens a raw graphql-ws socket, sends `connection_init` with `payload`, and reports how it ended. */
async function initWs(payload: Record<string, unknown>): Promise<{ close: CloseEvent; messages: string[] }> {
  const client = new RawWsClient(server.wsUrl);
  try {
    await client.opened;
    client.send({ type: MessageType.ConnectionInit, payload });
    const close = await client.closedWithin(5_000);
    return { close, messages: client.messages.map((message) => message.type) };
  } finally {
    client.dispose();
  }
}

/** Runs `me` over an acknowledged graphql-ws socket and returns its first result. */
async function meOverWs(payload: Record<string, unknown>) {
  const client = new RawWsClient(server.wsUrl);
  try {
    await client.opened;
    client.send({ type: MessageType.ConnectionInit, payload });
    await client.waitFor((message) => message.type === MessageType.ConnectionAck, 'connection_ack');
    client.subscribe('me', '{ me { id email role } }');
    const next = await client.waitFor(
      (message) =>
        message.id === 'me' && (message.type === MessageType.Next || message.type === MessageType.Error),
      'a result for `me`',
    );
    return { next, open: client.isOpen };
  } finally {
    client.dispose();
  }
}

describe('controls: the genuine token works on both transports', () => {
  it('over HTTP', async () => {
    const me = await execute(server.url, MeDocument, undefined, { token: viewer.token });
    expect(me.errors).toBeUndefined();
    expect(me.data?.me).toMatchObject({ id: viewer.session.user.id, role: 'VIEWER' });
  });

  it('over graphql-ws', async () => {
    const { next } = await meOverWs({ authorization: `Bearer ${viewer.token}` });
    expect(next.payload).toEqual({
      data: { me: { id: viewer.session.user.id, email: viewer.email, role: 'VIEWER' } },
    });
  });
});

describe.each(cases)('$name', ({ token, message }) => {
  it('HTTP: `me` is refused with UNAUTHENTICATED, saying why', async () => {
    const result = await execute(server.url, MeDocument, undefined, { token: await token() });
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
    expect(result.errors?.[0]?.message).toMatch(message);
    expect(result.data ?? null).toBeNull();
  });

  it('graphql-ws: connection_init is answered by close 4401, before any ack', async () => {
    const { close, messages } = await initWs({ authorization: `Bearer ${await token()}` });
    expect(close.code).toBe(CloseCode.Unauthorized);
    expect(close.reason).toMatch(message);
    expect(messages).toEqual([]);
  });
});

describe('empty and odd Authorization values', () => {
  it.each([
    ['"Bearer" with no token', () => 'Bearer'],
    ['"Bearer" and spaces', () => 'Bearer    '],
    ['a Basic credential', () => `Basic ${b64url('admin:admin')}`],
    ['a genuine token followed by more', () => `Bearer ${viewer.token} extra`],
  ])('HTTP: %s is an invalid token, not an anonymous call', async (_label, header) => {
    const result = await execute(server.url, MeDocument, undefined, { headers: { authorization: header() } });
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
    expect(result.errors?.[0]?.message).toMatch(INVALID);
    expect(result.data ?? null).toBeNull();
  });

  it('HTTP: an empty Authorization header is an anonymous call, asked to sign in', async () => {
    const result = await execute(server.url, MeDocument, undefined, { headers: { authorization: '' } });
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
    expect(result.errors?.[0]?.message).toMatch(SIGN_IN);
    expect(result.data ?? null).toBeNull();
  });

  it.each([
    ['"Bearer " with no token', 'Bearer '],
    ['a Basic credential', `Basic ${b64url('admin:admin')}`],
    ['garbage in the `token` parameter', 'garbage'],
  ])('graphql-ws: %s closes with 4401', async (_label, value) => {
    const payload = value === 'garbage' ? { token: value } : { authorization: value };
    const { close, messages } = await initWs(payload);
    expect(close.code).toBe(CloseCode.Unauthorized);
    expect(close.reason).toMatch(INVALID);
    expect(messages).toEqual([]);
  });

  it.each([
    ['an empty authorization', { authorization: '' }],
    ['no authorization at all', {}],
    ['an authorization that is not a string', { authorization: { bearer: 'x' } }],
  ])(
    'graphql-ws: %s is an anonymous connection whose `me` is refused with UNAUTHENTICATED',
    async (_label, payload) => {
      const { next, open } = await meOverWs(payload);
      const result = next.payload as {
        data?: unknown;
        errors?: { message: string; extensions?: { code?: string } }[];
      };
      expect(result.errors?.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
      expect(result.errors?.[0]?.message).toMatch(SIGN_IN);
      expect(result.data ?? null).toBeNull();
      expect(open).toBe(true); // documented: an anonymous socket stays open; each operation is refused
    },
  );
});

describe('refresh tokens', () => {
  const login = async (): Promise<SessionFieldsFragment> => {
    const result = await execute(server.url, LoginDocument, {
      email: viewer.email,
      password: viewer.password,
    });
    if (!result.data) throw new Error(JSON.stringify(result.errors));
    return result.data.login;
  };
  const refresh = (token: string) => execute(server.url, RefreshTokenDocument, { token });

  it('replayed after rotation: refused, and its whole family (the rotated token too) is revoked', async () => {
    const first = await login();
    const bystander = await login(); // another sign-in of the same user: another family
    const rotated = await refresh(first.refreshToken);
    expect(rotated.errors).toBeUndefined();
    const second = rotated.data!.refreshToken;

    const replay = await refresh(first.refreshToken);
    expect(codes(replay)).toEqual(['UNAUTHENTICATED']);
    expect(replay.errors?.[0]?.message).toMatch(/already used: every session of its sign-in was revoked/);
    expect(replay.data ?? null).toBeNull();

    // The token the rotation issued, never used, is dead too: whoever holds it (thief or owner) is out.
    const successor = await refresh(second.refreshToken);
    expect(codes(successor)).toEqual(['UNAUTHENTICATED']);
    expect(successor.errors?.[0]?.message).toMatch(/already used|revoked/);
    expect(successor.data ?? null).toBeNull();

    const family = await query<{ active: string }>(
      server.databaseUrl,
      `select count(*) filter (where revoked_at is null) as active from refresh_tokens
        where family_id = (select family_id from refresh_tokens where token_hash = encode(sha256($1::bytea), 'hex'))`,
      [second.refreshToken],
    );
    expect(Number(family[0]!.active)).toBe(0);

    // Only that family: the user's other sign-in still refreshes.
    const other = await refresh(bystander.refreshToken);
    expect(other.errors).toBeUndefined();
    expect(other.data?.refreshToken.user.id).toBe(viewer.session.user.id);
  });

  it('logout revokes the refresh token: refreshing with it afterwards is refused', async () => {
    const session = await login();
    const logout = await execute(server.url, LogoutDocument, { token: session.refreshToken });
    expect(logout.errors).toBeUndefined();
    expect(logout.data?.logout).toBe(true);
    const after = await refresh(session.refreshToken);
    expect(codes(after)).toEqual(['UNAUTHENTICATED']);
    expect(after.errors?.[0]?.message).toMatch(/already used|revoked/);
    expect(after.data ?? null).toBeNull();
  });

  it('logout after a rotation ends the sign-in: the current refresh token is refused', async () => {
    const session = await login();
    const rotated = (await refresh(session.refreshToken)).data!.refreshToken;
    expect((await execute(server.url, LogoutDocument, { token: rotated.refreshToken })).data?.logout).toBe(
      true,
    );
    const after = await refresh(rotated.refreshToken);
    expect(codes(after)).toEqual(['UNAUTHENTICATED']);
    expect(after.data ?? null).toBeNull();
  });

  it('an expired refresh token is refused, saying so', async () => {
    const session = await login();
    await query(
      server.databaseUrl,
      `update refresh_tokens set expires_at = now() - interval '1 second'
        where token_hash = encode(sha256($1::bytea), 'hex')`,
      [session.refreshToken],
    );
    const result = await refresh(session.refreshToken);
    expect(codes(result)).toEqual(['UNAUTHENTICATED']);
    expect(result.errors?.[0]?.message).toMatch(/expired: sign in again/);
  });

  it.each([
    ['an access token', () => viewer.token, 'UNAUTHENTICATED', /^Refresh token is invalid$/],
    ['garbage', () => 'garbage', 'UNAUTHENTICATED', /^Refresh token is invalid$/],
    ['an empty string', () => '', 'BAD_USER_INPUT', /token/],
  ])('%s presented as a refresh token is refused', async (_label, token, code, message) => {
    const result = await refresh(token());
    expect(codes(result)).toEqual([code]);
    expect(result.errors?.[0]?.message).toMatch(message);
    expect(result.data ?? null).toBeNull();
  });
});
