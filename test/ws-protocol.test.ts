import { generateKeyPairSync } from 'node:crypto';
import { print } from 'graphql';
import { CloseCode, MessageType } from 'graphql-ws';
import { importPKCS8, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import { AgentEventsDocument, CreateAgentDocument, MeDocument } from '../src/sdk/generated/graphql.js';
import { createActor, type Actor } from './support/actors.js';
import { execute } from './support/client.js';
import { query } from './support/database.js';
import { eventually } from './support/eventually.js';
import { RawWsClient } from './support/raw-ws.js';
import { startTestServer, testJwtKeys, type TestServer } from './support/server.js';

/** graphql-transport-ws over a raw socket: what the server does when a client breaks the protocol. */
let server: TestServer;
let operator: Actor;
let viewer: Actor;
const clients: RawWsClient[] = [];

const AGENT_EVENTS = print(AgentEventsDocument);
type AgentEventData = { agentEvents: { seq: number; type: string; agentId: string } };

function open(target: TestServer = server): RawWsClient {
  const client = new RawWsClient(target.wsUrl);
  clients.push(client);
  return client;
}

async function createAgent(target: TestServer, name: string, systemPrompt?: string) {
  const result = await execute(
    target.url,
    CreateAgentDocument,
    { input: { name, model: 'llama3.2:3b', systemPrompt } },
    { token: operator.token },
  );
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.createAgent;
}

async function headOfAgents(): Promise<number> {
  const rows = await query<{ last_seq: string }>(
    server.databaseUrl,
    `select last_seq from event_streams where stream = 'agents'`,
  );
  return Number(rows[0]?.last_seq ?? 0);
}

function expectContiguous(seqs: number[], from: number): void {
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, index) => from + index));
}

/** A new connection is acknowledged and its subscription streams the next change. */
async function expectServing(target: TestServer = server): Promise<void> {
  const client = open(target);
  await client.init(viewer.token);
  client.subscribe('check', AGENT_EVENTS, { afterSeq: await headOfAgents() });
  const agent = await createAgent(target, `serving-${Date.now()}-${Math.random()}`);
  const next = await client.until(() => client.nexts<AgentEventData>('check')[0], 'the event');
  expect(next.data?.agentEvents).toMatchObject({ type: 'CREATED', agentId: agent.id });
  client.dispose();
}

beforeAll(async () => {
  server = await startTestServer();
  operator = await createActor(server, Role.OPERATOR, 'wsp-operator');
  viewer = await createActor(server, Role.VIEWER, 'wsp-viewer');
});

afterAll(async () => {
  for (const client of clients) client.dispose();
  await server?.close();
});

describe('malformed messages', () => {
  it.each([
    ['text that is not JSON', 'not json'],
    ['a subscribe without id or payload', '{"type":"subscribe"}'],
    ['a subscribe with an empty id', '{"id":"","type":"subscribe","payload":{"query":"{ __typename }"}}'],
    ['a subscribe without a query', '{"id":"1","type":"subscribe","payload":{}}'],
    ['a message of an unknown type', '{"type":"hello"}'],
    ['a JSON array', '[]'],
  ])('%s closes the socket with 4400; the server keeps serving', async (_label, frame) => {
    const client = open();
    await client.init(viewer.token);
    client.send(frame);
    expect(await client.closedWithin(3_000)).toEqual({
      code: CloseCode.BadRequest,
      reason: 'Invalid message received',
    });
    await expectServing();
  });

  it('closes with 4400 when the very first frame is not JSON', async () => {
    const client = open();
    await client.opened;
    client.send('{"type":');
    expect((await client.closedWithin(3_000)).code).toBe(CloseCode.BadRequest);
    expect(client.messages).toEqual([]);
  });
});

describe('connection_init', () => {
  it('a second connection_init right behind the first closes with 4429', async () => {
    const client = open();
    await client.opened;
    const init = { type: MessageType.ConnectionInit, payload: { authorization: `Bearer ${viewer.token}` } };
    client.sendTogether([init, init]);
    expect(await client.closedWithin(3_000)).toEqual({
      code: CloseCode.TooManyInitialisationRequests,
      reason: 'Too many initialisation requests',
    });
  });

  it('a connection_init after the ack closes with 4429', async () => {
    const client = open();
    await client.init(viewer.token);
    client.send({ type: MessageType.ConnectionInit, payload: {} });
    expect((await client.closedWithin(3_000)).code).toBe(CloseCode.TooManyInitialisationRequests);
  });

  it('no connection_init within WS_CONNECTION_INIT_TIMEOUT_MS closes with 4408; one in time stays open', async () => {
    const quick = await startTestServer({
      databaseUrl: server.databaseUrl,
      env: { WS_CONNECTION_INIT_TIMEOUT_MS: '300' },
    });
    try {
      // Opened first, so its own timeout has passed by the time the idle one is closed.
      const prompt = open(quick);
      await prompt.init(viewer.token);
      const idle = open(quick);
      await idle.opened;
      expect(await idle.closedWithin(3_000)).toEqual({
        code: CloseCode.ConnectionInitialisationTimeout,
        reason: 'Connection initialisation timeout',
      });
      expect(idle.messages).toEqual([]);
      prompt.send({ type: MessageType.Ping });
      await prompt.waitFor((message) => message.type === MessageType.Pong, 'pong');
      expect(prompt.isOpen).toBe(true);
    } finally {
      await quick.close();
    }
  });
});

describe('subscribe before connection_ack', () => {
  it('without any connection_init closes with 4401 and runs nothing', async () => {
    const client = open();
    await client.opened;
    client.subscribe('early', AGENT_EVENTS);
    expect(await client.closedWithin(3_000)).toEqual({
      code: CloseCode.Unauthorized,
      reason: 'Unauthorized',
    });
    expect(client.messages).toEqual([]);
  });

  it('sent together with connection_init (before the ack could arrive) closes with 4401', async () => {
    const client = open();
    await client.opened;
    client.sendTogether([
      { type: MessageType.ConnectionInit, payload: { authorization: `Bearer ${viewer.token}` } },
      { id: 'early', type: MessageType.Subscribe, payload: { query: AGENT_EVENTS } },
    ]);
    expect((await client.closedWithin(3_000)).code).toBe(CloseCode.Unauthorized);
    expect(client.messages.filter((message) => message.id === 'early')).toEqual([]);
  });
});

describe('authentication in connection_init', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const sign = async (
    privateKeyPem: string,
    claims: { role?: string; audience?: string; expiresAt?: number; issuedAt?: number } = {},
  ) =>
    new SignJWT({ email: viewer.email, role: claims.role ?? 'VIEWER' })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' })
      .setSubject(viewer.session.user.id)
      .setIssuer('parley')
      .setAudience(claims.audience ?? 'parley-api')
      .setIssuedAt(claims.issuedAt ?? now())
      .setExpirationTime(claims.expiresAt ?? now() + 60)
      .sign(await importPKCS8(privateKeyPem, 'EdDSA'));
  const otherKey = () =>
    generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const unsigned = () => {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${part({ alg: 'none', typ: 'at+jwt' })}.${part({
      sub: viewer.session.user.id,
      email: viewer.email,
      role: 'ADMIN',
      iss: 'parley',
      aud: 'parley-api',
      iat: now(),
      exp: now() + 60,
    })}.`;
  };

  it.each([
    ['garbage', async () => 'garbage', /invalid/i],
    [
      'an expired token',
      () => sign(testJwtKeys.privateKeyPem, { issuedAt: now() - 120, expiresAt: now() - 60 }),
      /expired/i,
    ],
    [
      'a token forged with another key (claiming ADMIN)',
      () => sign(otherKey(), { role: 'ADMIN' }),
      /invalid/i,
    ],
    ['an unsigned alg:none token claiming ADMIN', async () => unsigned(), /invalid/i],
    [
      'a token for another audience',
      () => sign(testJwtKeys.privateKeyPem, { audience: 'some-other-service' }),
      /invalid/i,
    ],
  ])('%s: closes with 4401 before any ack, saying why', async (_label, token, reason) => {
    const client = open();
    await client.opened;
    client.send({ type: MessageType.ConnectionInit, payload: { authorization: `Bearer ${await token()}` } });
    const close = await client.closedWithin(3_000);
    expect(close.code).toBe(CloseCode.Unauthorized);
    expect(close.reason).toMatch(reason);
    expect(client.messages).toEqual([]);
  });
});

describe('a slow consumer (WS_MAX_BUFFERED_BYTES=1024)', () => {
  const PROMPT_LENGTH = 30_000;
  const MAX_AGENTS = 300;
  const PROMPTS = `subscription AgentPrompts($afterSeq: Int) {
    agentEvents(afterSeq: $afterSeq) { seq type agent { name systemPrompt } }
  }`;
  type PromptEvent = { agentEvents: { seq: number; agent: { name: string; systemPrompt: string } } };
  const prompt = (name: string) => `${name}: `.padEnd(PROMPT_LENGTH, 'think step by step. ');
  const seqs = (client: RawWsClient, id: string) =>
    client.nexts<PromptEvent>(id).map((next) => next.data!.agentEvents.seq);
  const untilCount = (client: RawWsClient, id: string, count: number) =>
    client.until(() => (seqs(client, id).length >= count ? true : undefined), `${count} events`, 20_000);

  let small: TestServer;
  let stalledViewer: Actor;
  const closings = (actor: Actor) =>
    small.logs.filter(
      (line) => line.msg === 'closing slow WebSocket consumer' && line.userId === actor.session.user.id,
    );

  beforeAll(async () => {
    small = await startTestServer({
      databaseUrl: server.databaseUrl,
      env: { WS_MAX_BUFFERED_BYTES: '1024' },
    });
    stalledViewer = await createActor(server, Role.VIEWER, 'wsp-stalled');
  });
  afterAll(() => small?.close());

  it('is closed with 1013 while a subscriber that keeps reading gets every event in order', async () => {
    const start = await headOfAgents();
    const reader = open(small);
    await reader.init(viewer.token);
    reader.subscribe('prompts', PROMPTS, { afterSeq: start });
    const stalled = open(small);
    await stalled.init(stalledViewer.token);
    stalled.subscribe('prompts', PROMPTS, { afterSeq: start });
    stalled.socket.pause(); // stops reading: what the server writes piles up in the kernel, then in the process

    const names: string[] = [];
    while (names.length < MAX_AGENTS && closings(stalledViewer).length === 0) {
      const name = `slow-${names.length}`;
      await createAgent(small, name, prompt(name));
      names.push(name);
    }
    await eventually(() => (closings(stalledViewer).length > 0 ? true : undefined), {
      what: `the slow consumer to be closed after ${names.length} agents of ${PROMPT_LENGTH} characters`,
    });

    stalled.socket.resume(); // the close frame is queued behind everything it has not read
    const close = await stalled.closedWithin(10_000);
    expect(close.code).toBe(1013); // ParleyCloseCode.SlowConsumer
    expect(close.reason).toMatch(/Slow consumer/);
    const received = seqs(stalled, 'prompts');
    expect(received.length).toBeLessThan(names.length);
    expectContiguous(received, start + 1); // what did arrive is a gap-free prefix, so it can resume

    await untilCount(reader, 'prompts', names.length);
    const events = reader.nexts<PromptEvent>('prompts').map((next) => next.data!.agentEvents);
    expectContiguous(
      events.map((event) => event.seq),
      start + 1,
    );
    expect(events.map((event) => event.agent.name)).toEqual(names);
    expect(events.every((event) => event.agent.systemPrompt === prompt(event.agent.name))).toBe(true);
    expect(reader.isOpen).toBe(true);
    expect(closings(viewer)).toEqual([]);

    // Doing what the close reason says: resubscribe after the last seq seen, get the rest.
    const lastSeen = received.at(-1) ?? start;
    const resumed = open(small);
    await resumed.init(stalledViewer.token);
    resumed.subscribe('resume', PROMPTS, { afterSeq: lastSeen });
    await untilCount(resumed, 'resume', start + names.length - lastSeen);
    expectContiguous(seqs(resumed, 'resume'), lastSeen + 1);
  });

  describe('resuming with a backlog of 6 MB', () => {
    const BACKLOG = 200;
    let backlogStart: number;

    beforeAll(async () => {
      backlogStart = await headOfAgents();
      for (let batch = 0; batch < BACKLOG; batch += 10) {
        await Promise.all(
          Array.from({ length: 10 }, (_, index) =>
            createAgent(server, `backlog-${batch + index}`, prompt('b')),
          ),
        );
      }
    });

    it('a subscriber that keeps reading gets all of it without being closed', async () => {
      const reader = open(small);
      await reader.init(viewer.token);
      reader.subscribe('backlog', PROMPTS, { afterSeq: backlogStart });
      await untilCount(reader, 'backlog', BACKLOG);
      expectContiguous(seqs(reader, 'backlog'), backlogStart + 1);
      expect(reader.isOpen).toBe(true);
    });

    it('a subscriber that stops reading during the replay is closed with 1013 (not left to the keepalive)', async () => {
      const closedBefore = closings(stalledViewer).length;
      const stalled = open(small);
      await stalled.init(stalledViewer.token);
      stalled.subscribe('backlog', PROMPTS, { afterSeq: backlogStart });
      stalled.socket.pause();
      // Live events keep coming while it replays.
      for (let index = 0; index < 5; index++) await createAgent(server, `during-replay-${index}`);
      // graphql-ws's keepalive would terminate it after about 24 s (ping, then no pong): well past this.
      await eventually(() => (closings(stalledViewer).length > closedBefore ? true : undefined), {
        timeoutMs: 10_000,
        what: 'the stalled replaying subscriber to be closed as a slow consumer',
      });
      stalled.socket.resume();
      const close = await stalled.closedWithin(10_000);
      expect(close.code).toBe(1013);
      expectContiguous(seqs(stalled, 'backlog'), backlogStart + 1);
    });
  });
});

describe('many subscriptions on one connection', () => {
  it('a flood of 200 subscribes each streams or is refused, and the server still answers HTTP', async () => {
    const start = await headOfAgents();
    const client = open();
    await client.init(viewer.token);
    const ids = Array.from({ length: 200 }, (_, index) => `flood-${index}`);
    for (const id of ids) client.subscribe(id, AGENT_EVENTS, { afterSeq: start });
    const agent = await createAgent(server, 'flood-target');

    const outcome = (id: string) =>
      client.messages.find(
        (message) =>
          message.id === id && (message.type === MessageType.Next || message.type === MessageType.Error),
      );
    await client.until(
      () => (ids.every(outcome) ? true : undefined),
      'an event or an error for every subscription',
      20_000,
    );
    for (const id of ids) {
      const first = outcome(id)!;
      if (first.type === MessageType.Error) {
        expect(first.payload, id).toEqual([expect.objectContaining({ message: expect.any(String) })]);
      } else {
        expect(client.nexts<AgentEventData>(id), id).toEqual([
          { data: { agentEvents: expect.objectContaining({ seq: start + 1, agentId: agent.id }) } },
        ]);
      }
    }
    expect(client.isOpen).toBe(true);

    const me = await execute(server.url, MeDocument, undefined, { token: viewer.token });
    expect(me.data?.me.email).toBe(viewer.email);
    await expectServing();
  });

  it('a subscribe reusing the id of an active subscription closes with 4409', async () => {
    const client = open();
    await client.init(viewer.token);
    client.subscribe('same', AGENT_EVENTS);
    client.subscribe('same', AGENT_EVENTS);
    expect(await client.closedWithin(3_000)).toEqual({
      code: CloseCode.SubscriberAlreadyExists,
      reason: 'Subscriber for same already exists',
    });
  });

  it('an id can be reused once the client completed it, and only the new subscription streams', async () => {
    const client = open();
    await client.init(viewer.token);
    client.subscribe('again', AGENT_EVENTS, { afterSeq: await headOfAgents() });
    const first = await createAgent(server, 'reuse-first');
    await client.until(() => client.nexts<AgentEventData>('again')[0], 'the first event');
    client.send({ id: 'again', type: MessageType.Complete });
    client.subscribe('again', AGENT_EVENTS, { afterSeq: await headOfAgents() });
    const second = await createAgent(server, 'reuse-second');
    await client.until(() => client.nexts<AgentEventData>('again')[1], 'the second event');
    await new Promise((resolve) => setTimeout(resolve, 300)); // a leftover first subscription would send it twice
    expect(client.nexts<AgentEventData>('again').map((next) => next.data?.agentEvents.agentId)).toEqual([
      first.id,
      second.id,
    ]);
    expect(client.isOpen).toBe(true);
  });
});
