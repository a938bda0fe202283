import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { LockMode } from '@mikro-orm/core';
import type { Message as ChatMessage } from 'ollama';
import { DomainError, ServiceUnavailableError } from '../../common/errors.js';
import type { Job, JobContext, JobQueue } from '../../jobs/job-queue.js';
import { agentChatOptions } from '../../llm/agent-chat-options.js';
import type { ChatResult, OllamaProvider } from '../../llm/ollama.provider.js';
import type { Logger } from '../../observability/logger.js';
import type { EphemeralPublisher } from '../../realtime/event-log.js';
import type { EventHub } from '../../realtime/index.js';
import { LiveOutput, watchForStop } from '../../realtime/live-output.js';
import { Agent } from '../agents/agent.entity.js';
import type { AgentStatsKeeper } from '../agents/agent-stats.js';
import { consensusScore, positionChanges, type PositionVote } from './consensus.js';
import {
  ConclusionReason,
  Debate,
  DebateInterjection,
  DebateParticipant,
  DebateRound,
  DebateStatus,
  DebateTurn,
  PauseKind,
  type DebateStep,
} from './debate.entity.js';
import {
  buildModeratorPrompt,
  buildRepairPrompt,
  buildSummaryPrompt,
  buildTurnPrompt,
  fallbackSummary,
  type DebateForPrompt,
  type PromptInterjection,
  type PromptTurn,
} from './debate-prompts.js';
import {
  DEBATE_RESUME_JOB,
  DEBATE_STEP_JOB,
  enqueueAutoResume,
  enqueueNextStep,
  type DebateStepPayload,
} from './debate-steps.js';
import {
  DebateEventType,
  debateStream,
  recordDebateEvent,
  roundSnapshot,
  turnSnapshot,
} from './debates.events.js';
import { resumeDebate } from './debates.service.js';
import {
  ArgumentExtractor,
  MODERATOR_SCHEMA,
  parseModeratorDecision,
  parseSummary,
  parseTurnOutput,
  SUMMARY_SCHEMA,
  TURN_SCHEMA,
} from './turn-output.js';

export interface DebateWorkerDeps {
  orm: MikroORM;
  jobs: JobQueue;
  ollama: OllamaProvider;
  agentStats: AgentStatsKeeper;
  hub: EventHub;
  ephemeral: EphemeralPublisher;
  log: Logger;
}

const reasonText: Record<ConclusionReason, string> = {
  [ConclusionReason.CONSENSUS]: 'consensus reached the threshold',
  [ConclusionReason.MODERATOR]: 'the moderator called it',
  [ConclusionReason.MAX_ROUNDS]: 'the last round ended',
  [ConclusionReason.TOKEN_BUDGET]: 'the token budget was spent',
};

/**
 * Debates run as a chain of step jobs, one at a time per debate: each step (a seat's turn, the
 * moderator's word after a round, the conclusion) does its LLM work outside any transaction, then in
 * the transaction that completes its job stores its effect, moves the debate's `nextStep` and queues
 * that step. A step writes only while the debate is RUNNING under the epoch it was queued in (pause,
 * resume and cancel move the epoch), and turns are unique per (debate, round, seat): a step retried
 * after a crash, or running late on a replica that lost its lease, stores nothing twice.
 */
export function registerDebateWorker(deps: DebateWorkerDeps): void {
  deps.jobs.register(DEBATE_STEP_JOB, (job, context) => runStep(deps, job, context), {
    onFinalFailure: async (job, message) => {
      await deps.orm.em
        .fork()
        .transactional((tx) => failDebate(tx, job.payload as unknown as DebateStepPayload, message));
    },
  });
  deps.jobs.register(DEBATE_RESUME_JOB, (job, context) =>
    context.complete(async (tx) => {
      const { debateId, epoch } = job.payload as { debateId: string; epoch: number };
      const debate = await lockDebate(tx, debateId);
      if (debate?.status !== DebateStatus.PAUSED || debate.pauseKind !== PauseKind.DEPENDENCY) return;
      if (debate.epoch !== epoch) return;
      await resumeDebate(tx, debate, 'resumed: trying the dependency again');
      await enqueueNextStep(tx, deps.jobs, debate);
    }),
  );
}

const sameStep = (a: DebateStep | null, b: DebateStep) => JSON.stringify(a) === JSON.stringify(b);

/** Whether the step may still write: the debate runs, under the same epoch, and this is its next step. */
function isCurrent(debate: Debate | null, payload: DebateStepPayload): debate is Debate {
  return (
    debate?.status === DebateStatus.RUNNING &&
    debate.epoch === payload.epoch &&
    sameStep(debate.nextStep, payload.step)
  );
}

function lockDebate(tx: EntityManager, id: string): Promise<Debate | null> {
  return tx.findOne(Debate, id, { lockMode: LockMode.PESSIMISTIC_WRITE });
}

/** Everything a step needs to know about the debate so far, read once. */
interface Transcript {
  debate: Debate;
  forPrompt: DebateForPrompt;
  participants: DebateParticipant[];
  agents: Map<string, Agent>;
  turns: DebateTurn[];
  promptTurns: PromptTurn[];
  interjections: PromptInterjection[];
}

async function readTranscript(em: EntityManager, debate: Debate): Promise<Transcript> {
  const [participants, turns, interjections] = await Promise.all([
    em.find(DebateParticipant, { debate: debate.id }, { orderBy: { seat: 'asc' }, populate: ['agent'] }),
    em.find(DebateTurn, { debate: debate.id }, { orderBy: [{ round: 'asc' }, { seat: 'asc' }] }),
    em.find(
      DebateInterjection,
      { debate: debate.id },
      { orderBy: { createdAt: 'asc' }, populate: ['author'] },
    ),
  ]);
  const agents = new Map(participants.map((participant) => [participant.agent.id, participant.agent.$]));
  if (debate.moderator) agents.set(debate.moderator.id, await em.findOneOrFail(Agent, debate.moderator.id));
  const nameOfSeat = new Map(participants.map((participant) => [participant.seat, participant.agent.$.name]));
  return {
    debate,
    forPrompt: {
      topic: debate.topic,
      maxRounds: debate.maxRounds,
      seats: participants.map((participant) => ({
        seat: participant.seat,
        agentName: participant.agent.$.name,
        stance: participant.stance,
      })),
    },
    participants,
    agents,
    turns,
    promptTurns: turns.map((turn) => ({
      round: turn.round,
      seat: turn.seat,
      agentName: nameOfSeat.get(turn.seat) ?? 'unknown',
      argument: turn.content,
      position: turn.position,
      confidence: turn.confidence,
      valid: turn.valid,
    })),
    interjections: interjections.map((interjection) => ({
      afterRound: interjection.afterRound,
      author: interjection.author.$.email,
      content: interjection.content,
    })),
  };
}

async function runStep(deps: DebateWorkerDeps, job: Job, context: JobContext): Promise<void> {
  const payload = job.payload as unknown as DebateStepPayload;
  // Listen first, then read the row: a pause or cancel committed before the read shows in the row, one
  // committed after it arrives on the stream (no replay, and no cursor check, needed).
  const stop = await watchForStop(deps.hub, debateStream(payload.debateId), {
    afterSeq: undefined,
    stops: (event) =>
      event.type === DebateEventType.STATUS_CHANGED && event.payload.status !== DebateStatus.RUNNING
        ? `debate ${String(event.payload.status)}`
        : undefined,
    signal: context.signal,
  });
  const em = deps.orm.em.fork();
  // A turn is announced (TURN_STARTED) as it reads the row; other steps just read it.
  const debate = await (
    payload.step.kind === 'turn'
      ? announceTurn(deps, job, payload.step)
      : em.findOne(Debate, payload.debateId)
  ).catch(async (error: unknown) => {
    await stop.dispose();
    throw error;
  });
  // Paused, cancelled or moved on since this step was queued (or, for a turn, no longer this claim's):
  // nothing to do.
  if (!isCurrent(debate, payload)) {
    await stop.dispose();
    return context.complete(async () => undefined);
  }

  try {
    const transcript = await readTranscript(em, debate);
    const step = payload.step;
    if (step.kind === 'turn') await playTurn(deps, transcript, job, step, context, stop.signal);
    else if (step.kind === 'moderate')
      await moderate(deps, transcript, payload, step.round, context, stop.signal);
    else await conclude(deps, transcript, payload, step.reason, context, stop.signal);
  } catch (error) {
    if (stop.signal.aborted && !context.signal.aborted) {
      // Paused or cancelled mid-step: the step's work is dropped (a resume plays it again).
      await context.complete(async () => undefined);
      return;
    }
    if (error instanceof ServiceUnavailableError && String(error.details.circuit).startsWith('ollama:')) {
      // Ollama is away (its breaker open, or failing after retries): the debate pauses, visibly, and
      // tries again by itself when the breaker may let calls through (or after a few seconds).
      // Name the breaker if it has opened meanwhile: its refusal says until when, and when to try again.
      const reason = deps.ollama.circuit.isOpen ? deps.ollama.circuit.unavailable() : error;
      await context.complete((tx) => pauseForDependency(tx, deps.jobs, payload, reason));
      return;
    }
    if (error instanceof DomainError) {
      // E.g. the agent's model does not exist: trying again will not help.
      await context.complete((tx) => failDebate(tx, payload, error.message));
      return;
    }
    throw error; // retried by the queue with backoff; the last failure fails the debate
  } finally {
    await stop.dispose();
  }
}

async function chat(
  deps: DebateWorkerDeps,
  agent: Agent,
  messages: ChatMessage[],
  format: Record<string, unknown>,
  signal: AbortSignal,
  live?: { output: LiveOutput; extractor: ArgumentExtractor },
): Promise<ChatResult> {
  return deps.ollama.chat(
    { model: agent.model, messages, format, options: agentChatOptions(agent) },
    {
      signal,
      onDelta: live && ((delta) => live.output.write(live.extractor.push(delta))),
      onRestart:
        live &&
        (() => {
          live.extractor.reset();
          void live.output.restart(DebateEventType.TURN_RESTARTED);
        }),
    },
  );
}

const tokensOf = (result: ChatResult) => result.promptTokens + result.completionTokens;

/**
 * Locks the debate row and, while the step is current and this claim still holds its job (a stalled
 * worker must not announce a turn another now plays), appends TURN_STARTED. Returns the debate, or null
 * when the step is not this claim's to play.
 */
async function announceTurn(
  deps: DebateWorkerDeps,
  job: Job,
  step: Extract<DebateStep, { kind: 'turn' }>,
): Promise<Debate | null> {
  const payload = job.payload as unknown as DebateStepPayload;
  return deps.orm.em.fork().transactional(async (tx) => {
    const debate = await lockDebate(tx, payload.debateId);
    if (!isCurrent(debate, payload)) return null;
    const held = await tx.execute(
      `select 1 from jobs where id = ? and status = 'RUNNING' and lease_owner = ?`,
      [job.id, job.leaseToken],
    );
    if (held.length === 0) return null;
    await recordDebateEvent(tx, debate, DebateEventType.TURN_STARTED, {
      round: step.round,
      seat: step.seat,
      ...(job.attempts > 1 ? { reason: `attempt ${job.attempts}` } : {}),
    });
    return debate;
  });
}

async function playTurn(
  deps: DebateWorkerDeps,
  transcript: Transcript,
  job: Job,
  step: Extract<DebateStep, { kind: 'turn' }>,
  context: JobContext,
  signal: AbortSignal,
): Promise<void> {
  const payload = job.payload as unknown as DebateStepPayload;
  const started = performance.now();
  const { debate } = transcript;
  const participant = transcript.participants.find((candidate) => candidate.seat === step.seat);
  if (!participant) throw new Error(`debate ${debate.id} has no seat ${step.seat}`);
  const agent = transcript.agents.get(participant.agent.id)!;
  const output = new LiveOutput({
    publisher: deps.ephemeral,
    stream: debateStream(debate.id),
    deltaType: DebateEventType.TURN_DELTA,
    context: { status: DebateStatus.RUNNING, round: step.round, seat: step.seat },
    log: deps.log,
  });
  const extractor = new ArgumentExtractor();
  try {
    const messages = buildTurnPrompt({
      debate: transcript.forPrompt,
      seat: transcript.forPrompt.seats.find((seat) => seat.seat === step.seat)!,
      agentSystemPrompt: agent.systemPrompt,
      round: step.round,
      turns: transcript.promptTurns,
      interjections: transcript.interjections,
    });
    const first = await chat(deps, agent, messages, TURN_SCHEMA, signal, { output, extractor });
    let promptTokens = first.promptTokens;
    let completionTokens = first.completionTokens;
    let raw = first.content;
    let parsed = parseTurnOutput(raw);
    const repaired = !parsed.ok;
    if (!parsed.ok) {
      // One repair attempt, shown live as a restart of the turn.
      extractor.reset();
      void output.restart(DebateEventType.TURN_RESTARTED);
      const repairMessages = buildRepairPrompt(messages, raw, parsed.problem);
      const second = await chat(deps, agent, repairMessages, TURN_SCHEMA, signal, { output, extractor });
      promptTokens += second.promptTokens;
      completionTokens += second.completionTokens;
      const reparsed = parseTurnOutput(second.content);
      parsed = reparsed;
      if (!reparsed.ok) raw = second.content;
    }
    await output.close();
    const latencyMs = Math.round(performance.now() - started);
    await context.complete((tx) =>
      storeTurn(tx, deps, payload, step, transcript, {
        agentId: agent.id,
        content: parsed.ok ? parsed.value.argument : raw,
        position: parsed.ok ? parsed.value.position : null,
        confidence: parsed.ok ? parsed.value.confidence : null,
        valid: parsed.ok,
        repaired,
        problem: parsed.ok ? null : parsed.problem,
        promptTokens,
        completionTokens,
        latencyMs,
      }),
    );
  } finally {
    await output.close();
  }
}

const votesOf = (turns: DebateTurn[]): PositionVote[] =>
  turns.map((turn) => ({
    seat: turn.seat,
    position: turn.valid ? turn.position : null,
    confidence: turn.confidence,
  }));

async function storeTurn(
  tx: EntityManager,
  deps: DebateWorkerDeps,
  payload: DebateStepPayload,
  step: Extract<DebateStep, { kind: 'turn' }>,
  transcript: Transcript,
  data: Omit<DebateTurn, 'id' | 'debate' | 'round' | 'seat' | 'agent' | 'createdAt'> & { agentId: string },
): Promise<void> {
  const debate = await lockDebate(tx, payload.debateId);
  if (!isCurrent(debate, payload)) return; // paused, cancelled or already stored: write nothing
  const { agentId, ...fields } = data;
  const turn = tx.create(DebateTurn, {
    ...fields,
    debate: debate.id,
    round: step.round,
    seat: step.seat,
    agent: agentId,
  });
  debate.turnCount += 1;
  if (!turn.valid) debate.invalidTurnCount += 1;
  debate.tokensUsed += turn.promptTokens + turn.completionTokens;
  await deps.agentStats.record(tx, agentId, turn); // flushes: the unique (debate, round, seat) is checked here
  await recordDebateEvent(tx, debate, DebateEventType.TURN_COMPLETED, {
    round: step.round,
    seat: step.seat,
    turn: turnSnapshot(turn),
  });

  const seats = transcript.participants.length;
  const budgetSpent = debate.tokenBudget !== null && debate.tokensUsed >= debate.tokenBudget;
  let next: DebateStep;
  if (step.seat < seats && !budgetSpent) {
    next = { kind: 'turn', round: step.round, seat: step.seat + 1 };
  } else {
    const roundTurns = [...transcript.turns.filter((other) => other.round === step.round), turn];
    const previous = transcript.turns.filter((other) => other.round === step.round - 1);
    const result = consensusScore(votesOf(roundTurns));
    const round = tx.create(DebateRound, {
      debate: debate.id,
      number: step.round,
      consensus: result.score,
      leadingPosition: result.leadingPosition,
      positionChanges: step.round > 1 ? positionChanges(votesOf(previous), votesOf(roundTurns)) : 0,
      turns: roundTurns.length,
      tokens: roundTurns.reduce((sum, each) => sum + each.promptTokens + each.completionTokens, 0),
    });
    debate.consensus = result.score;
    await tx.flush();
    await recordDebateEvent(tx, debate, DebateEventType.ROUND_COMPLETED, {
      round: step.round,
      roundResult: roundSnapshot(round),
      consensus: result.score,
    });
    const reason = budgetSpent
      ? ConclusionReason.TOKEN_BUDGET
      : result.score >= debate.consensusThreshold
        ? ConclusionReason.CONSENSUS
        : step.round >= debate.maxRounds
          ? ConclusionReason.MAX_ROUNDS
          : null;
    if (reason) next = { kind: 'conclude', reason };
    else if (debate.moderator) next = { kind: 'moderate', round: step.round };
    else {
      next = { kind: 'turn', round: step.round + 1, seat: 1 };
      debate.currentRound = step.round + 1;
    }
  }
  debate.nextStep = next;
  debate.updatedAt = new Date();
  await enqueueNextStep(tx, deps.jobs, debate);
}

async function moderate(
  deps: DebateWorkerDeps,
  transcript: Transcript,
  payload: DebateStepPayload,
  round: number,
  context: JobContext,
  signal: AbortSignal,
): Promise<void> {
  const { debate } = transcript;
  const moderator = transcript.agents.get(debate.moderator!.id)!;
  const result = await chat(
    deps,
    moderator,
    buildModeratorPrompt({
      debate: transcript.forPrompt,
      moderatorSystemPrompt: moderator.systemPrompt,
      round,
      turns: transcript.promptTurns,
      interjections: transcript.interjections,
      consensus: debate.consensus ?? 0,
    }),
    MODERATOR_SCHEMA,
    signal,
  );
  const decision = parseModeratorDecision(result.content);
  // An unreadable decision is not a reason to stop a debate: it goes on, and the note says why.
  const conclude = decision.ok && decision.value.conclude;
  const note = decision.ok
    ? decision.value.reason
    : `moderator output unusable (${decision.problem}); continuing`;
  await context.complete(async (tx) => {
    const current = await lockDebate(tx, payload.debateId);
    if (!isCurrent(current, payload)) return;
    current.tokensUsed += tokensOf(result);
    await deps.agentStats.record(tx, moderator.id, result);
    await tx.nativeUpdate(DebateRound, { debate: current.id, number: round }, { moderatorNote: note });
    await recordDebateEvent(tx, current, DebateEventType.MODERATOR_NOTE, { round, reason: note });
    const budgetSpent = current.tokenBudget !== null && current.tokensUsed >= current.tokenBudget;
    if (conclude) current.nextStep = { kind: 'conclude', reason: ConclusionReason.MODERATOR };
    else if (budgetSpent) current.nextStep = { kind: 'conclude', reason: ConclusionReason.TOKEN_BUDGET };
    else {
      current.nextStep = { kind: 'turn', round: round + 1, seat: 1 };
      current.currentRound = round + 1;
    }
    current.updatedAt = new Date();
    await enqueueNextStep(tx, deps.jobs, current);
  });
}

async function conclude(
  deps: DebateWorkerDeps,
  transcript: Transcript,
  payload: DebateStepPayload,
  reason: ConclusionReason,
  context: JobContext,
  signal: AbortSignal,
): Promise<void> {
  const { debate } = transcript;
  const finalTurns = new Map<number, PromptTurn>();
  for (const turn of transcript.promptTurns) if (turn.valid) finalTurns.set(turn.seat, turn);
  const consensus = debate.consensus ?? 0;
  const rounds = Math.max(0, ...transcript.turns.map((turn) => turn.round));
  const fallback = () =>
    fallbackSummary({
      debate: transcript.forPrompt,
      finalTurns: [...finalTurns.values()],
      consensus,
      reason: reasonText[reason],
      rounds,
    });

  let outcome = fallback();
  let spent: ChatResult | undefined;
  const moderator = debate.moderator ? transcript.agents.get(debate.moderator.id) : undefined;
  if (moderator) {
    spent = await chat(
      deps,
      moderator,
      buildSummaryPrompt({
        debate: transcript.forPrompt,
        moderatorSystemPrompt: moderator.systemPrompt,
        turns: transcript.promptTurns,
        interjections: transcript.interjections,
        consensus,
        reason: reasonText[reason],
      }),
      SUMMARY_SCHEMA,
      signal,
    );
    const parsed = parseSummary(spent.content);
    if (parsed.ok) outcome = parsed.value; // else the deterministic summary stands
  }

  await context.complete(async (tx) => {
    const current = await lockDebate(tx, payload.debateId);
    if (!isCurrent(current, payload)) return;
    if (spent && moderator) {
      current.tokensUsed += tokensOf(spent);
      await deps.agentStats.record(tx, moderator.id, spent);
    }
    for (const participant of transcript.participants) {
      const last = finalTurns.get(participant.seat);
      await tx.nativeUpdate(
        DebateParticipant,
        { id: participant.id },
        { finalPosition: last?.position ?? null, finalConfidence: last?.confidence ?? null },
      );
    }
    Object.assign(current, {
      status: DebateStatus.CONCLUDED,
      conclusionReason: reason,
      summary: outcome.summary,
      verdict: outcome.verdict,
      nextStep: null,
      endedAt: new Date(),
      updatedAt: new Date(),
    });
    await recordDebateEvent(tx, current, DebateEventType.CONCLUDED, {
      consensus: current.consensus,
      conclusionReason: reason,
      summary: outcome.summary,
      verdict: outcome.verdict,
      reason: reasonText[reason],
    });
  });
}

async function pauseForDependency(
  tx: EntityManager,
  jobs: JobQueue,
  payload: DebateStepPayload,
  error: ServiceUnavailableError,
): Promise<void> {
  const debate = await lockDebate(tx, payload.debateId);
  if (!isCurrent(debate, payload)) return;
  debate.status = DebateStatus.PAUSED;
  debate.pauseKind = PauseKind.DEPENDENCY;
  debate.statusReason = error.message;
  debate.epoch += 1;
  debate.updatedAt = new Date();
  await recordDebateEvent(tx, debate, DebateEventType.STATUS_CHANGED, { reason: error.message });
  const breakerRefused = error.details.circuitState !== undefined;
  await enqueueAutoResume(tx, jobs, debate, breakerRefused ? Number(error.details.retryAfter ?? 1) : 5);
}

async function failDebate(tx: EntityManager, payload: DebateStepPayload, message: string): Promise<void> {
  const debate = await lockDebate(tx, payload.debateId);
  if (!isCurrent(debate, payload)) return;
  Object.assign(debate, {
    status: DebateStatus.FAILED,
    statusReason: message,
    nextStep: null,
    epoch: debate.epoch + 1,
    endedAt: new Date(),
    updatedAt: new Date(),
  });
  await recordDebateEvent(tx, debate, DebateEventType.STATUS_CHANGED, { reason: message });
}
