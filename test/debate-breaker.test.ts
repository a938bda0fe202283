import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import { CreateDebateDocument, DebateDocument, StartDebateDocument } from '../src/sdk/generated/graphql.js';
import { createActor, type Actor } from './support/actors.js';
import { execute } from './support/client.js';
import {
  allTurns,
  createAgent,
  eventsOf,
  FAST,
  readCall,
  turnReply,
  waitForEvent,
  watchDebate,
  type WatchOptions,
} from './support/debates.js';
import { eventually } from './support/eventually.js';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.js';
import { startTestServer, type TestServer } from './support/server.js';
import type { WsClient } from './support/ws.js';

/*
 * The Ollama breaker seen from a running debate: a failing Ollama pauses it, the open circuit keeps it
 * paused, and it resumes by itself once Ollama heals. A server and fake of their own, with a breaker
 * that opens on the first failure after a success.
 */

const sockets: WsClient[] = [];
const watch = (debateId: string, options: WatchOptions) => watchDebate(sockets, debateId, options);

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
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
