import type { EntityManager } from '@mikro-orm/postgresql';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { appendEvent, type StoredEvent } from '../../realtime/index.js';
import {
  ConclusionReason,
  DebateInterjection,
  DebateRound,
  DebateStatus,
  DebateTurn,
  type Debate,
} from './debate.entity.js';

export const debateStream = (debateId: string) => `debate:${debateId}`;

export enum DebateEventType {
  STATUS_CHANGED = 'STATUS_CHANGED',
  TURN_STARTED = 'TURN_STARTED',
  /** Ephemeral: the next piece of the argument being generated (coalesced, never replayed). */
  TURN_DELTA = 'TURN_DELTA',
  /** Ephemeral: a transient failure restarted the turn; drop its deltas so far. */
  TURN_RESTARTED = 'TURN_RESTARTED',
  TURN_COMPLETED = 'TURN_COMPLETED',
  ROUND_COMPLETED = 'ROUND_COMPLETED',
  MODERATOR_NOTE = 'MODERATOR_NOTE',
  INTERJECTION = 'INTERJECTION',
  CONCLUDED = 'CONCLUDED',
}
registerEnumType(DebateEventType, {
  name: 'DebateEventType',
  description: 'What happened in a debate. TURN_DELTA and TURN_RESTARTED are live only (not replayed).',
});

@ObjectType({ description: 'Something that happened in a debate, in order.' })
export class DebateEvent {
  @Field(() => Int, {
    description:
      'Position in the debate’s stream (deltas carry the last stored one); resume with `afterSeq`.',
  })
  seq!: number;

  @Field(() => DebateEventType, { description: 'What happened.' })
  type!: DebateEventType;

  @Field(() => ID, { description: 'The debate.' })
  debateId!: string;

  @Field(() => DebateStatus, { description: 'The debate’s status right after it happened.' })
  status!: DebateStatus;

  @Field(() => String, {
    nullable: true,
    description: 'STATUS_CHANGED: why (who paused, which dependency is down); MODERATOR_NOTE: the note.',
  })
  reason!: string | null;

  @Field(() => Int, { nullable: true, description: 'Turn and round events: the round.' })
  round!: number | null;

  @Field(() => Int, { nullable: true, description: 'Turn events: the seat.' })
  seat!: number | null;

  @Field(() => String, { nullable: true, description: 'TURN_DELTA: the next piece of the argument.' })
  delta!: string | null;

  @Field(() => DebateTurn, { nullable: true, description: 'TURN_COMPLETED: the stored turn.' })
  turn!: DebateTurn | null;

  @Field(() => DebateRound, { nullable: true, description: 'ROUND_COMPLETED: the round with its consensus.' })
  roundResult!: DebateRound | null;

  @Field(() => DebateInterjection, { nullable: true, description: 'INTERJECTION: what was said.' })
  interjection!: DebateInterjection | null;

  @Field(() => Float, { nullable: true, description: 'ROUND_COMPLETED and CONCLUDED: the consensus score.' })
  consensus!: number | null;

  @Field(() => ConclusionReason, { nullable: true, description: 'CONCLUDED: why.' })
  conclusionReason!: ConclusionReason | null;

  @Field(() => String, { nullable: true, description: 'CONCLUDED: the summary.' })
  summary!: string | null;

  @Field(() => String, { nullable: true, description: 'CONCLUDED: the verdict.' })
  verdict!: string | null;

  @Field(() => Date, { description: 'When it happened.' })
  occurredAt!: Date;
}

interface DebateEventPayload {
  status: DebateStatus;
  reason?: string | null;
  round?: number;
  seat?: number;
  agentId?: string;
  delta?: string;
  turn?: Record<string, unknown>;
  roundResult?: Record<string, unknown>;
  interjection?: Record<string, unknown>;
  consensus?: number | null;
  conclusionReason?: ConclusionReason;
  summary?: string;
  verdict?: string;
}

/** Appends to the debate's stream in the caller's transaction; returns the seq. */
export function recordDebateEvent(
  em: EntityManager,
  debate: Debate,
  type: DebateEventType,
  payload: Omit<DebateEventPayload, 'status'> = {},
): Promise<number> {
  return appendEvent(em, {
    stream: debateStream(debate.id),
    type,
    entityId: debate.id,
    payload: { status: debate.status, ...payload } as Record<string, unknown>,
  });
}

const iso = (date: Date) => date.toISOString();

export function turnSnapshot(turn: DebateTurn): Record<string, unknown> {
  return {
    id: turn.id,
    debateId: turn.debate.id,
    round: turn.round,
    seat: turn.seat,
    agentId: turn.agent.id,
    content: turn.content,
    position: turn.position,
    confidence: turn.confidence,
    valid: turn.valid,
    repaired: turn.repaired,
    problem: turn.problem,
    promptTokens: turn.promptTokens,
    completionTokens: turn.completionTokens,
    latencyMs: turn.latencyMs,
    createdAt: iso(turn.createdAt),
  };
}

export function roundSnapshot(round: DebateRound): Record<string, unknown> {
  return {
    id: round.id,
    debateId: round.debate.id,
    number: round.number,
    consensus: round.consensus,
    leadingPosition: round.leadingPosition,
    positionChanges: round.positionChanges,
    turns: round.turns,
    tokens: round.tokens,
    moderatorNote: round.moderatorNote,
    completedAt: iso(round.completedAt),
  };
}

export function interjectionSnapshot(interjection: DebateInterjection): Record<string, unknown> {
  return {
    id: interjection.id,
    debateId: interjection.debate.id,
    authorId: interjection.author.id,
    content: interjection.content,
    afterRound: interjection.afterRound,
    createdAt: iso(interjection.createdAt),
  };
}

/** Rebuilds an entity-shaped object from a snapshot, so the entity's field resolvers work on it. */
function revive<T extends object>(
  Type: new () => T,
  snapshot: Record<string, unknown> | undefined,
  refs: Record<string, string>,
  dates: string[],
): T | null {
  if (!snapshot) return null;
  const value = Object.assign(Object.create(Type.prototype) as T, snapshot);
  for (const [field, idField] of Object.entries(refs))
    (value as Record<string, unknown>)[field] = { id: snapshot[idField] };
  for (const field of dates) (value as Record<string, unknown>)[field] = new Date(String(snapshot[field]));
  return value;
}

// Built once per event, shared by every subscriber.
const built = new WeakMap<StoredEvent, DebateEvent>();

export function toDebateEvent(event: StoredEvent): DebateEvent {
  let result = built.get(event);
  if (!result) {
    const payload = event.payload as unknown as DebateEventPayload;
    result = {
      seq: event.seq,
      type: event.type as DebateEventType,
      debateId: event.stream.slice('debate:'.length),
      status: payload.status,
      reason: payload.reason ?? null,
      round: payload.round ?? null,
      seat: payload.seat ?? null,
      delta: payload.delta ?? null,
      turn: revive(DebateTurn, payload.turn, { debate: 'debateId', agent: 'agentId' }, ['createdAt']),
      roundResult: revive(DebateRound, payload.roundResult, { debate: 'debateId' }, ['completedAt']),
      interjection: revive(
        DebateInterjection,
        payload.interjection,
        { debate: 'debateId', author: 'authorId' },
        ['createdAt'],
      ),
      consensus: payload.consensus ?? null,
      conclusionReason: payload.conclusionReason ?? null,
      summary: payload.summary ?? null,
      verdict: payload.verdict ?? null,
      occurredAt: event.createdAt,
    };
    built.set(event, result);
  }
  return result;
}
