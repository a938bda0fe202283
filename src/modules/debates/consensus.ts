/**
 * Consensus scoring for a debate round.
 *
 * Each seat's turn is a vote: a short position ("yes", "option B") and a confidence in [0, 1]. A turn
 * the agent failed to answer validly is an invalid vote (position null).
 *
 * - Positions are compared after `normalizePosition`: lower-cased, whitespace collapsed and trimmed,
 *   surrounding quotes, brackets and markdown emphasis stripped, trailing sentence punctuation
 *   (. , ; : ! ?) dropped — so "Yes." , " YES " and "**yes**" are one position.
 * - Weight of a valid vote: w_i = clamp(confidence_i, 0, 1); a null (or non-finite) confidence counts
 *   as 0.5.
 * - An invalid vote adds 0.5 to the total weight but belongs to no group: failing to answer dilutes
 *   consensus instead of being ignored.
 * - Valid votes are grouped by normalized position; score = max over groups of
 *   (sum of the group's weights) / (sum of all weights), a number in [0, 1].
 * - If the sum of all weights is 0 (every valid vote has confidence 0 and none is invalid), the score
 *   falls back to (size of the largest group) / (number of votes).
 * - No votes, or only invalid ones: score 0, no leading position, no supporters.
 * - Ties for the leading group go to the group whose lowest seat is lowest, so the result does not
 *   depend on the order of the votes. The leading position is reported in the original wording of
 *   that group's lowest seat; supporters are the group's seats, ascending.
 * - The score is rounded to 4 decimals.
 *
 * Position changes between two rounds count the seats that gave a valid answer in both rounds and
 * whose normalized position differs; a seat missing or invalid in either round is not counted, since
 * a failed turn says nothing about a change of mind.
 */

export interface PositionVote {
  seat: number;
  /** null: the seat gave no valid answer this round. */
  position: string | null;
  confidence: number | null;
}

export interface ConsensusResult {
  score: number;
  leadingPosition: string | null;
  /** Seats in the leading group, ascending. */
  supporters: number[];
}

const INVALID_VOTE_WEIGHT = 0.5;
const UNKNOWN_CONFIDENCE_WEIGHT = 0.5;
// Weights are sums of floats: 0.1 + 0.2 must tie with 0.3.
const EPSILON = 1e-9;

const LEADING_JUNK = /^[\s"'`“”‘’„‚«»‹›()[\]{}*_¿¡]+/u;
const TRAILING_JUNK = /[\s"'`“”‘’„‚«»‹›()[\]{}*_.,;:!?…]+$/u;

export function normalizePosition(position: string): string {
  const collapsed = position.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
  const stripped = collapsed.replace(LEADING_JUNK, '').replace(TRAILING_JUNK, '');
  // A position made only of punctuation ("?") keeps its own text rather than merging with every other one.
  return stripped === '' ? collapsed : stripped;
}

function weightOf(vote: PositionVote): number {
  if (vote.position === null) return INVALID_VOTE_WEIGHT;
  if (vote.confidence === null || !Number.isFinite(vote.confidence)) return UNKNOWN_CONFIDENCE_WEIGHT;
  return Math.min(1, Math.max(0, vote.confidence));
}

interface Group {
  weight: number;
  size: number;
  lowestSeat: number;
  lowestSeatText: string;
  seats: number[];
}

const round4 = (value: number) => Math.round(value * 10_000) / 10_000;

export function consensusScore(votes: PositionVote[]): ConsensusResult {
  const groups = new Map<string, Group>();
  let total = 0;
  for (const vote of votes) {
    const weight = weightOf(vote);
    total += weight;
    if (vote.position === null) continue;
    const key = normalizePosition(vote.position);
    const group = groups.get(key);
    if (!group) {
      groups.set(key, {
        weight,
        size: 1,
        lowestSeat: vote.seat,
        lowestSeatText: vote.position,
        seats: [vote.seat],
      });
      continue;
    }
    group.weight += weight;
    group.size += 1;
    group.seats.push(vote.seat);
    if (vote.seat < group.lowestSeat) {
      group.lowestSeat = vote.seat;
      group.lowestSeatText = vote.position;
    }
  }
  if (groups.size === 0) return { score: 0, leadingPosition: null, supporters: [] };

  const byWeight = total > 0;
  const measure = (group: Group) => (byWeight ? group.weight : group.size);
  let leader: Group | undefined;
  for (const group of groups.values()) {
    if (!leader) {
      leader = group;
      continue;
    }
    const difference = measure(group) - measure(leader);
    if (difference > EPSILON || (Math.abs(difference) <= EPSILON && group.lowestSeat < leader.lowestSeat)) {
      leader = group;
    }
  }
  const score = byWeight ? leader!.weight / total : leader!.size / votes.length;
  return {
    score: round4(Math.min(1, Math.max(0, score))),
    leadingPosition: leader!.lowestSeatText,
    supporters: [...leader!.seats].sort((a, b) => a - b),
  };
}

export function positionChanges(previous: PositionVote[], current: PositionVote[]): number {
  const before = latestValidPositions(previous);
  let changes = 0;
  for (const [seat, position] of latestValidPositions(current)) {
    const earlier = before.get(seat);
    if (earlier !== undefined && earlier !== position) changes += 1;
  }
  return changes;
}

/** Normalized position per seat; if a seat votes twice the later vote wins, and an invalid one clears it. */
function latestValidPositions(votes: PositionVote[]): Map<number, string> {
  const positions = new Map<number, string>();
  for (const vote of votes) {
    if (vote.position === null) positions.delete(vote.seat);
    else positions.set(vote.seat, normalizePosition(vote.position));
  }
  return positions;
}
