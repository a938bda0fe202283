// The seeded debate, played from the script in seed-content.ts and stored as the debate worker stores a
// real one: rows, the event stream (created, started, each turn, each round, moderator notes, concluded),
// the agents' work for their figures. Consensus and position changes are computed by the same functions
// the worker uses, so the numbers are the ones a real run with these answers would show.
import type { EntityManager } from '@mikro-orm/postgresql';
import { consensusScore, positionChanges, type PositionVote } from '../src/modules/debates/consensus.js';
import {
  ConclusionReason,
  Debate,
  DebateParticipant,
  DebateRound,
  DebateStatus,
  DebateTurn,
} from '../src/modules/debates/debate.entity.js';
import {
  DebateEventType,
  recordDebateEvent,
  roundSnapshot,
  turnSnapshot,
} from '../src/modules/debates/debates.events.js';
import { SEED_DEBATE } from './seed-content.js';
import { recordSeed, type SeedAgents, type SeedContext } from './seed-writers.js';

export interface SeededDebate {
  created: boolean;
  id: string;
  status: DebateStatus;
  conclusionReason: ConclusionReason | null;
  /** Consensus per round. */
  consensus: number[];
}

const CONCLUSION_TEXT: Partial<Record<ConclusionReason, string>> = {
  [ConclusionReason.CONSENSUS]: 'consensus reached the threshold',
  [ConclusionReason.MAX_ROUNDS]: 'the last round ended',
};

/** Token counts and latency of a plausible local model: prompts grow with the transcript. */
function work(text: string, transcriptTurns: number) {
  const completionTokens = Math.ceil(text.length / 4) + 24; // the JSON around the argument
  const promptTokens = 310 + transcriptTurns * 115;
  return { promptTokens, completionTokens, latencyMs: 420 + completionTokens * 26 };
}

async function recordWork(
  tx: EntityManager,
  agentId: string,
  spent: { promptTokens: number; completionTokens: number },
): Promise<void> {
  await tx.execute(`insert into agent_work (agent_id, prompt_tokens, completion_tokens) values (?, ?, ?)`, [
    agentId,
    spent.promptTokens,
    spent.completionTokens,
  ]);
}

export async function seedDebate(context: SeedContext, agents: SeedAgents): Promise<SeededDebate> {
  const em = context.orm.em.fork();
  const existing = await em.findOne(Debate, { createdBy: context.actor.id, topic: SEED_DEBATE.topic });
  const rounds = await (existing
    ? em.find(DebateRound, { debate: existing.id }, { orderBy: { number: 'asc' } })
    : []);
  if (existing) {
    return {
      created: false,
      id: existing.id,
      status: existing.status,
      conclusionReason: existing.conclusionReason,
      consensus: rounds.map((round) => round.consensus),
    };
  }

  const seats = SEED_DEBATE.seats.map((seat, index) => ({
    ...seat,
    number: index + 1,
    agent: agents[seat.agent],
  }));
  const moderator = agents[SEED_DEBATE.moderator];
  let clock = Date.now() - 10 * 60_000; // it ran ten minutes ago
  const at = (advanceMs: number) => new Date((clock += advanceMs));
  const consensus: number[] = [];

  const debate = await em.transactional(async (tx) => {
    const debate = tx.create(Debate, {
      topic: SEED_DEBATE.topic,
      createdBy: context.actor.id,
      moderator: moderator.id,
      maxRounds: SEED_DEBATE.maxRounds,
      consensusThreshold: SEED_DEBATE.consensusThreshold,
      createdAt: at(0),
    });
    for (const seat of seats)
      tx.create(DebateParticipant, {
        debate: debate.id,
        seat: seat.number,
        agent: seat.agent.id,
        stance: seat.stance,
      });
    await tx.flush();
    await recordDebateEvent(tx, debate, DebateEventType.STATUS_CHANGED, { reason: 'created' });
    Object.assign(debate, { status: DebateStatus.RUNNING, startedAt: at(20_000), currentRound: 1, epoch: 1 });
    await recordDebateEvent(tx, debate, DebateEventType.STATUS_CHANGED, { reason: 'started' });

    const finalVotes = new Map<number, PositionVote>();
    let previous: PositionVote[] = [];
    let reason: ConclusionReason | null = null;
    for (const [index, scripted] of SEED_DEBATE.rounds.entries()) {
      const number = index + 1;
      debate.currentRound = number;
      const votes: PositionVote[] = [];
      let roundTokens = 0;
      for (const seat of seats) {
        const answer = scripted.turns[seat.number - 1]!;
        const spent = work(answer.argument, debate.turnCount);
        await recordDebateEvent(tx, debate, DebateEventType.TURN_STARTED, {
          round: number,
          seat: seat.number,
        });
        const turn = tx.create(DebateTurn, {
          debate: debate.id,
          round: number,
          seat: seat.number,
          agent: seat.agent.id,
          content: answer.argument,
          position: answer.position,
          confidence: answer.confidence,
          valid: true,
          repaired: false,
          ...spent,
          createdAt: at(spent.latencyMs + 150),
        });
        debate.turnCount += 1;
        debate.tokensUsed += spent.promptTokens + spent.completionTokens;
        roundTokens += spent.promptTokens + spent.completionTokens;
        await recordWork(tx, seat.agent.id, spent);
        await recordDebateEvent(tx, debate, DebateEventType.TURN_COMPLETED, {
          round: number,
          seat: seat.number,
          turn: turnSnapshot(turn),
        });
        const vote = { seat: seat.number, position: answer.position, confidence: answer.confidence };
        votes.push(vote);
        finalVotes.set(seat.number, vote);
      }

      const score = consensusScore(votes);
      const round = tx.create(DebateRound, {
        debate: debate.id,
        number,
        consensus: score.score,
        leadingPosition: score.leadingPosition,
        positionChanges: number > 1 ? positionChanges(previous, votes) : 0,
        turns: votes.length,
        tokens: roundTokens,
        completedAt: at(200),
      });
      debate.consensus = score.score;
      consensus.push(score.score);
      await tx.flush();
      await recordDebateEvent(tx, debate, DebateEventType.ROUND_COMPLETED, {
        round: number,
        roundResult: roundSnapshot(round),
        consensus: score.score,
      });
      previous = votes;
      reason =
        score.score >= debate.consensusThreshold
          ? ConclusionReason.CONSENSUS
          : number >= debate.maxRounds
            ? ConclusionReason.MAX_ROUNDS
            : null;
      if (reason) break;

      const note = scripted.moderatorNote ?? 'Continue.';
      const spent = work(note, debate.turnCount);
      debate.tokensUsed += spent.promptTokens + spent.completionTokens;
      await recordWork(tx, moderator.id, spent);
      round.moderatorNote = note;
      clock += spent.latencyMs;
      await recordDebateEvent(tx, debate, DebateEventType.MODERATOR_NOTE, { round: number, reason: note });
    }

    const summaryWork = work(SEED_DEBATE.summary + SEED_DEBATE.verdict, debate.turnCount);
    debate.tokensUsed += summaryWork.promptTokens + summaryWork.completionTokens;
    await recordWork(tx, moderator.id, summaryWork);
    for (const seat of seats) {
      const vote = finalVotes.get(seat.number);
      await tx.nativeUpdate(
        DebateParticipant,
        { debate: debate.id, seat: seat.number },
        { finalPosition: vote?.position ?? null, finalConfidence: vote?.confidence ?? null },
      );
    }
    const endedAt = at(summaryWork.latencyMs);
    Object.assign(debate, {
      status: DebateStatus.CONCLUDED,
      conclusionReason: reason ?? ConclusionReason.MAX_ROUNDS,
      summary: SEED_DEBATE.summary,
      verdict: SEED_DEBATE.verdict,
      nextStep: null,
      endedAt,
      updatedAt: endedAt,
    });
    await recordDebateEvent(tx, debate, DebateEventType.CONCLUDED, {
      consensus: debate.consensus,
      conclusionReason: debate.conclusionReason!,
      summary: SEED_DEBATE.summary,
      verdict: SEED_DEBATE.verdict,
      reason: CONCLUSION_TEXT[debate.conclusionReason!],
    });
    recordSeed(tx, context, 'Debate', debate.id);
    return debate;
  });

  // The agents' figures (turns, tokens, latency percentiles) take in the work, as after any debate.
  for (const agent of new Set([...seats.map((seat) => seat.agent.id), moderator.id]))
    await context.agentStats.refresh(agent);
  return {
    created: true,
    id: debate.id,
    status: debate.status,
    conclusionReason: debate.conclusionReason,
    consensus,
  };
}
