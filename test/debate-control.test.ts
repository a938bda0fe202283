import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CancelDebateDocument,
  InterjectDocument,
  PauseDebateDocument,
  ResumeDebateDocument,
} from '../src/sdk/generated/graphql.js';
import type { Actor } from './support/actors.js';
import { execute } from './support/client.js';
import { query } from './support/database.js';
import {
  allTurns,
  debateBench,
  eventsOf,
  QUIET_MS,
  sleep,
  turnReply,
  waitForEvent,
} from './support/debates.js';
import { eventually } from './support/eventually.js';
import type { FakeOllama } from './support/fake-ollama.js';
import type { TestServer } from './support/server.js';

/*
 * Running debates by hand: pause, resume, cancel and interject while a turn is being generated, and
 * resuming a subscription. Debates run against the scripted fake Ollama of support/debates.ts, whose
 * MEDIUM and SLOW agents are slow enough for a test to act mid-turn.
 */

const bench = debateBench();
const {
  scripted,
  seats,
  createDebate,
  startDebate,
  readDebate,
  waitForStatus,
  storedTurns,
  watch,
  callsFor,
} = bench;
let fake: FakeOllama;
let server: TestServer;
let operator: Actor;

beforeAll(async () => {
  ({ fake, server, operator } = await bench.start());
});

afterAll(async () => {
  await bench.close();
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
