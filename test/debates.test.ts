import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import {
  CreateAgentDocument,
  CreateDebateDocument,
  DebateDocument,
  DebateEventsDocument,
  StartDebateDocument,
  type DebateEventsSubscription,
} from '../src/sdk/generated/graphql.js';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.js';
import { createActor, type Actor } from './support/actors.js';
import { execute } from './support/client.js';
import { query } from './support/database.js';
import { eventually } from './support/eventually.js';
import { startTestServer, type TestServer } from './support/server.js';
import { connectWs, subscribe, type WsClient } from './support/ws.js';

let fake: FakeOllama;
let server: TestServer;
let operator: Actor;
const agentIds: string[] = [];
const sockets: WsClient[] = [];

type Event = DebateEventsSubscription['debateEvents'];

beforeAll(async () => {
  fake = await startFakeOllama({ tokenDelayMs: 2, replyTokens: 12 });
  server = await startTestServer({ env: { OLLAMA_HOST: fake.url, JOB_POLL_MS: '200' } });
  operator = await createActor(server, Role.OPERATOR, 'debate-operator');
  for (const name of ['Ada', 'Babbage', 'Curie']) {
    const created = await execute(
      server.url,
      CreateAgentDocument,
      { input: { name, model: 'llama3.2:3b', systemPrompt: `You are ${name}.` } },
      { token: operator.token },
    );
    agentIds.push(created.data!.createAgent.id);
  }
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
  await server?.close();
  await fake?.close();
});

async function createDebate(overrides: Record<string, unknown> = {}): Promise<string> {
  const created = await execute(
    server.url,
    CreateDebateDocument,
    {
      input: {
        topic: 'Is a hot dog a sandwich?',
        participants: agentIds.map((agentId) => ({ agentId })),
        maxRounds: 3,
        consensusThreshold: 1,
        ...overrides,
      },
    },
    { token: operator.token },
  );
  if (!created.data) throw new Error(JSON.stringify(created.errors));
  return created.data.createDebate.id;
}

function watch(debateId: string) {
  const ws = connectWs(server.wsUrl, operator.token);
  sockets.push(ws);
  return subscribe(ws, DebateEventsDocument, { debateId });
}

const eventsOf = (received: { debateEvents: Event }[]) => received.map((each) => each.debateEvents);

describe('debates', () => {
  it('a 3-agent, 3-round debate runs to the end; a subscriber sees every event in order', async () => {
    const debateId = await createDebate();
    const events = watch(debateId);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = await execute(
      server.url,
      StartDebateDocument,
      { id: debateId },
      { token: operator.token },
    );
    expect(started.data?.startDebate).toMatchObject({ status: 'RUNNING', currentRound: 1 });

    const concluded = await eventually(
      () => eventsOf(events.received).find((event) => event.type === 'CONCLUDED'),
      { timeoutMs: 30_000, what: 'the debate to conclude' },
    );
    expect(concluded).toMatchObject({ status: 'CONCLUDED', conclusionReason: 'MAX_ROUNDS' });
    expect(concluded.summary).toBeTruthy();

    const stored = eventsOf(events.received).filter((event) => event.type !== 'TURN_DELTA');
    const seqs = stored.map((event) => event.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const turns = stored.filter((event) => event.type === 'TURN_COMPLETED');
    expect(turns.map((event) => [event.round, event.seat])).toEqual([
      [1, 1],
      [1, 2],
      [1, 3],
      [2, 1],
      [2, 2],
      [2, 3],
      [3, 1],
      [3, 2],
      [3, 3],
    ]);
    const rounds = stored.filter((event) => event.type === 'ROUND_COMPLETED');
    expect(rounds.map((event) => event.round)).toEqual([1, 2, 3]);
    for (const round of rounds) expect(round.consensus).toBeGreaterThan(0);

    const debate = await execute(
      server.url,
      DebateDocument,
      { id: debateId, turnsFirst: 100 },
      { token: operator.token },
    );
    expect(debate.errors).toBeUndefined();
    expect(debate.data!.debate).toMatchObject({ status: 'CONCLUDED', figures: { rounds: 3, turns: 9 } });
    expect(debate.data!.debate.turns.nodes).toHaveLength(9);
    const rows = await query(
      server.databaseUrl,
      'select round, seat from debate_turns where debate_id = $1',
      [debateId],
    );
    expect(rows).toHaveLength(9);
  });
});
