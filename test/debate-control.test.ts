import { randomUUID } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import {
  CancelDebateDocument,
  CreateAgentDocument,
  CreateDebateDocument,
  DebateDocument,
  DebateEventsDocument,
  DebatesDocument,
  InterjectDocument,
  PauseDebateDocument,
  ResumeDebateDocument,
  StartDebateDocument,
  UpdateAgentDocument,
  type CreateDebateInput,
  type DebateEventsSubscription,
  type DebateQuery,
} from '../src/sdk/generated/graphql.js';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.js';
import { createActor, type Actor } from './support/actors.js';
import { codes, execute } from './support/client.js';
import { query } from './support/database.js';
import { eventually } from './support/eventually.js';
import { startTestServer, type TestServer } from './support/server.js';
import { connectWs, subscribe, type Subscription, type WsClient } from './support/ws.js';

/*
 * Running debates by hand and by policy: early conclusion, pause/resume/cancel/interject, the Ollama
 * breaker, structured-output repair, the moderator, the token budget, bad input, batched nested reads
 * and resuming a subscription. The fake Ollama answers per debate topic (scripts below) and per model
 * speed: FAST turns take a few ms, MEDIUM a few hundred, SLOW about a second, so that a test can act
 * while a turn is being generated.
 */

const FAST = 'llama3.2:3b';
const MEDIUM = 'mistral:7b';
const SLOW = 'qwen2.5:7b';

type Event = DebateEventsSubscription['debateEvents'];
type DebateView = DebateQuery['debate'];

/** One request the debate sent to Ollama, as the fake saw it. */
interface DebateCall {
  topic: string;
  kind: 'turn' | 'repair' | 'moderate' | 'summary';
  seat: number | null;
  round: number | null;
  /** The user message that carries the transcript (the first one). */
  transcript: string;
  lastUserMessage: string;
  receivedAt?: Date;
}

type Script = (call: DebateCall) => string | object | undefined;

/** Reads a chat request (scripted or recorded: both have `messages` and `format`) as a debate call. */
function readCall(body: { messages?: unknown; format?: unknown }): DebateCall | undefined {
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

const turnReply = (position: string, confidence = 0.8, words = 8) => ({
  argument: Array.from({ length: words }, (_, i) => `point${i + 1}`).join(' ') + ` so ${position}.`,
  position,
  confidence,
});

let fake: FakeOllama;
let server: TestServer;
let operator: Actor;
let otherOperator: Actor;
let viewer: Actor;
const scripts = new Map<string, Script>();
const agents: Record<string, string> = {};
const sockets: WsClient[] = [];
let topicCounter = 0;

/** A unique topic with its own script (every debate a test runs answers only to its test). */
function scripted(label: string, script: Script): string {
  topicCounter += 1;
  const topic = `${label} (debate ${topicCounter})`;
  scripts.set(topic, script);
  return topic;
}

async function createAgent(target: TestServer, actor: Actor, name: string, model: string): Promise<string> {
  const created = await execute(
    target.url,
    CreateAgentDocument,
    { input: { name, model, systemPrompt: `You are ${name}.` } },
    { token: actor.token },
  );
  if (!created.data) throw new Error(JSON.stringify(created.errors));
  return created.data.createAgent.id;
}

beforeAll(async () => {
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
  [operator, otherOperator, viewer] = await Promise.all([
    createActor(server, Role.OPERATOR, 'control-operator'),
    createActor(server, Role.OPERATOR, 'control-other-operator'),
    createActor(server, Role.VIEWER, 'control-viewer'),
  ]);
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
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
  await server?.close();
  await fake?.close();
});

const seats = (...names: string[]) => names.map((name) => ({ agentId: agents[name]! }));

async function createDebate(input: Partial<CreateDebateInput> & { topic: string }): Promise<string> {
  const created = await execute(
    server.url,
    CreateDebateDocument,
    {
      input: {
        participants: seats('Ada', 'Babbage'),
        maxRounds: 2,
        consensusThreshold: 1,
        ...input,
      },
    },
    { token: operator.token },
  );
  if (!created.data) throw new Error(JSON.stringify(created.errors));
  return created.data.createDebate.id;
}

async function startDebate(id: string): Promise<void> {
  const started = await execute(server.url, StartDebateDocument, { id }, { token: operator.token });
  expect(started.data?.startDebate).toMatchObject({ status: 'RUNNING', currentRound: 1 });
}

async function readDebate(id: string, actor: Actor = operator): Promise<DebateView> {
  const result = await execute(server.url, DebateDocument, { id, turnsFirst: 100 }, { token: actor.token });
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
    server.databaseUrl,
    'select round, seat from debate_turns where debate_id = $1 order by round, seat',
    [id],
  );
  return rows.map((row) => [row.round, row.seat]);
}

const allTurns = (rounds: number, seatCount: number) =>
  Array.from({ length: rounds }, (_, r) =>
    Array.from({ length: seatCount }, (_, s): [number, number] => [r + 1, s + 1]),
  ).flat();

function watch(
  debateId: string,
  {
    afterSeq,
    actor = operator,
    target = server,
  }: { afterSeq?: number; actor?: Actor; target?: TestServer } = {},
): { ws: WsClient; events: Subscription<{ debateEvents: Event }> } {
  const ws = connectWs(target.wsUrl, actor.token);
  sockets.push(ws);
  return { ws, events: subscribe(ws, DebateEventsDocument, { debateId, afterSeq }) };
}

const eventsOf = (subscription: Subscription<{ debateEvents: Event }>) =>
  subscription.received.map((each) => each.debateEvents);

function waitForEvent(
  subscription: Subscription<{ debateEvents: Event }>,
  matches: (event: Event) => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<Event> {
  return eventually(() => eventsOf(subscription).find(matches), { timeoutMs, what });
}

/** What the debate with this topic sent to the fake, in order. */
function callsFor(topic: string): DebateCall[] {
  return fake.requests
    .filter((request) => request.path === '/api/chat')
    .flatMap((request) => {
      const call = readCall(request.body as Record<string, unknown>);
      return call?.topic === topic ? [{ ...call, receivedAt: request.receivedAt }] : [];
    });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Longer than a SLOW turn takes: had anything kept running, it would have shown by then. */
const QUIET_MS = 2_500;

describe('debate conclusion', () => {
  it('concludes after round 1 when every seat holds the same position (consensus reaches the threshold)', async () => {
    const topic = scripted('Is water wet?', (call) =>
      call.kind === 'turn' ? turnReply('yes', 0.9) : undefined,
    );
    const id = await createDebate({
      topic,
      participants: seats('Ada', 'Babbage', 'Curie'),
      maxRounds: 3,
      consensusThreshold: 1,
    });
    await startDebate(id);

    const debate = await waitForStatus(id, 'CONCLUDED');
    expect(debate).toMatchObject({
      conclusionReason: 'CONSENSUS',
      consensus: 1,
      currentRound: 1,
      verdict: 'yes',
      figures: { rounds: 1, turns: 3, invalidTurns: 0 },
    });
    expect(debate.rounds).toMatchObject([{ number: 1, consensus: 1, leadingPosition: 'yes', turns: 3 }]);
    expect(debate.participants.map((participant) => participant.finalPosition)).toEqual([
      'yes',
      'yes',
      'yes',
    ]);
    expect(await storedTurns(id)).toEqual(allTurns(1, 3));
    expect(callsFor(topic).filter((call) => call.round === 2)).toEqual([]);
  });

  it('a moderator who calls it after round 1 concludes the debate and writes the summary and verdict', async () => {
    const note = 'Positions are entrenched; another round will not move them.';
    const topic = scripted('Tabs or spaces?', (call) => {
      if (call.kind === 'turn') return turnReply(call.seat === 1 ? 'tabs' : 'spaces', 0.7);
      if (call.kind === 'moderate') return { conclude: true, reason: note };
      if (call.kind === 'summary')
        return { summary: 'Ada argued for tabs, Babbage for spaces; neither moved.', verdict: 'spaces' };
      return undefined;
    });
    const id = await createDebate({ topic, moderatorAgentId: agents.Moderator, maxRounds: 3 });
    const { events } = watch(id, { afterSeq: 0 });
    await startDebate(id);

    const debate = await waitForStatus(id, 'CONCLUDED');
    expect(debate).toMatchObject({
      conclusionReason: 'MODERATOR',
      summary: 'Ada argued for tabs, Babbage for spaces; neither moved.',
      verdict: 'spaces',
      moderator: { id: agents.Moderator, name: 'Moderator' },
      figures: { rounds: 1, turns: 2 },
    });
    expect(debate.rounds).toMatchObject([{ number: 1, moderatorNote: note }]);
    expect(await storedTurns(id)).toEqual(allTurns(1, 2));
    await waitForEvent(events, (event) => event.type === 'CONCLUDED', 'the CONCLUDED event');
    expect(eventsOf(events).find((event) => event.type === 'MODERATOR_NOTE')).toMatchObject({
      round: 1,
      reason: note,
    });
    const calls = callsFor(topic);
    expect(calls.filter((call) => call.kind === 'moderate')).toHaveLength(1);
    expect(calls.filter((call) => call.kind === 'summary')).toHaveLength(1);
    // The moderator's own tokens count too: more than the two turns spent.
    const turnTokens = debate.turns.nodes.reduce(
      (sum, turn) => sum + turn.promptTokens + turn.completionTokens,
      0,
    );
    expect(debate.figures.tokens).toBeGreaterThan(turnTokens);
  });

  it('concludes with TOKEN_BUDGET before the last round once the budget is spent', async () => {
    const topic = scripted('Is a budget a plan?', (call) =>
      call.kind === 'turn' ? turnReply(call.seat === 1 ? 'yes' : 'no', 0.6) : undefined,
    );
    const tokenBudget = 1_200;
    const id = await createDebate({
      topic,
      participants: seats('Ada', 'Babbage', 'Curie'),
      maxRounds: 20,
      tokenBudget,
    });
    await startDebate(id);

    const debate = await waitForStatus(id, 'CONCLUDED');
    expect(debate.conclusionReason).toBe('TOKEN_BUDGET');
    expect(debate.figures.rounds).toBeLessThan(20);
    expect(debate.figures.tokens).toBeGreaterThanOrEqual(tokenBudget);
    // It stopped at the turn that spent the budget, not later.
    const turns = debate.turns.nodes;
    const last = turns.at(-1)!;
    expect(debate.figures.tokens - last.promptTokens - last.completionTokens).toBeLessThan(tokenBudget);
    expect(debate.figures.turns).toBe(turns.length);
    const lastRound = debate.rounds.at(-1)!;
    expect(lastRound.number).toBe(last.round);
    expect(lastRound.turns).toBe(turns.filter((turn) => turn.round === last.round).length);
    expect(await storedTurns(id)).toEqual(turns.map((turn) => [turn.round, turn.seat]));
  });
});

describe('structured output', () => {
  it('repairs a turn once; a turn still invalid after the repair is stored as such and the debate goes on', async () => {
    const topic = scripted('Should turns be JSON?', (call) => {
      if (call.round === 1 && call.seat === 1) {
        return call.kind === 'repair' ? turnReply('yes', 0.8) : 'Sure! I would say yes, obviously.';
      }
      if (call.round === 1 && call.seat === 2) {
        return call.kind === 'repair' ? '{"argument": "still broken"' : 'I refuse to answer in JSON.';
      }
      return call.kind === 'turn' ? turnReply(call.seat === 1 ? 'yes' : 'no', 0.7) : undefined;
    });
    const id = await createDebate({ topic, maxRounds: 2 });
    await startDebate(id);

    const debate = await waitForStatus(id, 'CONCLUDED');
    expect(debate).toMatchObject({
      conclusionReason: 'MAX_ROUNDS',
      figures: { rounds: 2, turns: 4, invalidTurns: 1 },
    });
    const turn = (round: number, seat: number) =>
      debate.turns.nodes.find((each) => each.round === round && each.seat === seat)!;
    expect(turn(1, 1)).toMatchObject({ valid: true, repaired: true, position: 'yes', problem: null });
    expect(turn(1, 2)).toMatchObject({
      valid: false,
      repaired: true,
      position: null,
      confidence: null,
      content: '{"argument": "still broken"',
    });
    expect(turn(1, 2).problem).toMatch(/JSON/);
    expect(turn(2, 1)).toMatchObject({ valid: true, repaired: false, position: 'yes' });
    expect(turn(2, 2)).toMatchObject({ valid: true, repaired: false, position: 'no' });
    expect(await storedTurns(id)).toEqual(allTurns(2, 2));

    // Each repair told the model what was wrong; no seat got a second repair.
    const repairs = callsFor(topic).filter((call) => call.kind === 'repair');
    expect(repairs.map((call) => [call.round, call.seat])).toEqual([
      [1, 1],
      [1, 2],
    ]);
    for (const repair of repairs) expect(repair.lastUserMessage).toMatch(/could not be used: not JSON/);
  });
});

describe('pause, resume, cancel and interject', () => {
  it('pauses mid-turn at once, stores nothing while paused, and resumes to play every turn exactly once', async () => {
    const topic = scripted('Can a pause be productive?', (call) =>
      call.kind === 'turn' ? turnReply(call.seat === 1 ? 'yes' : 'no', 0.7, 14) : undefined,
    );
    const id = await createDebate({ topic, participants: seats('Faraday', 'Darwin'), maxRounds: 2 });
    const { events } = watch(id, { afterSeq: 0 });
    await startDebate(id);
    await waitForEvent(
      events,
      (event) => event.type === 'TURN_DELTA' && event.round === 1 && event.seat === 1,
      'round 1 seat 1 to be generating',
    );
    const disconnects = fake.disconnects.length;

    const paused = await execute(server.url, PauseDebateDocument, { id }, { token: operator.token });
    expect(paused.errors).toBeUndefined();
    expect(paused.data!.pauseDebate).toMatchObject({ status: 'PAUSED', pauseKind: 'MANUAL' });
    expect(paused.data!.pauseDebate.statusReason).toContain(operator.email);
    const storedAtPause = await storedTurns(id);
    const callsAtPause = callsFor(topic).length;

    // The turn being generated is abandoned: its request to Ollama is closed.
    await eventually(() => (fake.disconnects.length > disconnects ? true : undefined), {
      timeoutMs: 5_000,
      what: 'the abandoned turn to close its Ollama request',
    });
    await sleep(QUIET_MS);
    expect(await storedTurns(id)).toEqual(storedAtPause);
    expect(callsFor(topic)).toHaveLength(callsAtPause);
    const whilePaused = await readDebate(id);
    expect(whilePaused).toMatchObject({ status: 'PAUSED', pauseKind: 'MANUAL' });
    expect(whilePaused.statusReason).toContain(operator.email);
    const pausedEvent = eventsOf(events).find(
      (event) => event.type === 'STATUS_CHANGED' && event.status === 'PAUSED',
    )!;
    expect(pausedEvent.reason).toContain(operator.email);
    expect(
      eventsOf(events).filter((event) => event.seq > pausedEvent.seq && event.type !== 'TURN_DELTA'),
    ).toEqual([]);

    const resumed = await execute(server.url, ResumeDebateDocument, { id }, { token: operator.token });
    expect(resumed.data?.resumeDebate).toMatchObject({ status: 'RUNNING' });
    const debate = await waitForStatus(id, 'CONCLUDED', 20_000);
    expect(debate).toMatchObject({ conclusionReason: 'MAX_ROUNDS', figures: { rounds: 2, turns: 4 } });
    expect(await storedTurns(id)).toEqual(allTurns(2, 2));
    await waitForEvent(events, (event) => event.type === 'CONCLUDED', 'the CONCLUDED event');
    const completed = eventsOf(events).filter((event) => event.type === 'TURN_COMPLETED');
    expect(completed.map((event) => [event.round, event.seat])).toEqual(allTurns(2, 2));
  });

  it('cancels a running debate: CANCELLED at once, the turn in progress dropped, nothing more stored', async () => {
    const topic = scripted('Should this debate be cancelled?', (call) =>
      call.kind === 'turn' ? turnReply(call.seat === 1 ? 'yes' : 'no', 0.7, 14) : undefined,
    );
    const id = await createDebate({ topic, participants: seats('Darwin', 'Faraday'), maxRounds: 3 });
    const { events } = watch(id, { afterSeq: 0 });
    await startDebate(id);
    await waitForEvent(
      events,
      (event) => event.type === 'TURN_DELTA' && event.round === 1 && event.seat === 2,
      'round 1 seat 2 to be generating',
    );
    const disconnects = fake.disconnects.length;

    const cancelled = await execute(server.url, CancelDebateDocument, { id }, { token: operator.token });
    expect(cancelled.errors).toBeUndefined();
    expect(cancelled.data!.cancelDebate.status).toBe('CANCELLED');
    expect(cancelled.data!.cancelDebate.statusReason).toContain(operator.email);
    const storedAtCancel = await storedTurns(id);
    const callsAtCancel = callsFor(topic).length;

    await eventually(() => (fake.disconnects.length > disconnects ? true : undefined), {
      timeoutMs: 5_000,
      what: 'the abandoned turn to close its Ollama request',
    });
    await sleep(QUIET_MS);
    expect(await storedTurns(id)).toEqual(storedAtCancel);
    expect(storedAtCancel.length).toBeLessThan(6);
    expect(callsFor(topic)).toHaveLength(callsAtCancel);
    const debate = await readDebate(id);
    expect(debate).toMatchObject({ status: 'CANCELLED', conclusionReason: null, pauseKind: null });
    expect(debate.endedAt).toBeTruthy();
    const last = eventsOf(events)
      .filter((event) => event.type !== 'TURN_DELTA')
      .at(-1)!;
    expect(last).toMatchObject({ type: 'STATUS_CHANGED', status: 'CANCELLED' });
  });

  it('an interjection during round 1 is stored after round 1 and every seat sees it in round 2, not before', async () => {
    const words = 'Consider the cost to the kittens (zq-marker-41)';
    const topic = scripted('Should cats run the internet?', (call) =>
      call.kind === 'turn' ? turnReply(call.seat === 2 ? 'no' : 'yes', 0.7, 14) : undefined,
    );
    const id = await createDebate({
      topic,
      participants: seats('Faraday', 'Darwin', 'Euler'),
      maxRounds: 2,
    });
    const { events } = watch(id, { afterSeq: 0 });
    await startDebate(id);
    await waitForEvent(
      events,
      (event) => event.type === 'TURN_DELTA' && event.round === 1 && event.seat === 1,
      'round 1 seat 1 to be generating',
    );

    const interjected = await execute(
      server.url,
      InterjectDocument,
      { debateId: id, content: `  ${words}  ` },
      { token: operator.token },
    );
    expect(interjected.errors).toBeUndefined();
    expect(interjected.data!.interject).toMatchObject({
      content: words,
      afterRound: 1,
      author: { email: operator.email },
    });
    const event = await waitForEvent(
      events,
      (each) => each.type === 'INTERJECTION',
      'the INTERJECTION event',
    );
    expect(event).toMatchObject({
      round: 1,
      status: 'RUNNING',
      interjection: { content: words, afterRound: 1 },
    });

    const debate = await waitForStatus(id, 'CONCLUDED', 20_000);
    expect(debate.interjections).toMatchObject([{ content: words, afterRound: 1 }]);
    expect(await storedTurns(id)).toEqual(allTurns(2, 3));

    const turnCalls = callsFor(topic).filter((call) => call.kind === 'turn');
    const roundOneLater = turnCalls.filter((call) => call.round === 1 && call.seat! > 1);
    expect(roundOneLater.map((call) => call.seat)).toEqual([2, 3]);
    for (const call of roundOneLater) {
      // Asked after the interjection was made, and still not shown it: it belongs to round 2.
      expect(call.receivedAt!.getTime()).toBeGreaterThanOrEqual(
        new Date(interjected.data!.interject.createdAt as string).getTime(),
      );
      expect(call.transcript).not.toContain(words);
    }
    const roundTwo = turnCalls.filter((call) => call.round === 2);
    expect(roundTwo.map((call) => call.seat)).toEqual([1, 2, 3]);
    for (const call of roundTwo) {
      expect(call.transcript).toContain(`Human interjection after round 1 (${operator.email}): ${words}`);
    }
  });
});

describe('subscriptions', () => {
  it('a subscriber that reconnects with its last seq gets the rest: no gap, no duplicate', async () => {
    const topic = scripted('Do dashboards forget?', (call) =>
      call.kind === 'turn' ? turnReply(call.seat === 1 ? 'yes' : 'no', 0.7, 10) : undefined,
    );
    const id = await createDebate({ topic, participants: seats('Darwin', 'Euler'), maxRounds: 3 });
    const first = watch(id, { afterSeq: 0 });
    await startDebate(id);
    await waitForEvent(
      first.events,
      (event) => event.type === 'TURN_COMPLETED' && event.round === 1 && event.seat === 1,
      'the first turn',
    );
    await first.ws.dispose();
    await first.ws.closed;
    const before = eventsOf(first.events).filter((event) => event.type !== 'TURN_DELTA');
    const lastSeq = before.at(-1)!.seq;

    // The debate moves on while nobody watches.
    await eventually(async () => ((await storedTurns(id)).length >= 3 ? true : undefined), {
      timeoutMs: 15_000,
      what: 'more turns while the subscriber is away',
    });
    const second = watch(id, { afterSeq: lastSeq });
    await waitForEvent(second.events, (event) => event.type === 'CONCLUDED', 'the CONCLUDED event', 20_000);
    const after = eventsOf(second.events).filter((event) => event.type !== 'TURN_DELTA');

    const seqs = [...before, ...after].map((event) => event.seq);
    const [{ count }] = await query<{ count: string }>(
      server.databaseUrl,
      'select count(*) from events where stream = $1',
      [`debate:${id}`],
    );
    expect(seqs).toEqual(Array.from({ length: Number(count) }, (_, i) => i + 1));
    expect(after[0]!.seq).toBe(lastSeq + 1);
    const completed = [...before, ...after].filter((event) => event.type === 'TURN_COMPLETED');
    expect(completed.map((event) => [event.round, event.seat])).toEqual(allTurns(3, 2));

    // A replay of a finished debate is the stored events only: live deltas are never replayed.
    const replay = watch(id, { afterSeq: 0 });
    await replay.events.waitFor(Number(count));
    await sleep(300);
    expect(eventsOf(replay.events).map((event) => event.seq)).toEqual(seqs);
    expect(eventsOf(replay.events).map((event) => event.type)).toEqual(
      [...before, ...after].map((event) => event.type),
    );
  });
});

describe('bad input and the wrong state', () => {
  /** Rows of every debate table, and the events of the given debates (by default: of all debates). */
  async function countRows(debateIds?: string[]): Promise<Record<string, number>> {
    const [row] = await query<Record<string, string>>(
      server.databaseUrl,
      `select (select count(*) from debates) as debates,
              (select count(*) from debate_participants) as participants,
              (select count(*) from debate_turns) as turns,
              (select count(*) from debate_interjections) as interjections,
              (select count(*) from events
                where coalesce(stream = any($1::text[]), stream like 'debate:%')) as events`,
      [debateIds?.map((id) => `debate:${id}`) ?? null],
    );
    return Object.fromEntries(Object.entries(row!).map(([key, value]) => [key, Number(value)]));
  }

  async function debateRow(id: string) {
    const [row] = await query(
      server.databaseUrl,
      'select status, epoch, current_round, status_reason, next_step, updated_at from debates where id = $1',
      [id],
    );
    return row;
  }

  it('createDebate rejects bad input with BAD_USER_INPUT naming the field, and writes nothing', async () => {
    const dormant = await createAgent(server, operator, 'Dormant', FAST);
    const disabled = await execute(
      server.url,
      UpdateAgentDocument,
      { id: dormant, input: { status: 'DISABLED' } },
      { token: operator.token },
    );
    expect(disabled.data?.updateAgent.status).toBe('DISABLED');
    const before = await countRows();

    const cases: [string, Partial<CreateDebateInput>, RegExp][] = [
      ['no participants', { participants: [] }, /^participants$/],
      ['one participant', { participants: seats('Ada') }, /^participants$/],
      ['nine participants', { participants: seats(...Array<string>(9).fill('Ada')) }, /^participants$/],
      [
        'an unknown agent',
        { participants: [...seats('Ada'), { agentId: randomUUID() }] },
        /^participants\.1\.agentId$/,
      ],
      [
        'a disabled agent',
        { participants: [{ agentId: dormant }, ...seats('Ada')] },
        /^participants\.0\.agentId$/,
      ],
      ['an unknown moderator', { moderatorAgentId: randomUUID() }, /^moderatorAgentId$/],
      ['0 rounds', { maxRounds: 0 }, /^maxRounds$/],
      ['21 rounds', { maxRounds: 21 }, /^maxRounds$/],
      ['a threshold below 0', { consensusThreshold: -0.1 }, /^consensusThreshold$/],
      ['a threshold above 1', { consensusThreshold: 1.1 }, /^consensusThreshold$/],
      ['a blank topic', { topic: '  \n ' }, /^topic$/],
    ];
    for (const [what, input, field] of cases) {
      const result = await execute(
        server.url,
        CreateDebateDocument,
        { input: { topic: 'Bad input', participants: seats('Ada', 'Babbage'), ...input } },
        { token: operator.token },
      );
      expect(codes(result), what).toEqual(['BAD_USER_INPUT']);
      expect(result.data, what).toBeNull();
      const fields = (result.errors![0]!.extensions!.fields as { field: string }[]).map((each) => each.field);
      expect(fields, what).toContainEqual(expect.stringMatching(field));
    }
    expect(await countRows()).toEqual(before);
  });

  it('controls that do not fit the state are CONFLICT and change nothing', async () => {
    // RUNNING: started again.
    const slowTopic = scripted('Slow enough to still run', (call) =>
      call.kind === 'turn' ? turnReply('maybe', 0.5, 20) : undefined,
    );
    const running = await createDebate({ topic: slowTopic, participants: seats('Faraday', 'Faraday') });
    await startDebate(running);
    const runningBefore = await debateRow(running);
    const again = await execute(server.url, StartDebateDocument, { id: running }, { token: operator.token });
    expect(codes(again)).toEqual(['CONFLICT']);
    expect(again.errors![0]!.message).toMatch(/RUNNING/);
    expect(await debateRow(running)).toMatchObject({ status: 'RUNNING', epoch: runningBefore!.epoch });
    const stop = await execute(server.url, CancelDebateDocument, { id: running }, { token: operator.token });
    expect(stop.data?.cancelDebate.status).toBe('CANCELLED');

    // CONCLUDED: resumed.
    const quickTopic = scripted('Quick to conclude', (call) =>
      call.kind === 'turn' ? turnReply('yes') : undefined,
    );
    const concluded = await createDebate({ topic: quickTopic, maxRounds: 1 });
    await startDebate(concluded);
    await waitForStatus(concluded, 'CONCLUDED');

    // CANCELLED (straight from PENDING): interjected into.
    const cancelled = await createDebate({ topic: scripted('Never to be', () => undefined) });
    const cancel = await execute(
      server.url,
      CancelDebateDocument,
      { id: cancelled },
      { token: operator.token },
    );
    expect(cancel.data?.cancelDebate.status).toBe('CANCELLED');

    const pending = await createDebate({ topic: scripted('Not started yet', () => undefined) });

    const snapshots = {
      concluded: await debateRow(concluded),
      cancelled: await debateRow(cancelled),
      pending: await debateRow(pending),
    };
    const counts = await countRows([concluded, cancelled, pending]);

    const resume = await execute(
      server.url,
      ResumeDebateDocument,
      { id: concluded },
      { token: operator.token },
    );
    expect(codes(resume)).toEqual(['CONFLICT']);
    const interject = await execute(
      server.url,
      InterjectDocument,
      { debateId: cancelled, content: 'Too late' },
      { token: operator.token },
    );
    expect(codes(interject)).toEqual(['CONFLICT']);
    const pause = await execute(server.url, PauseDebateDocument, { id: pending }, { token: operator.token });
    expect(codes(pause)).toEqual(['CONFLICT']);
    const cancelAgain = await execute(
      server.url,
      CancelDebateDocument,
      { id: cancelled },
      { token: operator.token },
    );
    expect(codes(cancelAgain)).toEqual(['CONFLICT']);

    expect({
      concluded: await debateRow(concluded),
      cancelled: await debateRow(cancelled),
      pending: await debateRow(pending),
    }).toEqual(snapshots);
    expect(await countRows([concluded, cancelled, pending])).toEqual(counts);
  });

  it('another operator may not run my debate (FORBIDDEN); a VIEWER may watch it', async () => {
    const topic = scripted('Whose debate is it?', (call) =>
      call.kind === 'turn' ? turnReply('mine') : undefined,
    );
    const id = await createDebate({ topic, maxRounds: 1 });
    const snapshot = await debateRow(id);
    const counts = await countRows([id]);
    for (const [what, run] of [
      ['start', () => execute(server.url, StartDebateDocument, { id }, { token: otherOperator.token })],
      ['pause', () => execute(server.url, PauseDebateDocument, { id }, { token: otherOperator.token })],
      ['resume', () => execute(server.url, ResumeDebateDocument, { id }, { token: otherOperator.token })],
      ['cancel', () => execute(server.url, CancelDebateDocument, { id }, { token: otherOperator.token })],
      [
        'interject',
        () =>
          execute(
            server.url,
            InterjectDocument,
            { debateId: id, content: 'Hi' },
            { token: otherOperator.token },
          ),
      ],
      ['viewer start', () => execute(server.url, StartDebateDocument, { id }, { token: viewer.token })],
    ] as const) {
      expect(codes(await run()), what).toEqual(['FORBIDDEN']);
    }
    expect(await debateRow(id)).toEqual(snapshot);
    expect(await countRows([id])).toEqual(counts);

    const { events } = watch(id, { afterSeq: 0, actor: viewer });
    await startDebate(id);
    await waitForEvent(events, (event) => event.type === 'CONCLUDED', 'the viewer to see the conclusion');
    expect(events.errors).toEqual([]);
    expect(eventsOf(events)[0]).toMatchObject({ seq: 1, type: 'STATUS_CHANGED', status: 'PENDING' });
    const seen = await readDebate(id, viewer);
    expect(seen).toMatchObject({ status: 'CONCLUDED', createdBy: { email: operator.email } });
    expect(seen.turns.nodes).toHaveLength(2);
  });

  it('an unknown debate is NOT_FOUND and a malformed id BAD_USER_INPUT', async () => {
    const unknown = randomUUID();
    expect(
      codes(await execute(server.url, DebateDocument, { id: unknown }, { token: viewer.token })),
    ).toEqual(['NOT_FOUND']);
    expect(
      codes(await execute(server.url, PauseDebateDocument, { id: unknown }, { token: operator.token })),
    ).toEqual(['NOT_FOUND']);
    expect(
      codes(await execute(server.url, DebateDocument, { id: 'not-a-debate' }, { token: viewer.token })),
    ).toEqual(['BAD_USER_INPUT']);
    expect(
      codes(
        await execute(server.url, StartDebateDocument, { id: 'not-a-debate' }, { token: operator.token }),
      ),
    ).toEqual(['BAD_USER_INPUT']);

    const { events } = watch(unknown, { actor: viewer });
    await events.ended;
    expect(events.errors.flat().map((error) => error.extensions?.code)).toEqual(['NOT_FOUND']);
  });
});

describe('the Ollama breaker', () => {
  let breakerFake: FakeOllama;
  let breakerServer: TestServer;
  let breakerOperator: Actor;
  const breakerAgents: string[] = [];

  beforeAll(async () => {
    breakerFake = await startFakeOllama({
      models: [FAST],
      tokenDelayMs: 15,
      scriptedReplies: (request) => {
        const call = readCall(request);
        return call?.kind === 'turn' ? turnReply(call.seat === 1 ? 'yes' : 'no', 0.7) : undefined;
      },
    });
    breakerServer = await startTestServer({
      env: {
        OLLAMA_HOST: breakerFake.url,
        JOB_POLL_MS: '100',
        OLLAMA_RETRIES: '0',
        OLLAMA_TIMEOUT_MS: '5000',
        // The window holds the last two calls, so the first failure after a success opens the breaker.
        OLLAMA_BREAKER_WINDOW: '2',
        OLLAMA_BREAKER_MIN_CALLS: '2',
        OLLAMA_BREAKER_FAILURE_RATE: '50',
        // A debate paused by a failed call tries again after 5 s; open for longer than that, the breaker
        // is still open at that retry, which pauses the debate with the circuit as its reason.
        OLLAMA_BREAKER_OPEN_MS: '6500',
        OLLAMA_BREAKER_HALF_OPEN_CALLS: '1',
      },
    });
    breakerOperator = await createActor(breakerServer, Role.OPERATOR, 'breaker-operator');
    for (const name of ['Galois', 'Hopper'])
      breakerAgents.push(await createAgent(breakerServer, breakerOperator, name, FAST));
  });

  afterAll(async () => {
    await breakerServer?.close();
    await breakerFake?.close();
  });

  it('pauses a running debate with the open circuit as the reason, and resumes it by itself once Ollama heals', async () => {
    const run = <TData, TVars>(document: TypedDocumentNode<TData, TVars>, variables: TVars) =>
      execute(breakerServer.url, document, variables, { token: breakerOperator.token });
    const created = await run(CreateDebateDocument, {
      input: {
        topic: 'Do breakers help?',
        participants: breakerAgents.map((agentId) => ({ agentId })),
        maxRounds: 3,
        consensusThreshold: 1,
      },
    });
    const id = created.data!.createDebate.id;
    const { events } = watch(id, { afterSeq: 0, actor: breakerOperator, target: breakerServer });
    expect((await run(StartDebateDocument, { id })).data?.startDebate.status).toBe('RUNNING');
    await waitForEvent(
      events,
      (event) => event.type === 'TURN_COMPLETED',
      'a first turn while Ollama is well',
    );

    breakerFake.setBehaviour({ status: 503 });
    // The failed call pauses the debate at once (and opens the breaker) ...
    const failed = await eventually(
      async () => {
        const debate = (await run(DebateDocument, { id, turnsFirst: 100 })).data?.debate;
        return debate?.status === 'PAUSED' ? debate : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'the debate to pause on the failed call' },
    );
    expect(failed.pauseKind).toBe('DEPENDENCY');
    expect(failed.statusReason).toMatch(/Ollama|circuit/);
    // ... and its retry, refused by the open breaker, pauses it again with the circuit as the reason.
    const paused = await eventually(
      async () => {
        const debate = (await run(DebateDocument, { id, turnsFirst: 100 })).data?.debate;
        return debate?.status === 'PAUSED' && /circuit is open/.test(debate.statusReason ?? '')
          ? debate
          : undefined;
      },
      { timeoutMs: 12_000, intervalMs: 100, what: 'the debate to pause on the open circuit' },
    );
    expect(paused.pauseKind).toBe('DEPENDENCY');
    expect(paused.statusReason).toContain(`ollama:${breakerFake.url}`);
    const storedWhileOpen = paused.figures.turns;
    expect(storedWhileOpen).toBeLessThan(6);

    breakerFake.setBehaviour({ status: undefined });
    const debate = await eventually(
      async () => {
        const current = (await run(DebateDocument, { id, turnsFirst: 100 })).data?.debate;
        return current?.status === 'CONCLUDED' ? current : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the debate to resume by itself and conclude' },
    );
    expect(debate).toMatchObject({
      conclusionReason: 'MAX_ROUNDS',
      pauseKind: null,
      statusReason: null,
      figures: { rounds: 3, turns: 6 },
    });
    expect(debate.turns.nodes.map((turn) => [turn.round, turn.seat])).toEqual(allTurns(3, 2));

    await waitForEvent(events, (event) => event.type === 'CONCLUDED', 'the CONCLUDED event');
    const statuses = eventsOf(events).filter((event) => event.type === 'STATUS_CHANGED');
    expect(statuses).toContainEqual(
      expect.objectContaining({ status: 'PAUSED', reason: expect.stringMatching(/circuit is open/) }),
    );
    expect(statuses.at(-1)).toMatchObject({
      status: 'RUNNING',
      reason: 'resumed: trying the dependency again',
    });
  });
});

describe('nested reads', () => {
  let readServer: TestServer;
  let owner: Actor;
  const readAgents: string[] = [];

  beforeAll(async () => {
    // Nothing runs on this server, and the job poller stays quiet: every statement is the request's.
    readServer = await startTestServer({
      env: { OLLAMA_HOST: 'http://127.0.0.1:9', JOB_POLL_MS: '3600000' },
    });
    owner = await createActor(readServer, Role.OPERATOR, 'reads-operator');
    for (const name of ['Ivy', 'Jules', 'Kepler'])
      readAgents.push(await createAgent(readServer, owner, name, FAST));
  });

  afterAll(async () => {
    await readServer?.close();
  });

  /** Concluded debates with 3 seats, 4 rounds and 12 turns each, written straight into the tables. */
  async function seedDebates(count: number): Promise<void> {
    const ids = Array.from({ length: count }, () => randomUUID());
    const userId = owner.session.user.id;
    const sql = `
      with d as (
        insert into debates (id, topic, status, created_by_id, max_rounds, consensus_threshold, current_round,
                             turn_count, tokens_used, conclusion_reason, summary, verdict, consensus,
                             started_at, ended_at, created_at, updated_at)
        select id, 'Seeded debate ' || id, 'CONCLUDED', $2, 4, 1, 4, 12, 1200, 'MAX_ROUNDS', 'Seeded.', 'yes', 0.5,
               now() - interval '1 hour', now(), clock_timestamp(), now()
          from unnest($1::uuid[]) as id
        returning id
      ), p as (
        insert into debate_participants (id, debate_id, seat, agent_id)
        select gen_random_uuid(), d.id, s, ($3::uuid[])[s] from d, generate_series(1, 3) s
      ), r as (
        insert into debate_rounds (id, debate_id, number, consensus, leading_position, position_changes, turns,
                                   tokens, completed_at)
        select gen_random_uuid(), d.id, n, 0.5, 'yes', 0, 3, 300, now() from d, generate_series(1, 4) n
      )
      insert into debate_turns (id, debate_id, round, seat, agent_id, content, position, confidence, valid,
                                repaired, prompt_tokens, completion_tokens, latency_ms, created_at)
      select gen_random_uuid(), d.id, n, s, ($3::uuid[])[s], 'Because.', 'yes', 0.5, true, false, 80, 20, 5, now()
        from d, generate_series(1, 4) n, generate_series(1, 3) s`;
    await query(readServer.databaseUrl, sql, [ids, userId, readAgents]);
  }

  async function countStatements(first: number): Promise<{ statements: string[]; nodes: number }> {
    const knex = readServer.app.orm.em.getConnection().getKnex();
    const statements: string[] = [];
    const listener = (data: { sql: string }) => statements.push(data.sql);
    knex.on('query', listener);
    try {
      const result = await execute(
        readServer.url,
        DebatesDocument,
        { first, turnsFirst: 10 },
        { token: owner.token },
      );
      expect(result.errors).toBeUndefined();
      const nodes = result.data!.debates.nodes;
      for (const node of nodes) {
        expect(node.turns.nodes).toHaveLength(10);
        expect(node.turns.nodes.map((turn) => turn.agent.name)).toEqual([
          'Ivy',
          'Jules',
          'Kepler',
          'Ivy',
          'Jules',
          'Kepler',
          'Ivy',
          'Jules',
          'Kepler',
          'Ivy',
        ]);
        expect(node.participants.map((participant) => participant.agent.name)).toEqual([
          'Ivy',
          'Jules',
          'Kepler',
        ]);
        expect(node.figures).toMatchObject({ rounds: 4, turns: 12 });
      }
      return { statements: [...statements], nodes: nodes.length };
    } finally {
      knex.removeListener('query', listener);
    }
  }

  it('reading 20 debates with their turns, turn agents and participants takes as many statements as reading 5', async () => {
    await seedDebates(5);
    const five = await countStatements(20);
    expect(five.nodes).toBe(5);

    await seedDebates(15);
    const twenty = await countStatements(20);
    expect(twenty.nodes).toBe(20);

    expect(twenty.statements.length, twenty.statements.join('\n')).toBeLessThanOrEqual(8);
    expect(twenty.statements.length, twenty.statements.join('\n')).toBe(five.statements.length);
  });
});
