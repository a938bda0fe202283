import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allTurns, debateBench, eventsOf, turnReply, waitForEvent } from './support/debates.js';

/*
 * How a debate ends by policy, and what a turn the model got wrong becomes: early conclusion on
 * consensus, the moderator, the token budget and structured-output repair. Debates run against the
 * scripted fake Ollama of support/debates.ts.
 */

const bench = debateBench();
const { agents, scripted, seats, createDebate, startDebate, waitForStatus, storedTurns, watch, callsFor } =
  bench;

beforeAll(async () => {
  await bench.start();
});

afterAll(async () => {
  await bench.close();
});

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
