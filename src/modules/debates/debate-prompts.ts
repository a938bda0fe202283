import type { Message as ChatMessage } from 'ollama';
import { consensusScore } from './consensus.js';
import { POSITION_MAX_LENGTH } from './turn-output.js';

/**
 * Every prompt a debate sends, built in one place.
 *
 * The shape follows multi-agent debate (Du et al. 2023): each agent answers, then sees the other agents'
 * answers and may revise its own over rounds; an assigned stance per seat (Liang et al., MAD) keeps
 * views apart long enough for the arguments to be tested. A moderator decides after each round whether
 * to conclude and, at the end, summarises and judges when the agents did not converge.
 *
 * Transcript rules (all prompts):
 * - Deterministic: turns sorted by round then seat; human interjections by afterRound, then in the
 *   order given, each placed after the round it followed ("before round 1" for afterRound 0).
 * - A seat sees every turn of earlier rounds and the turns earlier seats already gave in the current
 *   round (turns within a round are sequential); interjections with afterRound < the current round.
 * - Bounded: when the transcript passes TRANSCRIPT_BUDGET characters, the oldest rounds are reduced to
 *   their position lines (one line per turn, no argument; interjections clipped), oldest first, until it
 *   fits. The previous and the current round always stay in full; if those alone are still too long, their
 *   arguments are clipped to an equal share of the budget (never below CLIPPED_ARGUMENT_MIN characters).
 */

export interface PromptSeat {
  seat: number;
  agentName: string;
  stance: string | null;
}

export interface PromptTurn {
  round: number;
  seat: number;
  agentName: string;
  argument: string;
  position: string | null;
  confidence: number | null;
  valid: boolean;
}

/** Made while round `afterRound` was running or last completed (0 = before round 1); seen from round afterRound + 1. */
export interface PromptInterjection {
  afterRound: number;
  author: string;
  content: string;
}

export interface DebateForPrompt {
  topic: string;
  maxRounds: number;
  seats: PromptSeat[];
}

export const TRANSCRIPT_BUDGET = 24_000;
export const CLIPPED_ARGUMENT_MIN = 600;
const COMPACT_INTERJECTION_LENGTH = 400;
const REPAIR_ECHO_LENGTH = 2_000;

const clip = (text: string, length: number) => (text.length > length ? `${text.slice(0, length)}…` : text);
const percent = (score: number) => `${Math.round(score * 100)}%`;
const formatConfidence = (confidence: number | null) => (confidence === null ? '?' : confidence.toFixed(2));
const isAnswered = (turn: PromptTurn): turn is PromptTurn & { position: string } =>
  turn.valid && turn.position !== null;

function turnHeadline(turn: PromptTurn): string {
  const label = `Round ${turn.round} — Seat ${turn.seat} (${turn.agentName}):`;
  if (!isAnswered(turn)) return `${label} (no valid answer)`;
  return `${label} ${turn.position} (confidence ${formatConfidence(turn.confidence)})`;
}

function interjectionHeadline(interjection: PromptInterjection): string {
  const when = interjection.afterRound === 0 ? 'before round 1' : `after round ${interjection.afterRound}`;
  return `Human interjection ${when} (${interjection.author}):`;
}

interface Entry {
  round: number;
  render(compact: boolean, argumentLength: number): string;
  argumentLength: number;
}

function entries(turns: PromptTurn[], interjections: PromptInterjection[]): Entry[] {
  const turnEntries = [...turns]
    .sort((a, b) => a.round - b.round || a.seat - b.seat)
    .map((turn): Entry & { order: number } => ({
      round: turn.round,
      order: 0,
      argumentLength: isAnswered(turn) ? turn.argument.length : 0,
      render: (compact, argumentLength) =>
        compact || !isAnswered(turn)
          ? turnHeadline(turn)
          : `${turnHeadline(turn)}\n${clip(turn.argument.trim(), argumentLength)}`,
    }));
  const interjectionEntries = interjections.map((interjection): Entry & { order: number } => ({
    round: interjection.afterRound,
    order: 1,
    argumentLength: 0,
    render: (compact) =>
      `${interjectionHeadline(interjection)} ${
        compact ? clip(interjection.content.trim(), COMPACT_INTERJECTION_LENGTH) : interjection.content.trim()
      }`,
  }));
  // Stable sort: a round's turns, then the interjections that followed it, in the order given.
  return [...turnEntries, ...interjectionEntries].sort((a, b) => a.round - b.round || a.order - b.order);
}

/** The transcript text, compacted as the module comment describes; rounds >= keepFrom stay in full. */
function transcript(turns: PromptTurn[], interjections: PromptInterjection[], keepFrom: number): string {
  const all = entries(turns, interjections);
  const render = (compactBefore: number, argumentLength = Infinity) => {
    const parts = all.map((entry) => entry.render(entry.round < compactBefore, argumentLength));
    const compacted = all.some((entry) => entry.round < compactBefore && entry.round > 0);
    if (compacted) {
      parts.unshift(
        `(Rounds before round ${compactBefore} are shown as positions only, to keep this short.)`,
      );
    }
    return parts.join('\n\n');
  };

  let text = render(-Infinity);
  if (text.length <= TRANSCRIPT_BUDGET) return text;
  const olderRounds = [...new Set(all.map((entry) => entry.round))].filter((round) => round < keepFrom);
  for (const round of olderRounds) {
    text = render(round + 1);
    if (text.length <= TRANSCRIPT_BUDGET) return text;
  }
  const fullArguments = all.filter((entry) => entry.round >= keepFrom && entry.argumentLength > 0).length;
  const fixed = render(keepFrom, 0).length;
  const share = Math.floor((TRANSCRIPT_BUDGET - fixed) / Math.max(1, fullArguments));
  return render(keepFrom, Math.max(CLIPPED_ARGUMENT_MIN, share));
}

function participants(debate: DebateForPrompt, you?: number): string {
  return [...debate.seats]
    .sort((a, b) => a.seat - b.seat)
    .map((seat) => `Seat ${seat.seat} (${seat.agentName}${seat.seat === you ? ', you' : ''})`)
    .join(', ');
}

const withOwnPrompt = (ownPrompt: string | null, instructions: string) =>
  ownPrompt?.trim() ? `${ownPrompt.trim()}\n\n${instructions}` : instructions;

function userMessage(topic: string, history: string, request: string): string {
  const parts = [`Debate topic: ${topic}`];
  if (history) parts.push(`Transcript so far:\n\n${history}`);
  parts.push(request);
  return parts.join('\n\n');
}

export function buildTurnPrompt(input: {
  debate: DebateForPrompt;
  seat: PromptSeat;
  agentSystemPrompt: string | null;
  round: number;
  turns: PromptTurn[];
  interjections: PromptInterjection[];
}): ChatMessage[] {
  const { debate, seat, round } = input;
  const stance = seat.stance?.trim()
    ? `Your assigned stance: ${seat.stance.trim()}. Argue for it in good faith; change your position only ` +
      `if the other agents' arguments genuinely convince you.`
    : 'You have no assigned stance: reason independently and take the position you find best supported.';
  const instructions = [
    `You are seat ${seat.seat} of ${debate.seats.length} (${seat.agentName}) in a debate among AI agents on this topic:`,
    debate.topic,
    '',
    `Participants: ${participants(debate, seat.seat)}.`,
    `The debate lasts at most ${debate.maxRounds} rounds. In each round every seat gives one turn, in seat ` +
      `order; from round 2 on you see the other agents' earlier answers and may revise yours.`,
    stance,
    '',
    'Answer ONLY with a JSON object with exactly these fields:',
    '{"argument": "...", "position": "...", "confidence": 0.8}',
    '- "argument": your reasoning for this turn, concise (a short paragraph); engage with the other ' +
      "agents' points where relevant.",
    `- "position": your answer or stance in at most a few words (for example "yes", "no", "option B"), ` +
      `at most ${POSITION_MAX_LENGTH} characters.`,
    '- "confidence": how sure you are of your position, a number from 0 to 1.',
    'Be concise. Write nothing outside the JSON object.',
  ].join('\n');

  const visibleTurns = input.turns.filter(
    (turn) => turn.round < round || (turn.round === round && turn.seat < seat.seat),
  );
  const visibleInterjections = input.interjections.filter((interjection) => interjection.afterRound < round);
  const history = transcript(visibleTurns, visibleInterjections, round - 1);
  const othersAnswered = visibleTurns.some((turn) => turn.seat !== seat.seat);
  const request =
    round > 1
      ? `Round ${round}: give your turn. Consider the other agents' answers; you may change your position.`
      : othersAnswered
        ? 'Round 1: give your turn. Consider the answers above, but reach your own position.'
        : 'Round 1: give your opening turn.';

  return [
    { role: 'system', content: withOwnPrompt(input.agentSystemPrompt, instructions) },
    { role: 'user', content: userMessage(debate.topic, history, request) },
  ];
}

export function buildRepairPrompt(
  previous: ChatMessage[],
  badOutput: string,
  problem: string,
): ChatMessage[] {
  // The bad reply is echoed clipped: a long ramble would cost context and add nothing to the correction.
  return [
    ...previous,
    { role: 'assistant', content: clip(badOutput, REPAIR_ECHO_LENGTH) },
    {
      role: 'user',
      content:
        `Your reply could not be used: ${problem}.\n` +
        'Reply again with ONLY a valid JSON object with exactly these three fields, and nothing else ' +
        '(no code fences, no commentary):\n' +
        '{"argument": "<your reasoning, a short paragraph>", "position": "<your answer in at most a few ' +
        `words, at most ${POSITION_MAX_LENGTH} characters>", "confidence": <a number from 0 to 1>}`,
    },
  ];
}

export function buildModeratorPrompt(input: {
  debate: DebateForPrompt;
  moderatorSystemPrompt: string | null;
  round: number;
  turns: PromptTurn[];
  interjections: PromptInterjection[];
  consensus: number;
}): ChatMessage[] {
  const { debate, round } = input;
  const instructions = [
    `You moderate a debate among ${debate.seats.length} AI agents on this topic:`,
    debate.topic,
    '',
    `Participants: ${participants(debate)}.`,
    `The debate lasts at most ${debate.maxRounds} rounds; round ${round} has just finished. Decide whether ` +
      'to conclude the debate now.',
    'Conclude when the agents have converged on a position, or when more rounds are unlikely to change ' +
      'anything (the arguments repeat, positions are entrenched). Continue while positions are still ' +
      'moving or an important point has not been answered.',
    '',
    'Answer ONLY with a JSON object: {"conclude": true or false, "reason": "one short sentence"}.',
  ].join('\n');
  const history = transcript(
    input.turns.filter((turn) => turn.round <= round),
    input.interjections.filter((interjection) => interjection.afterRound <= round),
    round,
  );
  const request =
    `Round ${round} of ${debate.maxRounds} is complete. Confidence-weighted consensus on the leading ` +
    `position: ${percent(input.consensus)}. Should the debate conclude now?`;
  return [
    { role: 'system', content: withOwnPrompt(input.moderatorSystemPrompt, instructions) },
    { role: 'user', content: userMessage(debate.topic, history, request) },
  ];
}

const lastRound = (turns: PromptTurn[]) => turns.reduce((max, turn) => Math.max(max, turn.round), 0);
const roundsText = (rounds: number) => `${rounds} round${rounds === 1 ? '' : 's'}`;

export function buildSummaryPrompt(input: {
  debate: DebateForPrompt;
  moderatorSystemPrompt: string | null;
  turns: PromptTurn[];
  interjections: PromptInterjection[];
  consensus: number;
  reason: string;
}): ChatMessage[] {
  const { debate } = input;
  const rounds = lastRound(input.turns);
  const instructions = [
    `You moderate and judge a debate among ${debate.seats.length} AI agents on this topic:`,
    debate.topic,
    '',
    `Participants: ${participants(debate)}.`,
    `The debate has ended after ${roundsText(rounds)}. Write its summary and verdict.`,
    '- "summary": a few sentences: the main arguments on each side, how positions moved, and where the ' +
      'agents ended up.',
    '- "verdict": the answer in at most a few words. If the agents converged, it is their shared position. ' +
      'If they did not, act as the judge: weigh the arguments on their merits, not by counting votes, ' +
      'and give the best-supported answer.',
    '',
    'Answer ONLY with a JSON object: {"summary": "...", "verdict": "..."}.',
  ].join('\n');
  const history = transcript(input.turns, input.interjections, rounds);
  const request =
    `The debate ended after ${roundsText(rounds)}: ${input.reason}. Confidence-weighted consensus on the ` +
    `leading position: ${percent(input.consensus)}. Give the summary and the verdict.`;
  return [
    { role: 'system', content: withOwnPrompt(input.moderatorSystemPrompt, instructions) },
    { role: 'user', content: userMessage(debate.topic, history, request) },
  ];
}

/** The summary when the moderator cannot give one: built from the final positions, no LLM involved. */
export function fallbackSummary(input: {
  debate: DebateForPrompt;
  finalTurns: PromptTurn[];
  consensus: number;
  reason: string;
  rounds: number;
}): { summary: string; verdict: string } {
  const seats = [...input.debate.seats].sort((a, b) => a.seat - b.seat);
  const finalBySeat = new Map<number, PromptTurn & { position: string }>();
  for (const turn of input.finalTurns) {
    const known = finalBySeat.get(turn.seat);
    if (isAnswered(turn) && (!known || turn.round >= known.round)) finalBySeat.set(turn.seat, turn);
  }
  const leading = consensusScore(
    [...finalBySeat.values()].map((turn) => ({
      seat: turn.seat,
      position: turn.position,
      confidence: turn.confidence,
    })),
  ).leadingPosition;
  const verdict = leading?.trim()
    ? [...leading.trim()].slice(0, POSITION_MAX_LENGTH).join('')
    : 'No verdict: no seat gave a valid answer';

  const reason = input.reason.trim() ? ` (${input.reason.trim()})` : '';
  const seatLines = seats.map((seat) => {
    const turn = finalBySeat.get(seat.seat);
    const name = `Seat ${seat.seat} (${seat.agentName})`;
    return turn
      ? `${name}: ${turn.position} (${formatConfidence(turn.confidence)})`
      : `${name}: no valid answer`;
  });
  const summary = [
    `After ${roundsText(input.rounds)}${reason} the debate reached ${percent(input.consensus)} consensus.`,
    leading?.trim() ? `Leading position: ${leading.trim()}.` : 'No seat gave a valid answer.',
    `${seatLines.join('; ')}.`,
  ].join(' ');
  return { summary, verdict };
}
