import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLY_JOB } from '../src/modules/conversations/conversations.service.js';
import { Role } from '../src/modules/users/role.js';
import {
  CircuitBreakerChangedDocument,
  ConversationEventsDocument,
  CreateAgentDocument,
  SendMessageDocument,
  StartConversationDocument,
  type ConversationEventsSubscription,
} from '../src/sdk/generated/graphql.js';
import { createActor, type Actor } from './support/actors.js';
import { execute } from './support/client.js';
import { createTestDatabase, dropTestDatabase, query } from './support/database.js';
import { eventually } from './support/eventually.js';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.js';
import { startTestServer, type TestServer } from './support/server.js';
import { connectWs, subscribe, type Subscription, type WsClient } from './support/ws.js';

/**
 * Durable reply jobs: they wait out an open Ollama breaker without failing or hammering Ollama, and a
 * replica that dies mid-reply has its job finished by another one once the lease runs out.
 */
type ConversationEvent = ConversationEventsSubscription['conversationEvents'];
type ConversationEvents = Subscription<ConversationEventsSubscription>;

interface JobRow {
  status: string;
  attempts: number;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  last_error: string | null;
  user_message_id: string;
}

const sockets: WsClient[] = [];

async function replyJobs(databaseUrl: string): Promise<JobRow[]> {
  return query<JobRow>(
    databaseUrl,
    `select status, attempts, lease_owner, lease_expires_at, last_error, payload->>'userMessageId' as user_message_id
       from jobs where kind = $1 order by created_at`,
    [REPLY_JOB],
  );
}

async function assistantMessages(databaseUrl: string, conversationId: string) {
  return query<{ reply_to: string; status: string; content: string }>(
    databaseUrl,
    `select reply_to, status, content from messages where conversation_id = $1 and role = 'ASSISTANT'`,
    [conversationId],
  );
}

async function createAgent(server: TestServer, owner: Actor, name: string): Promise<string> {
  const result = await execute(
    server.url,
    CreateAgentDocument,
    { input: { name, model: 'llama3.2:3b' } },
    { token: owner.token },
  );
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.createAgent.id;
}

async function startConversation(server: TestServer, owner: Actor, agentId: string): Promise<string> {
  const result = await execute(
    server.url,
    StartConversationDocument,
    { agentId, title: 'jobs' },
    { token: owner.token },
  );
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.startConversation.id;
}

async function send(server: TestServer, owner: Actor, conversationId: string, content: string) {
  const result = await execute(
    server.url,
    SendMessageDocument,
    { conversationId, content },
    { token: owner.token },
  );
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.sendMessage.id;
}

function watch(server: TestServer, owner: Actor, conversationId: string): ConversationEvents {
  const ws = connectWs(server.wsUrl, owner.token);
  sockets.push(ws);
  return subscribe(ws, ConversationEventsDocument, { conversationId, afterSeq: 0 });
}

const eventsOf = (events: ConversationEvents, type: string): ConversationEvent[] =>
  events.received.map((event) => event.conversationEvents).filter((event) => event.type === type);

const chatRequests = (fake: FakeOllama) => fake.requests.filter((request) => request.path === '/api/chat');

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
});

describe('while the Ollama breaker is open', () => {
  let fake: FakeOllama;
  let server: TestServer;
  let operator: Actor;
  let agentId: string;

  beforeAll(async () => {
    fake = await startFakeOllama({ tokenDelayMs: 5, replyTokens: 8 });
    server = await startTestServer({
      env: {
        REPLICA_ID: 'waiting-replica',
        OLLAMA_HOST: fake.url,
        OLLAMA_RETRIES: '0',
        OLLAMA_TIMEOUT_MS: '5000',
        OLLAMA_BREAKER_WINDOW: '4',
        OLLAMA_BREAKER_MIN_CALLS: '2',
        OLLAMA_BREAKER_FAILURE_RATE: '50',
        OLLAMA_BREAKER_OPEN_MS: '4000',
        OLLAMA_BREAKER_HALF_OPEN_CALLS: '1',
        JOB_POLL_MS: '200',
      },
    });
    operator = await createActor(server, Role.OPERATOR, 'jobs-waiting-operator');
    agentId = await createAgent(server, operator, 'patient');
  });

  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it('replies wait without failing or calling Ollama, then complete once by themselves after it closes', async () => {
    const breakerWs = connectWs(server.wsUrl, operator.token);
    sockets.push(breakerWs);
    const breakerEvents = subscribe(breakerWs, CircuitBreakerChangedDocument, { afterSeq: 0 });
    const transitions = () =>
      breakerEvents.received
        .map((event) => event.circuitBreakerChanged)
        .filter((event) => event.name === `ollama:${fake.url}` && event.type === 'STATE_CHANGED');

    const conversationId = await startConversation(server, operator, agentId);
    const events = watch(server, operator, conversationId);
    const startedAt = Date.now();

    // Ollama fails: the first two replies' calls trip the breaker (window of 4, minimum 2 calls, 50 %).
    fake.setBehaviour({ status: 500 });
    const sent = [
      await send(server, operator, conversationId, 'first question'),
      await send(server, operator, conversationId, 'second question'),
    ];
    await eventually(() => transitions().find((event) => event.breaker?.state === 'OPEN'), {
      timeoutMs: 10_000,
      what: 'the breaker to open',
    });

    // A reply asked for while it is open, and Ollama healthy again: the breaker decides, not Ollama.
    sent.push(await send(server, operator, conversationId, 'third question'));
    fake.setBehaviour({ status: undefined });

    // Every job was claimed while the breaker was open and put back to wait, none of them counted or failed.
    const waiting = await eventually(
      async () => {
        const jobs = await replyJobs(server.databaseUrl);
        const parked = jobs.filter(
          (job) => job.status === 'QUEUED' && /circuit is open/.test(job.last_error ?? ''),
        );
        return parked.length === 3 ? jobs : undefined;
      },
      { timeoutMs: 10_000, what: 'all three jobs to wait for the breaker' },
    );
    expect(waiting.map((job) => job.user_message_id).sort()).toEqual([...sent].sort());
    // The two that met Ollama's 500s before the breaker opened used an attempt each (a failure on a closed
    // breaker is retried with backoff); refusals by the open breaker used none.
    expect(waiting.map((job) => job.attempts).sort()).toEqual([0, 1, 1]);
    expect(eventsOf(events, 'REPLY_FAILED')).toEqual([]);
    expect(
      (await assistantMessages(server.databaseUrl, conversationId)).filter(
        (message) => message.status === 'FAILED',
      ),
    ).toEqual([]);

    // Nothing nudges them: once the breaker half-opens, a probe succeeds, it closes and the replies run.
    const completed = await eventually(
      () => {
        const done = eventsOf(events, 'REPLY_COMPLETED');
        return done.length >= 3 ? done : undefined;
      },
      { timeoutMs: 20_000, what: 'three completed replies' },
    );
    const finishedAt = Date.now();
    expect(completed.map((event) => event.replyTo).sort()).toEqual([...sent].sort());
    expect(completed.map((event) => event.message?.status)).toEqual(['COMPLETE', 'COMPLETE', 'COMPLETE']);
    expect(eventsOf(events, 'REPLY_FAILED')).toEqual([]);

    const stored = await assistantMessages(server.databaseUrl, conversationId);
    expect(stored.map((message) => message.reply_to).sort()).toEqual([...sent].sort());
    expect(stored.every((message) => message.status === 'COMPLETE' && message.content.length > 0)).toBe(true);
    // The waits for the open breaker counted no attempt: only the two real failures did.
    const jobs = await replyJobs(server.databaseUrl);
    expect(jobs.map((job) => `${job.status}:${job.attempts}`).sort()).toEqual([
      'SUCCEEDED:1',
      'SUCCEEDED:2',
      'SUCCEEDED:2',
    ]);

    await eventually(() => (transitions().at(-1)?.breaker?.state === 'CLOSED' ? true : undefined), {
      what: 'the CLOSED transition event',
    });
    const states = transitions().map((event) => event.breaker!.state);
    expect(states[0]).toBe('OPEN');
    expect(states.slice(-2)).toEqual(['HALF_OPEN', 'CLOSED']);

    // No spinning: no request reached Ollama while the breaker was open…
    const history = transitions();
    for (const [i, event] of history.entries()) {
      if (event.breaker!.state !== 'OPEN') continue;
      const from = new Date(event.breaker!.lastTransitionAt).getTime();
      const to = new Date(history[i + 1]!.breaker!.lastTransitionAt).getTime();
      const during = chatRequests(fake).filter(
        (request) => request.receivedAt.getTime() > from && request.receivedAt.getTime() < to,
      );
      expect(during).toEqual([]);
    }
    // …and each job was looked at about once a second at most, not in a loop.
    const seconds = Math.ceil((finishedAt - startedAt) / 1000);
    const waits = server.logs.filter((record) => record.msg === 'job waits for a dependency');
    const perJob = new Map<string, number>();
    for (const record of waits) perJob.set(String(record.jobId), (perJob.get(String(record.jobId)) ?? 0) + 1);
    expect(perJob.size).toBe(3);
    for (const count of perJob.values()) expect(count).toBeLessThanOrEqual(seconds + 2);
    // Still one completion per reply, seconds later.
    expect(eventsOf(events, 'REPLY_COMPLETED')).toHaveLength(3);
    breakerEvents.unsubscribe();
    events.unsubscribe();
  });
});

describe('a replica killed in the middle of a reply', () => {
  let fake: FakeOllama;
  let databaseUrl: string;
  const replicas: Record<string, TestServer> = {};
  let operator: Actor;
  let agentId: string;
  const REPLY_TOKENS = 30;

  const replicaEnv = (replica: string) => ({
    REPLICA_ID: replica,
    OLLAMA_HOST: fake.url,
    JOB_LEASE_MS: '3000',
    JOB_POLL_MS: '200',
  });

  beforeAll(async () => {
    // ~3 s per reply, so the first one is surely still streaming when its replica dies.
    fake = await startFakeOllama({ tokenDelayMs: 100, replyTokens: REPLY_TOKENS });
    // The database is ours, not a replica's: closing either replica must not drop it.
    databaseUrl = await createTestDatabase();
    for (const replica of ['replica-a', 'replica-b'])
      replicas[replica] = await startTestServer({ databaseUrl, env: replicaEnv(replica) });
    operator = await createActor(replicas['replica-a']!, Role.OPERATOR, 'jobs-takeover-operator');
    agentId = await createAgent(replicas['replica-a']!, operator, 'survivor');
  });

  afterAll(async () => {
    await Promise.all(Object.values(replicas).map((replica) => replica.close()));
    await fake?.close();
    if (databaseUrl) await dropTestDatabase(databaseUrl);
  });

  it('the other replica finishes the reply within 30 s, and it is stored exactly once', async () => {
    const a = replicas['replica-a']!;
    const conversationId = await startConversation(a, operator, agentId);
    const watching = Object.fromEntries(
      Object.entries(replicas).map(([name, server]) => [name, watch(server, operator, conversationId)]),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const userMessageId = await send(a, operator, conversationId, 'Tell me a long story');

    // Whichever replica claimed the reply is streaming it.
    const claimed = await eventually(
      async () => {
        const [job] = await replyJobs(databaseUrl);
        return job?.status === 'RUNNING' ? job : undefined;
      },
      { timeoutMs: 10_000, what: 'the reply to be claimed' },
    );
    const owner = claimed.lease_owner!.split(':')[0]!;
    const survivorName = Object.keys(replicas).find((name) => name !== owner)!;
    expect(Object.keys(replicas)).toContain(owner);
    await eventually(() => eventsOf(watching[survivorName]!, 'REPLY_DELTA')[0], {
      timeoutMs: 10_000,
      what: 'the first streamed delta',
    });

    // The kill: the replica stops and its running job is aborted without writing anything. The lease is
    // left behind as a SIGKILL would leave it; only its running out lets another replica claim the job.
    const victim = replicas[owner]!;
    delete replicas[owner];
    const killedAt = Date.now();
    await victim.close();
    const [leftBehind] = await replyJobs(databaseUrl);
    expect(leftBehind).toMatchObject({ status: 'RUNNING', attempts: 1, lease_owner: claimed.lease_owner });

    const survivor = watching[survivorName]!;
    const completed = await eventually(() => eventsOf(survivor, 'REPLY_COMPLETED')[0], {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'the reply to complete on the surviving replica',
    });
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect(completed.replyTo).toBe(userMessageId);
    expect(completed.message).toMatchObject({ role: 'ASSISTANT', status: 'COMPLETE', version: 1 });

    // The dying replica's stream was cut mid-way; the survivor streamed the reply again from the start.
    expect(chatRequests(fake)).toHaveLength(2);
    expect(fake.disconnects).toHaveLength(1);
    expect(fake.disconnects[0]!.tokensSent).toBeGreaterThan(0);
    expect(fake.disconnects[0]!.tokensSent).toBeLessThan(REPLY_TOKENS);
    const [job] = await replyJobs(databaseUrl);
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 2, lease_owner: null });

    // Subscribers were told to start over, and what followed is exactly the stored reply.
    const live = survivor.received.map((event) => event.conversationEvents);
    const restart = live.findLastIndex((event) => event.type === 'REPLY_RESTARTED');
    expect(restart).toBeGreaterThanOrEqual(0);
    const replayed = live
      .slice(restart)
      .filter((event) => event.type === 'REPLY_DELTA')
      .map((event) => event.delta)
      .join('');
    expect(replayed).toBe(completed.message!.content);

    const stored = await assistantMessages(databaseUrl, conversationId);
    expect(stored).toEqual([{ reply_to: userMessageId, status: 'COMPLETE', content: replayed }]);
    expect(eventsOf(survivor, 'REPLY_COMPLETED')).toHaveLength(1);
  }, 60_000);
});
