// What bench/debate.ts and its child processes agree on: how a generation is attributed to its turn
// (debate, round, seat), the scripted turn, and what the children report.
import type { FakeOllamaInferenceRequest } from '../src/testing/fake-ollama.js';
import type { ServerChildReport } from './support/server-child.js';

/** The fake finds the debate's index in the topic, the seat in the system prompt, the round in the request. */
export const debateTopic = (index: number) => `Bench debate ${index}: should every benchmark print JSON?`;

export interface TurnId {
  debate: number;
  round: number;
  seat: number;
}

export const turnKey = (turn: TurnId) => `${turn.debate}.${turn.round}.${turn.seat}`;

/** The turn a chat request asks for (see buildTurnPrompt), or undefined for anything else. */
export function turnOfRequest(request: FakeOllamaInferenceRequest): TurnId | undefined {
  const debate = /Bench debate (\d+):/.exec(request.lastUserMessage)?.[1];
  const seat = /You are seat (\d+) of/.exec(request.system ?? '')?.[1];
  const round = /Round (\d+): give your/.exec(request.lastUserMessage)?.[1];
  if (debate === undefined || seat === undefined || round === undefined) return undefined;
  return { debate: Number(debate), round: Number(round), seat: Number(seat) };
}

/**
 * The JSON around the argument is 12 tokens as the fake splits it ({ "argument" : … , "position" :
 * "stance-N" , "confidence" : 0.7 }); the argument's words make up the rest.
 */
const JSON_TOKENS = 12;

/** Words `d<debate>r<round>s<seat>t<index>`: any piece of the argument names its turn and words. */
export const argumentText = (turn: TurnId, tokens: number) =>
  Array.from(
    { length: Math.max(1, tokens - JSON_TOKENS) },
    (_, i) => `d${turn.debate}r${turn.round}s${turn.seat}t${i}`,
  ).join(' ');

/** A valid turn of exactly `tokens` tokens; seats hold different positions, so no round reaches consensus 1. */
export const turnReply = (turn: TurnId, tokens: number) => ({
  argument: argumentText(turn, tokens),
  position: `stance-${turn.seat}`,
  confidence: 0.7,
});

/** Every argument word in a piece of text, in order. */
export function argumentWords(text: string): (TurnId & { word: number })[] {
  return Array.from(text.matchAll(/d(\d+)r(\d+)s(\d+)t(\d+)/g), (match) => ({
    debate: Number(match[1]),
    round: Number(match[2]),
    seat: Number(match[3]),
    word: Number(match[4]),
  }));
}

export interface FakeGeneration extends TurnId {
  /** When the request reached the fake (its headers were parsed). */
  arrivedAt: number;
  /** `wordAt[i]`: when the fake wrote the token holding argument word i. */
  wordAt: number[];
  /** When the fake wrote the final `done` line; null if it never did. */
  doneAt: number | null;
}

export interface FakeReport {
  /** The last generation of each turn (a retried attempt replaces the earlier one). */
  generations: FakeGeneration[];
  /** Streams of a turn that was generated again (retries, repairs). */
  repeatedGenerations: number;
  /** Chat requests whose stream named no bench turn. */
  unattributed: number;
  cpuPercent: number;
  chatRequests: number;
  disconnects: number;
}

/** What the server child saw of one step job of a debate; times on the shared clock, absent if not reached. */
export interface StepTimes {
  debateId: string;
  /** `t<round>.<seat>`, `m<round>` or `c` (conclude). */
  step: string;
  attempts: number;
  /** The claim statement that returned this job: sent, answered. */
  claimSentAt?: number;
  claimedAt?: number;
  /** The step worker was called. */
  handlerAt?: number;
  /** watchForStop's hub.subscribe (after the worker read the debate row): called, resolved. */
  watchAt?: number;
  watchedAt?: number;
  /** The first transaction the step opened before completing (a turn's TURN_STARTED): begun, committed. */
  startedTxAt?: number;
  startedCommittedAt?: number;
  /** Ollama chat: called; its result back (the stream's last line parsed). */
  chatAt?: number;
  chatDoneAt?: number;
  /** JobQueue.complete: called; its transaction committed. */
  completeAt?: number;
  committedAt?: number;
  /** SQL statements run on the step's behalf (label, start, end), in order. */
  statements: [string, number, number][];
}

export interface DebateServerReport extends ServerChildReport {
  steps: StepTimes[];
  /** When the server's LISTEN connection got each event's NOTIFY, by `debate:<id>:<seq>`. */
  notifiedAt: Record<string, number>;
  /** Statements run outside any step (claims, fan-out reads, delta NOTIFYs): by label. */
  otherStatements: Record<string, { count: number; totalMs: number; maxMs: number }>;
  /** The ORM's connection pool, sampled every 10 ms while measuring. */
  pool: {
    max: number;
    usedP50: number;
    usedMax: number;
    waitingP50: number;
    waitingP99: number;
    waitingMax: number;
  };
  /** pg_stat_activity sampled every 20 ms (--pg-waits): active backends by wait event, in samples. */
  pgWaits: Record<string, number> | null;
  turnsStored: number;
  debatesByStatus: Record<string, number>;
}
