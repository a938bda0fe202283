import { expect } from 'vitest';
import { Role } from '../../src/modules/users/role.js';
import {
  CreateAgentDocument,
  CreateDebateDocument,
  DebateDocument,
  DebateEventsDocument,
  StartDebateDocument,
  type CreateDebateInput,
  type DebateEventsSubscription,
  type DebateQuery,
} from '../../src/sdk/generated/graphql.js';
import { createActor, type Actor } from './actors.js';
import { execute } from './client.js';
import { query } from './database.js';
import { eventually } from './eventually.js';
import { startFakeOllama, type FakeOllama } from './fake-ollama.js';
import { startTestServer, type TestServer } from './server.js';
import { connectWs, subscribe, type Subscription, type WsClient } from './ws.js';

/*
 * Running debates against a scripted fake Ollama. The fake answers per debate topic (see `scripted`) and
 * per model speed: FAST turns take a few ms, MEDIUM a few hundred, SLOW about a second, so that a test can
 * act while a turn is being generated.
 */

export const FAST = 'llama3.2:3b';
export const MEDIUM = 'mistral:7b';
export const SLOW = 'qwen2.5:7b';

/** Longer than a SLOW turn takes: had anything kept running, it would have shown by then. */
export const QUIET_MS = 2_500;

export type Event = DebateEventsSubscription['debateEvents'];
export type DebateView = DebateQuery['debate'];
export type DebateEvents = Subscription<{ debateEvents: Event }>;

/** One request the debate sent to Ollama, as the fake saw it. */
export interface DebateCall {
  topic: string;
  kind: 'turn' | 'repair' | 'moderate' | 'summary';
  seat: number | null;
  round: number | null;
  /** The user message that carries the transcript (the first one). */
  transcript: string;
  lastUserMessage: string;
  receivedAt?: Date;
}

export type Script = (call: DebateCall) => string | object | undefined;

/** Reads a chat request (scripted or recorded: both have `messages` and `format`) as a debate call. */
export function readCall(body: { messages?: unknown; format?: unknown }): DebateCall | undefined {
  const messages = (Array.isArray(body.messages) ? body.messages : []) as { role: string; content: string }[];
  const users = messages.filter((message) => message.role === 'user');
  const transcript = users.find((message) => message.content.startsWith('Debate topic: '))?.content;
  if (!transcript) return undefined;
  const topic = transcript.slice('Debate topic: '.length).split('\n')[0]!;
  const properties = ((body.format ?? {}) as { properties?: Record<string, unknown> }).properties ?? {};
  const lastUserMessage = users.at(-1)?.content ?? '';
  const system = messages.find((message) => message.role === 'system')?.content ?? '';
  const seat = /You are seat (\d+) of \d+/.exec(system)?.[1];
  const round = /Round (\d+)(?::| of)/.exec(transcript.split('\n').at(-1) ?? '')?.[1];
  const kind =
    'conclude' in properties
      ? 'moderate'
      : 'summary' in properties
        ? 'summary'
        : lastUserMessage.startsWith('Your reply could not be used')
          ? 'repair'
          : 'turn';
  return {
    topic,
    kind,
    seat: seat ? Number(seat) : null,
    round: round ? Number(round) : null,
    transcript,
    lastUserMessage,
  };
}

export const turnReply = (position: string, confidence = 0.8, words = 8) => ({
  argument: Array.from({ length: words }, (_, i) => `point${i + 1}`).join(' ') + ` so ${position}.`,
  position,
  confidence,
});

export async function createAgent(
  target: TestServer,
  actor: Actor,
  name: string,
  model: string,
): Promise<string> {
  const created = await execute(
    target.url,
    CreateAgentDocument,
    { input: { name, model, systemPrompt: `You are ${name}.` } },
    { token: actor.token },
  );
  if (!created.data) throw new Error(JSON.stringify(created.errors));
  return created.data.createAgent.id;
}

/** (round, seat) of every turn of `rounds` full rounds, in order. */
export const allTurns = (rounds: number, seatCount: number) =>
  Array.from({ length: rounds }, (_, r) =>
    Array.from({ length: seatCount }, (_, s): [number, number] => [r + 1, s + 1]),
  ).flat();

export interface WatchOptions {
  afterSeq?: number;
  actor: Actor;
  target: TestServer;
}

/** Subscribes to a debate's events over a socket of its own, kept in `sockets` for the caller to dispose. */
export function watchDebate(
  sockets: WsClient[],
  debateId: string,
  { afterSeq, actor, target }: WatchOptions,
): { ws: WsClient; events: DebateEvents } {
  const ws = connectWs(target.wsUrl, actor.token);
  sockets.push(ws);
  return { ws, events: subscribe(ws, DebateEventsDocument, { debateId, afterSeq }) };
}

export const eventsOf = (subscription: DebateEvents) =>
  subscription.received.map((each) => each.debateEvents);

export function waitForEvent(
  subscription: DebateEvents,
  matches: (event: Event) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<Event> {
  return eventually(() => eventsOf(subscription).find(matches), { timeoutMs, what });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What `start` started: the fake, the server and three signed-in users. */
export interface DebateBenchContext {
  fake: FakeOllama;
  server: TestServer;
  operator: Actor;
  otherOperator: Actor;
  viewer: Actor;
}

/**
 * A scripted fake Ollama and a server using it, with seven agents (Ada, Babbage, Curie: FAST; Darwin,
 * Euler: MEDIUM; Faraday: SLOW; Moderator: FAST) owned by `operator`. The helpers can be taken apart at
 * a file's top level; they work once `start` has resolved (in the file's `beforeAll`).
 */
export function debateBench() {
  const scripts = new Map<string, Script>();
  const agents: Record<string, string> = {};
  const sockets: WsClient[] = [];
  let topicCounter = 0;
  // Kept apart so that `close` stops whatever `start` got to start, should it fail half-way.
  let fake: FakeOllama | undefined;
  let server: TestServer | undefined;
  let context: DebateBenchContext | undefined;
  const bench = () => {
    if (!context) throw new Error('the debate bench has not been started');
    return context;
  };

  async function start(): Promise<DebateBenchContext> {
    fake = await startFakeOllama({
      models: [FAST, MEDIUM, SLOW],
      tokenDelayMs: 1,
      perModel: { [MEDIUM]: { tokenDelayMs: 15 }, [SLOW]: { tokenDelayMs: 50 } },
      scriptedReplies: (request) => {
        const call = readCall(request);
        return call ? scripts.get(call.topic)?.(call) : undefined;
      },
    });
    server = await startTestServer({ env: { OLLAMA_HOST: fake.url, JOB_POLL_MS: '200' } });
    const [operator, otherOperator, viewer] = await Promise.all([
      createActor(server, Role.OPERATOR, 'control-operator'),
      createActor(server, Role.OPERATOR, 'control-other-operator'),
      createActor(server, Role.VIEWER, 'control-viewer'),
    ]);
    context = { fake, server, operator, otherOperator, viewer };
    for (const [name, model] of [
      ['Ada', FAST],
      ['Babbage', FAST],
      ['Curie', FAST],
      ['Darwin', MEDIUM],
      ['Euler', MEDIUM],
      ['Faraday', SLOW],
      ['Moderator', FAST],
    ] as const) {
      agents[name] = await createAgent(server, operator, name, model);
    }
    return context;
  }

  async function close(): Promise<void> {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await server?.close();
    await fake?.close();
  }

  /** A unique topic with its own script (every debate a test runs answers only to its test). */
  function scripted(label: string, script: Script): string {
    topicCounter += 1;
    const topic = `${label} (debate ${topicCounter})`;
    scripts.set(topic, script);
    return topic;
  }

  const seats = (...names: string[]) => names.map((name) => ({ agentId: agents[name]! }));

  async function createDebate(input: Partial<CreateDebateInput> & { topic: string }): Promise<string> {
    const created = await execute(
      bench().server.url,
      CreateDebateDocument,
      {
        input: {
          participants: seats('Ada', 'Babbage'),
          maxRounds: 2,
          consensusThreshold: 1,
          ...input,
        },
      },
      { token: bench().operator.token },
    );
    if (!created.data) throw new Error(JSON.stringify(created.errors));
    return created.data.createDebate.id;
  }

  async function startDebate(id: string): Promise<void> {
    const { server, operator } = bench();
    const started = await execute(server.url, StartDebateDocument, { id }, { token: operator.token });
    expect(started.data?.startDebate).toMatchObject({ status: 'RUNNING', currentRound: 1 });
  }

  async function readDebate(id: string, actor: Actor = bench().operator): Promise<DebateView> {
    const result = await execute(
      bench().server.url,
      DebateDocument,
      { id, turnsFirst: 100 },
      { token: actor.token },
    );
    if (!result.data) throw new Error(JSON.stringify(result.errors));
    return result.data.debate;
  }

  async function waitForStatus(id: string, status: string, timeoutMs = 15_000): Promise<DebateView> {
    return eventually(
      async () => {
        const debate = await readDebate(id);
        return debate.status === status ? debate : undefined;
      },
      { timeoutMs, intervalMs: 100, what: `debate ${id} to be ${status}` },
    );
  }

  /** (round, seat) of every stored turn, in order; the unique key makes duplicates impossible, counts show gaps. */
  async function storedTurns(id: string): Promise<[number, number][]> {
    const rows = await query<{ round: number; seat: number }>(
      bench().server.databaseUrl,
      'select round, seat from debate_turns where debate_id = $1 order by round, seat',
      [id],
    );
    return rows.map((row) => [row.round, row.seat]);
  }

  /** Watches a debate, by default as `operator` on this bench's server. */
  const watch = (debateId: string, { afterSeq, actor, target }: Partial<WatchOptions> = {}) =>
    watchDebate(sockets, debateId, {
      afterSeq,
      actor: actor ?? bench().operator,
      target: target ?? bench().server,
    });

  /** What the debate with this topic sent to the fake, in order. */
  function callsFor(topic: string): DebateCall[] {
    return bench()
      .fake.requests.filter((request) => request.path === '/api/chat')
      .flatMap((request) => {
        const call = readCall(request.body as Record<string, unknown>);
        return call?.topic === topic ? [{ ...call, receivedAt: request.receivedAt }] : [];
      });
  }

  return {
    agents,
    start,
    close,
    scripted,
    seats,
    createDebate,
    startDebate,
    readDebate,
    waitForStatus,
    storedTurns,
    watch,
    callsFor,
  };
}
