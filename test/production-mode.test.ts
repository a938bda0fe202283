import { Writable } from 'node:stream';
import { getIntrospectionQuery, GraphQLError, type GraphQLFormattedError } from 'graphql';
import { MessageType } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErrorFormatter } from '../src/graphql/error-formatting.js';
import { Role } from '../src/modules/users/role.js';
import { createLogger } from '../src/observability/logger.js';
import { createActor, type Actor } from './support/actors.js';
import { query as sql } from './support/database.js';
import { RawWsClient } from './support/raw-ws.js';
import { startTestServer, type LogRecord, type TestServer } from './support/server.js';

/**
 * What changes with NODE_ENV=production: introspection and the Sandbox landing page off unless enabled,
 * HSTS, CORS with no origin unless listed, errors masked. And what holds everywhere: security headers,
 * Apollo's CSRF prevention, the body size limit.
 */

const DASHBOARD = 'https://dash.example.test';
const STRANGER = 'https://evil.example.test';
const BODY_LIMIT = 4096;
const API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

let dev: TestServer; // NODE_ENV=development, no CORS list
let prod: TestServer; // NODE_ENV=production, no CORS list, small body limit
let prodOptIn: TestServer; // production with introspection, Sandbox and a CORS list turned on
let operator: Actor;
const sockets: RawWsClient[] = [];

beforeAll(async () => {
  dev = await startTestServer({ env: { NODE_ENV: 'development' } });
  operator = await createActor(dev, Role.OPERATOR, 'prod-operator');
  prod = await startTestServer({
    databaseUrl: dev.databaseUrl,
    env: { NODE_ENV: 'production', BODY_LIMIT_BYTES: String(BODY_LIMIT) },
  });
  prodOptIn = await startTestServer({
    databaseUrl: dev.databaseUrl,
    env: {
      NODE_ENV: 'production',
      GRAPHQL_INTROSPECTION: 'true',
      GRAPHQL_LANDING_PAGE: 'true',
      CORS_ORIGINS: DASHBOARD,
    },
  });
});

afterAll(async () => {
  for (const socket of sockets) socket.dispose();
  await prodOptIn?.close();
  await prod?.close();
  await dev?.close();
});

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  data?: unknown;
  errors?: GraphQLFormattedError[];
}

async function send(url: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(url, init);
  const text = await response.text();
  let body: { data?: unknown; errors?: GraphQLFormattedError[] } = {};
  if (response.headers.get('content-type')?.includes('json')) body = JSON.parse(text) as typeof body;
  return { data: body.data, errors: body.errors, status: response.status, headers: response.headers, text };
}

function postJson(
  target: TestServer,
  body: unknown,
  { token = operator.token, headers = {} }: { token?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return send(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const html = (target: TestServer) => send(target.url, { headers: { accept: 'text/html' } });
const health = (target: TestServer) => send(target.url.replace(/\/graphql$/, '/health'));

async function openWs(target: TestServer): Promise<RawWsClient> {
  const client = new RawWsClient(target.wsUrl);
  sockets.push(client);
  await client.init(operator.token);
  return client;
}

let operationSeq = 0;
async function overWs(client: RawWsClient, query: string, variables?: Record<string, unknown>) {
  const id = `op-${++operationSeq}`;
  client.subscribe(id, query, variables);
  const end = await client.waitFor(
    (message) =>
      message.id === id && (message.type === MessageType.Error || message.type === MessageType.Complete),
    `the end of ${id}`,
  );
  return {
    errors: end.type === MessageType.Error ? (end.payload as GraphQLFormattedError[]) : undefined,
    nexts: client.nexts(id),
  };
}

describe('introspection', () => {
  it('is refused in production over HTTP (400 GRAPHQL_VALIDATION_FAILED); __typename still works', async () => {
    for (const query of [getIntrospectionQuery(), '{ __type(name: "Agent") { name fields { name } } }']) {
      const reply = await postJson(prod, { query });
      expect(reply.status).toBe(400);
      expect(reply.data).toBeUndefined();
      expect(reply.errors?.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      expect(reply.errors![0]!.message).toMatch(/introspection is not allowed/);
    }
    const typename = await postJson(prod, { query: '{ __typename }' });
    expect(typename.data).toEqual({ __typename: 'Query' });
  });

  it('GRAPHQL_INTROSPECTION=true turns it back on in production', async () => {
    const reply = await postJson(prodOptIn, { query: getIntrospectionQuery() });
    expect(reply.errors).toBeUndefined();
    expect((reply.data as { __schema: { queryType: { name: string } } }).__schema.queryType.name).toBe(
      'Query',
    );
  });

  it('is on in development', async () => {
    const reply = await postJson(dev, { query: getIntrospectionQuery() });
    expect(reply.status).toBe(200);
    expect(reply.errors).toBeUndefined();
  });

  it('is refused in production over graphql-ws too', async () => {
    const client = await openWs(prod);
    const result = await overWs(client, getIntrospectionQuery());
    expect(result.nexts).toEqual([]);
    expect(result.errors?.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
  });

  // HARDENING (src/app.ts:147-150): with introspection off, validation errors still suggest field names
  // ("Did you mean "agent" or "agents"?"), which lets a client map the schema field by field. Apollo
  // Server 5 hides them with `hideSchemaDetailsFromClientErrors: true`.
  it('in production, validation errors do not suggest field names', async () => {
    const reply = await postJson(prod, { query: '{ agentz { id } }' });
    expect(reply.status).toBe(400);
    expect(reply.errors![0]!.message).not.toMatch(/Did you mean/);
  });
});

describe('the Sandbox landing page', () => {
  const isSandbox = (reply: Reply) =>
    reply.status === 200 &&
    Boolean(reply.headers.get('content-type')?.startsWith('text/html')) &&
    reply.text.includes('embeddable-sandbox.cdn.apollographql.com');

  it('is not served in production', async () => {
    const reply = await html(prod);
    expect(isSandbox(reply)).toBe(false);
    expect(reply.headers.get('content-type')).not.toMatch(/html/);
    expect(reply.text).not.toMatch(/<html|sandbox/i);
  });

  it('is served in development, under a policy that allows the Sandbox and still forbids framing', async () => {
    const reply = await html(dev);
    expect(isSandbox(reply)).toBe(true);
    const policy = reply.headers.get('content-security-policy')!;
    expect(policy).toMatch(/script-src [^;]*https:\/\/embeddable-sandbox\.cdn\.apollographql\.com/);
    expect(policy).toContain("frame-ancestors 'none'");
    expect(reply.headers.get('x-frame-options')).toBe('DENY');
  });

  it('GRAPHQL_LANDING_PAGE=true serves it in production', async () => {
    expect(isSandbox(await html(prodOptIn))).toBe(true);
  });
});

describe('security headers', () => {
  const expectApiHeaders = (reply: Reply, production: boolean) => {
    expect(reply.headers.get('content-security-policy')).toBe(API_POLICY);
    expect(reply.headers.get('x-frame-options')).toBe('DENY');
    expect(reply.headers.get('x-content-type-options')).toBe('nosniff');
    expect(reply.headers.get('referrer-policy')).toBe('no-referrer');
    if (production) {
      expect(reply.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    } else {
      expect(reply.headers.get('strict-transport-security')).toBeNull();
    }
    expect(reply.headers.get('x-powered-by')).toBeNull();
  };

  it('production: on /graphql (served, refused, too large, GET html), /health and /health/ready, with HSTS', async () => {
    const replies = {
      served: await postJson(prod, { query: '{ __typename }' }),
      refused: await postJson(prod, { query: '{ nope }' }),
      tooLarge: await postJson(prod, { query: `{ __typename } #${'x'.repeat(BODY_LIMIT)}` }),
      getHtml: await html(prod),
      health: await health(prod),
      ready: await send(prod.url.replace(/\/graphql$/, '/health/ready')),
    };
    expect(Object.values(replies).map((reply) => reply.status)).toEqual([200, 400, 413, 400, 200, 200]);
    for (const reply of Object.values(replies)) expectApiHeaders(reply, true);
  });

  it('development: the same, without HSTS', async () => {
    expectApiHeaders(await postJson(dev, { query: '{ __typename }' }), false);
    expectApiHeaders(await health(dev), false);
    // The Sandbox page has its own policy (above); everything else stays on the API one.
    const landing = await html(dev);
    expect(landing.headers.get('strict-transport-security')).toBeNull();
    expect(landing.headers.get('x-content-type-options')).toBe('nosniff');
    expect(landing.headers.get('referrer-policy')).toBe('no-referrer');
  });
});

describe('CORS', () => {
  const fromOrigin = (target: TestServer, origin: string) =>
    postJson(target, { query: '{ __typename }' }, { headers: { origin } });
  const preflight = (target: TestServer, origin: string) =>
    send(target.url, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });

  it('CORS_ORIGINS=https://dash.example.test: that origin is echoed, on requests and preflights', async () => {
    const reply = await fromOrigin(prodOptIn, DASHBOARD);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('access-control-allow-origin')).toBe(DASHBOARD);
    expect(reply.headers.get('vary')).toMatch(/Origin/);
    expect(reply.headers.get('access-control-expose-headers')).toMatch(/x-correlation-id/);
    expect(reply.headers.get('access-control-allow-credentials')).toBeNull();

    const pre = await preflight(prodOptIn, DASHBOARD);
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(DASHBOARD);
    expect(pre.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const allowed = pre.headers.get('access-control-allow-headers')!.split(/,\s*/);
    expect(allowed).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'apollo-require-preflight']),
    );
  });

  it('CORS_ORIGINS=https://dash.example.test: another origin is not allowed', async () => {
    expect((await fromOrigin(prodOptIn, STRANGER)).headers.get('access-control-allow-origin')).toBeNull();
    const pre = await preflight(prodOptIn, STRANGER);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect(pre.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('production with no list: no origin is allowed', async () => {
    for (const origin of [DASHBOARD, STRANGER, 'http://localhost:3000']) {
      expect((await fromOrigin(prod, origin)).headers.get('access-control-allow-origin')).toBeNull();
      expect((await preflight(prod, origin)).headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('development with no list: any origin is allowed (Sandbox, local dashboards)', async () => {
    expect((await fromOrigin(dev, STRANGER)).headers.get('access-control-allow-origin')).toBe(STRANGER);
  });
});

describe("Apollo's CSRF prevention (production)", () => {
  const typename = encodeURIComponent('{ __typename }');
  const csrf = /Cross-Site Request Forgery/;

  it('a GET query without a preflight header is refused with 400; with apollo-require-preflight it works', async () => {
    const bare = await send(`${prod.url}?query=${typename}`);
    expect(bare.status).toBe(400);
    expect(bare.data).toBeUndefined();
    expect(bare.errors![0]!.message).toMatch(csrf);

    const preflighted = await send(`${prod.url}?query=${typename}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(preflighted.status).toBe(200);
    expect(preflighted.data).toEqual({ __typename: 'Query' });
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])(
    'a POST as %s is refused with 400 and runs nothing',
    async (contentType) => {
      const name = `csrf-${contentType.split(/[/;]/)[1]}`;
      const reply = await send(prod.url, {
        method: 'POST',
        headers: { 'content-type': contentType, authorization: `Bearer ${operator.token}` },
        body: JSON.stringify({
          query: 'mutation Create($input: CreateAgentInput!) { createAgent(input: $input) { id } }',
          variables: { input: { name, model: 'llama3.2:3b' } },
        }),
      });
      expect(reply.status).toBe(400);
      expect(reply.errors![0]!.message).toMatch(csrf);
      const rows = await sql(dev.databaseUrl, 'select 1 from agents where name = $1', [name]);
      expect(rows).toEqual([]);
    },
  );

  it('a normal JSON POST works', async () => {
    const reply = await postJson(prod, { query: '{ me { email } }' });
    expect(reply.status).toBe(200);
    expect(reply.data).toEqual({ me: { email: operator.email } });
  });
});

describe('error masking', () => {
  /**
   * An unexpected failure inside the database, provoked for real: a trigger in this file's database
   * refuses agents named `explode-…` with a message full of what must never reach a client (SQL, a file
   * path). Everything else about the request is valid.
   */
  beforeAll(async () => {
    await sql(
      dev.databaseUrl,
      `create or replace function parley_test_explode() returns trigger language plpgsql as $$
       begin
         if new.name like 'explode-%' then
           raise exception 'select password_hash from users where id = 1 (at /work/parley/src/secret.ts:42)';
         end if;
         return new;
       end $$`,
    );
    await sql(
      dev.databaseUrl,
      'create trigger parley_test_explode before insert on agents for each row execute function parley_test_explode()',
    );
  });
  const createExploding = (name: string) => ({
    query: 'mutation Create($input: CreateAgentInput!) { createAgent(input: $input) { id } }',
    variables: { input: { name: `explode-${name}`, model: 'llama3.2:3b' } },
  });
  const leaks =
    /select|insert|update |jsonb|unicode|DriverException|stack|node_modules|\/work\/|\.[jt]s:\d+/i;
  const unexpected = (target: TestServer, correlationId?: string): LogRecord | undefined =>
    target.logs.find(
      (line) =>
        line.msg === 'unexpected error in GraphQL operation' &&
        (correlationId === undefined || line.correlationId === correlationId),
    );

  it('production, HTTP: "Internal server error", INTERNAL_SERVER_ERROR, no stack, SQL or file path; logged whole', async () => {
    const reply = await postJson(prod, createExploding('masked-http'));
    expect(reply.status).toBe(200);
    expect(reply.data).toBeNull();
    expect(reply.errors).toEqual([
      {
        message: 'Internal server error',
        locations: [expect.any(Object)],
        path: ['createAgent'],
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      },
    ]);
    expect(reply.text).not.toMatch(leaks);

    const logged = unexpected(prod, reply.headers.get('x-correlation-id')!);
    expect(logged, 'the error is logged with the request correlation id').toBeDefined();
    const err = logged!.err as { message: string; stack: string };
    expect(err.message).toMatch(/insert into/i);
    expect(err.stack).toBeTruthy();
    expect(await sql(dev.databaseUrl, 'select 1 from agents where name = $1', ['masked-http'])).toEqual([]);
  });

  it('production, graphql-ws: masked the same way', async () => {
    const client = await openWs(prod);
    const result = await overWs(
      client,
      createExploding('masked-ws').query,
      createExploding('masked-ws').variables,
    );
    expect(result.errors).toBeUndefined();
    expect(result.nexts).toHaveLength(1);
    expect(result.nexts[0]!.errors).toEqual([
      {
        message: 'Internal server error',
        locations: [expect.any(Object)],
        path: ['createAgent'],
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      },
    ]);
    expect(JSON.stringify(result.nexts)).not.toMatch(leaks);
  });

  it('development: the message is shown (for the developer), still without a stack trace', async () => {
    const reply = await postJson(dev, createExploding('unmasked-dev'));
    expect(reply.errors).toHaveLength(1);
    expect(reply.errors![0]!.message).toMatch(/^Internal server error: ./);
    expect(reply.errors![0]!.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
  });

  it('domain errors are not masked in production (BAD_USER_INPUT naming the field)', async () => {
    const reply = await postJson(prod, { query: '{ agent(id: "not-a-uuid") { id } }' });
    expect(reply.errors?.[0]?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      fields: [{ field: 'id', message: 'must be a UUID' }],
    });
  });

  describe('the formatter itself (createErrorFormatter)', () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({
      level: 'error',
      stream: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
          done();
        },
      }),
    });
    /** A raw error thrown by a resolver, as graphql-js hands it over (located, with a path). */
    const resolverError = () => {
      const raw = new Error(
        'insert into "agents" ("name") values ($1) - duplicate key value violates unique constraint ' +
          '"agents_pkey" at /srv/parley/src/modules/agents/agents.service.ts:42:7',
      );
      const error = new GraphQLError(raw.message, { path: ['createAgent'], originalError: raw });
      // Apollo has already set a code and, if asked to, a stack trace.
      const formatted: GraphQLFormattedError = {
        ...error.toJSON(),
        extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: raw.stack!.split('\n') },
      };
      return { raw, error, formatted };
    };

    it('production (development: false): only "Internal server error" and the code', () => {
      const { raw, error, formatted } = resolverError();
      const masked = createErrorFormatter({ development: false, log })(formatted, error);
      expect(masked).toEqual({
        message: 'Internal server error',
        locations: undefined,
        path: ['createAgent'],
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      expect(JSON.stringify(masked)).not.toMatch(/insert|agents_pkey|\/srv\/|stacktrace/);
      // Logged whole, for the operator.
      expect(lines.at(-1)).toMatchObject({
        msg: 'unexpected error in GraphQL operation',
        err: { message: raw.message, stack: expect.stringContaining('Error: insert into') },
      });
    });

    it('development: the message, but never the stack trace', () => {
      const { raw, error, formatted } = resolverError();
      const shown = createErrorFormatter({ development: true, log })(formatted, error);
      expect(shown.message).toBe(`Internal server error: ${raw.message}`);
      expect(shown.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    });
  });

  // NUL characters (U+0000) cannot be stored by PostgreSQL: refused at the door, naming where they were.
  it('a NUL character in a text input is BAD_USER_INPUT', async () => {
    const reply = await postJson(prod, {
      query: 'mutation Create($input: CreateAgentInput!) { createAgent(input: $input) { id } }',
      variables: {
        input: { name: 'nul-validation', description: 'nul \u0000 inside', model: 'llama3.2:3b' },
      },
    });
    expect(reply.status).toBe(400);
    expect(reply.errors?.[0]?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      fields: [{ field: 'variables.input.description', message: 'must not contain NUL characters (U+0000)' }],
    });
    expect(await sql(dev.databaseUrl, 'select 1 from agents where name = $1', ['nul-validation'])).toEqual(
      [],
    );
  });

  it('a NUL character in a filter is BAD_USER_INPUT, not SERVICE_UNAVAILABLE', async () => {
    const reply = await postJson(prod, {
      query: 'query Find($name: String) { agents(filter: { nameContains: $name }) { totalCount } }',
      variables: { name: 'a\u0000' },
    });
    expect(reply.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('request body size limit (BODY_LIMIT_BYTES=4096)', () => {
  /** A JSON body of exactly `bytes` bytes (ASCII) holding a valid query. */
  const bodyOf = (bytes: number) => {
    const empty = JSON.stringify({ query: '{ __typename }\n#' });
    const body = JSON.stringify({ query: `{ __typename }\n#${'x'.repeat(bytes - empty.length)}` });
    expect(Buffer.byteLength(body)).toBe(bytes);
    return body;
  };

  it('a body one byte over is refused with 413 BAD_USER_INPUT naming the limit', async () => {
    const reply = await postJson(prod, bodyOf(BODY_LIMIT + 1));
    expect(reply.status).toBe(413);
    expect(reply.errors).toEqual([
      {
        message: `Request body is larger than the limit of ${BODY_LIMIT} bytes`,
        extensions: { code: 'BAD_USER_INPUT' },
      },
    ]);
  });

  it('a body at the limit is served', async () => {
    const reply = await postJson(prod, bodyOf(BODY_LIMIT));
    expect(reply.status).toBe(200);
    expect(reply.data).toEqual({ __typename: 'Query' });
  });
});
