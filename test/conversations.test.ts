import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import {
  ConversationDocument,
  ConversationEventsDocument,
  CreateAgentDocument,
  RegenerateReplyDocument,
  SendMessageDocument,
  StartConversationDocument,
  StopGenerationDocument,
  type ConversationEventsSubscription,
} from '../src/sdk/generated/graphql.js';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.js';
import { createActor, type Actor } from './support/actors.js';
import { codes, execute } from './support/client.js';
import { query } from './support/database.js';
import { eventually } from './support/eventually.js';
import { startTestServer, type TestServer } from './support/server.js';
import { connectWs, subscribe, type WsClient } from './support/ws.js';

let fake: FakeOllama;
let server: TestServer;
let operator: Actor;
let stranger: Actor;
let agentId: string;
const sockets: WsClient[] = [];

type Event = ConversationEventsSubscription['conversationEvents'];

async function startConversation(title = 'chat'): Promise<string> {
  const result = await execute(
    server.url,
    StartConversationDocument,
    { agentId, title },
    { token: operator.token },
  );
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.startConversation.id;
}

function watch(conversationId: string) {
  const ws = connectWs(server.wsUrl, operator.token);
  sockets.push(ws);
  return subscribe(ws, ConversationEventsDocument, { conversationId });
}

async function until<T>(probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const completed = (events: { conversationEvents: Event }[]) =>
  events.map((event) => event.conversationEvents).find((event) => event.type === 'REPLY_COMPLETED');

beforeAll(async () => {
  fake = await startFakeOllama({ tokenDelayMs: 10, replyTokens: 12 });
  server = await startTestServer({
    env: { OLLAMA_HOST: fake.url, OLLAMA_RETRIES: '2', OLLAMA_RETRY_BASE_MS: '20', JOB_POLL_MS: '200' },
  });
  operator = await createActor(server, Role.OPERATOR, 'chat-operator');
  stranger = await createActor(server, Role.OPERATOR, 'chat-stranger');
  const agent = await execute(
    server.url,
    CreateAgentDocument,
    { input: { name: 'chatty', model: 'llama3.2:3b', systemPrompt: 'Be brief.' } },
    { token: operator.token },
  );
  agentId = agent.data!.createAgent.id;
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
  await server?.close();
  await fake?.close();
});

describe('conversations', () => {
  it('stores the message at once, streams the reply as deltas, then stores it with token counts', async () => {
    const conversationId = await startConversation();
    const events = watch(conversationId);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sent = await execute(
      server.url,
      SendMessageDocument,
      { conversationId, content: 'Why is the sky blue?' },
      { token: operator.token },
    );
    expect(sent.data?.sendMessage).toMatchObject({
      role: 'USER',
      position: 1,
      content: 'Why is the sky blue?',
    });

    const done = await until(() => completed(events.received));
    const types = events.received.map((event) => event.conversationEvents.type);
    expect(types[0]).toBe('MESSAGE_ADDED');
    expect(types.filter((type) => type === 'REPLY_DELTA').length).toBeGreaterThan(0);
    const deltas = events.received
      .map((event) => event.conversationEvents)
      .filter((event) => event.type === 'REPLY_DELTA')
      .map((event) => event.delta)
      .join('');
    expect(done.message).toMatchObject({ role: 'ASSISTANT', status: 'COMPLETE', position: 2, version: 1 });
    expect(done.message!.content).toBe(deltas);
    expect(done.message!.completionTokens).toBeGreaterThan(0);
    expect(done.message!.promptTokens).toBeGreaterThan(0);
    expect(done.replyTo).toBe(sent.data!.sendMessage.id);

    // The system prompt and the message reached Ollama.
    const body = fake.requests.filter((request) => request.path === '/api/chat').at(-1)!.body as {
      messages: { role: string; content: string }[];
    };
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Why is the sky blue?' },
    ]);

    const stored = await execute(
      server.url,
      ConversationDocument,
      { id: conversationId },
      { token: operator.token },
    );
    expect(stored.data?.conversation.messages.nodes.map((message) => message.role)).toEqual([
      'USER',
      'ASSISTANT',
    ]);
    // The agent's figures follow shortly after the reply is stored.
    const stats = await eventually(
      async () => {
        const [row] = await query<{
          stats_turns: number;
          stats_completion_tokens: string;
          stats_latency_p50ms: number | null;
        }>(
          server.databaseUrl,
          'select stats_turns, stats_completion_tokens, stats_latency_p50ms from agents where id = $1',
          [agentId],
        );
        return row!.stats_turns >= 1 ? row : undefined;
      },
      { timeoutMs: 5_000, what: "the agent's figures" },
    );
    expect(Number(stats!.stats_completion_tokens)).toBeGreaterThanOrEqual(done.message!.completionTokens);
    expect(stats!.stats_latency_p50ms).toBeGreaterThan(0);
    events.unsubscribe();
  });

  it('a mid-stream error is retried and the stored reply has no duplicated text', async () => {
    const clean = await startConversation('clean');
    const cleanEvents = watch(clean);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await execute(
      server.url,
      SendMessageDocument,
      { conversationId: clean, content: 'Same question' },
      { token: operator.token },
    );
    const expected = (await until(() => completed(cleanEvents.received))).message!.content;

    fake.setBehaviour({ failAfterTokens: 4, failTimes: 1 });
    const flaky = await startConversation('flaky');
    const flakyEvents = watch(flaky);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await execute(
      server.url,
      SendMessageDocument,
      { conversationId: flaky, content: 'Same question' },
      { token: operator.token },
    );
    const reply = await until(() => completed(flakyEvents.received));
    fake.setBehaviour({ failAfterTokens: undefined, failTimes: undefined });
    expect(reply.message!.content).toBe(expected);
    expect(flakyEvents.received.map((event) => event.conversationEvents.type)).toContain('REPLY_RESTARTED');
    const rows = await query(
      server.databaseUrl,
      `select 1 from messages where conversation_id = $1 and role = 'ASSISTANT'`,
      [flaky],
    );
    expect(rows).toHaveLength(1);
  });

  it('stopGeneration closes the request to Ollama and keeps the text so far', async () => {
    fake.setBehaviour({ tokenDelayMs: 100, replyTokens: 60 });
    try {
      const conversationId = await startConversation('stop');
      const events = watch(conversationId);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await execute(
        server.url,
        SendMessageDocument,
        { conversationId, content: 'Talk for a while' },
        { token: operator.token },
      );
      await until(() => events.received.find((event) => event.conversationEvents.type === 'REPLY_DELTA'));
      const disconnectsBefore = fake.disconnects.length;
      const stopped = await execute(
        server.url,
        StopGenerationDocument,
        { conversationId },
        { token: operator.token },
      );
      expect(stopped.data?.stopGeneration).toBe(true);
      const done = await until(() => completed(events.received));
      expect(done.message!.status).toBe('STOPPED');
      expect(done.message!.content.length).toBeGreaterThan(0);
      await until(() => (fake.disconnects.length > disconnectsBefore ? true : undefined), 5_000);
      expect(fake.disconnects.at(-1)!.tokensSent).toBeLessThan(60);
    } finally {
      fake.setBehaviour({ tokenDelayMs: 10, replyTokens: 12 });
    }
  });

  it('regenerateReply streams a second version beside the first, and later prompts see only the newest', async () => {
    const conversationId = await startConversation('regenerate');
    const events = watch(conversationId);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const sent = await execute(
      server.url,
      SendMessageDocument,
      { conversationId, content: 'Name a colour' },
      { token: operator.token },
    );
    const first = await until(() => completed(events.received));

    const regenerated = await execute(
      server.url,
      RegenerateReplyDocument,
      { messageId: first.message!.id },
      { token: operator.token },
    );
    expect(regenerated.data?.regenerateReply).toEqual({
      conversationId,
      replyTo: sent.data!.sendMessage.id,
      version: 2,
    });
    const again = await execute(
      server.url,
      RegenerateReplyDocument,
      { messageId: sent.data!.sendMessage.id },
      { token: operator.token },
    );
    // The first regeneration may still be running: a second one waits its turn.
    expect(codes(again)).toEqual(['CONFLICT']);

    const second = await until(() =>
      events.received
        .map((event) => event.conversationEvents)
        .find((event) => event.type === 'REPLY_COMPLETED' && event.message!.version === 2),
    );
    expect(second.message).toMatchObject({ replyTo: sent.data!.sendMessage.id, status: 'COMPLETE' });
    const types = events.received.map((event) => event.conversationEvents);
    const requested = types.find((event) => event.type === 'REPLY_REQUESTED');
    expect(requested).toMatchObject({ replyTo: sent.data!.sendMessage.id, version: 2 });
    const deltas = types.filter((event) => event.type === 'REPLY_DELTA' && event.version === 2);
    expect(deltas.map((event) => event.delta).join('')).toBe(second.message!.content);

    const stored = await query<{ version: number }>(
      server.databaseUrl,
      `select version from messages where reply_to = $1 order by version`,
      [sent.data!.sendMessage.id],
    );
    expect(stored.map((row) => row.version)).toEqual([1, 2]);

    // The next turn's prompt holds one reply to the first message: the newest version.
    await execute(
      server.url,
      SendMessageDocument,
      { conversationId, content: 'Another one' },
      { token: operator.token },
    );
    await until(() =>
      events.received.filter((event) => event.conversationEvents.type === 'REPLY_COMPLETED').length === 3
        ? true
        : undefined,
    );
    const body = fake.requests.filter((request) => request.path === '/api/chat').at(-1)!.body as {
      messages: { role: string; content: string }[];
    };
    expect(body.messages.map((message) => message.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(body.messages[2]!.content).toBe(second.message!.content);
    events.unsubscribe();
  });

  it('regenerateReply refuses unknown, malformed and other people’s messages, writing nothing', async () => {
    const conversationId = await startConversation('regenerate-private');
    const sent = await execute(
      server.url,
      SendMessageDocument,
      { conversationId, content: 'Mine' },
      { token: operator.token },
    );
    const messageId = sent.data!.sendMessage.id;
    const theirs = await execute(
      server.url,
      RegenerateReplyDocument,
      { messageId },
      { token: stranger.token },
    );
    expect(codes(theirs)).toEqual(['NOT_FOUND']);
    const unknown = await execute(
      server.url,
      RegenerateReplyDocument,
      { messageId: '00000000-0000-4000-8000-000000000000' },
      { token: operator.token },
    );
    expect(codes(unknown)).toEqual(['NOT_FOUND']);
    const malformed = await execute(
      server.url,
      RegenerateReplyDocument,
      { messageId: 'not-a-uuid' },
      { token: operator.token },
    );
    expect(codes(malformed)).toEqual(['BAD_USER_INPUT']);
    const jobs = await query(server.databaseUrl, `select 1 from jobs where payload->>'userMessageId' = $1`, [
      messageId,
    ]);
    expect(jobs).toHaveLength(1); // the original reply's job only
  });

  it('refuses bad input and other people’s conversations, writing nothing', async () => {
    const conversationId = await startConversation('private');
    const nothingRunning = await execute(
      server.url,
      StopGenerationDocument,
      { conversationId },
      { token: operator.token },
    );
    expect(codes(nothingRunning)).toEqual(['CONFLICT']);

    const empty = await execute(
      server.url,
      SendMessageDocument,
      { conversationId, content: '' },
      { token: operator.token },
    );
    expect(codes(empty)).toEqual(['BAD_USER_INPUT']);
    const huge = await execute(
      server.url,
      SendMessageDocument,
      { conversationId, content: 'x'.repeat(32_001) },
      { token: operator.token },
    );
    expect(codes(huge)).toEqual(['BAD_USER_INPUT']);

    const theirs = await execute(
      server.url,
      ConversationDocument,
      { id: conversationId },
      { token: stranger.token },
    );
    expect(codes(theirs)).toEqual(['NOT_FOUND']);
    const intrude = await execute(
      server.url,
      SendMessageDocument,
      { conversationId, content: 'hello' },
      { token: stranger.token },
    );
    expect(codes(intrude)).toEqual(['NOT_FOUND']);
    const ws = connectWs(server.wsUrl, stranger.token);
    sockets.push(ws);
    const spy = subscribe(ws, ConversationEventsDocument, { conversationId });
    await spy.ended;
    expect(spy.errors.flat().map((error) => error.extensions?.code)).toEqual(['NOT_FOUND']);

    const unknownAgent = await execute(
      server.url,
      StartConversationDocument,
      { agentId: '00000000-0000-4000-8000-000000000000', title: 'x' },
      { token: operator.token },
    );
    expect(codes(unknownAgent)).toEqual(['NOT_FOUND']);
    const rows = await query(server.databaseUrl, 'select 1 from messages where conversation_id = $1', [
      conversationId,
    ]);
    expect(rows).toEqual([]);
  });
});
