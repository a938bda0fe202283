import { randomUUID } from 'node:crypto';
import {
  BigIntType,
  Entity,
  Enum,
  Index,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  Unique,
  type Ref,
} from '@mikro-orm/core';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Agent } from '../agents/agent.entity.js';
import { User } from '../users/user.entity.js';

export enum DebateStatus {
  PENDING = 'PENDING',
  RUNNING = 'RUNNING',
  PAUSED = 'PAUSED',
  CONCLUDED = 'CONCLUDED',
  CANCELLED = 'CANCELLED',
  FAILED = 'FAILED',
}
registerEnumType(DebateStatus, {
  name: 'DebateStatus',
  description: 'PENDING → RUNNING ⇄ PAUSED → CONCLUDED | CANCELLED | FAILED.',
});

export enum ConclusionReason {
  CONSENSUS = 'CONSENSUS',
  MODERATOR = 'MODERATOR',
  MAX_ROUNDS = 'MAX_ROUNDS',
  TOKEN_BUDGET = 'TOKEN_BUDGET',
}
registerEnumType(ConclusionReason, {
  name: 'ConclusionReason',
  description:
    'Why a debate concluded: consensus reached the threshold, the moderator called it, the last round ended, or the token budget was spent.',
});

export enum PauseKind {
  /** Paused by a person (`pauseDebate`): resumed by a person. */
  MANUAL = 'MANUAL',
  /** Paused because a dependency (Ollama) is unavailable: resumes by itself. */
  DEPENDENCY = 'DEPENDENCY',
}
registerEnumType(PauseKind, { name: 'PauseKind', description: 'Who paused a debate and who resumes it.' });

/** One unit of orchestration: a seat's turn, the moderator's word after a round, or the conclusion. */
export type DebateStep =
  | { kind: 'turn'; round: number; seat: number }
  | { kind: 'moderate'; round: number }
  | { kind: 'conclude'; reason: ConclusionReason };

export const TERMINAL_STATUSES = [DebateStatus.CONCLUDED, DebateStatus.CANCELLED, DebateStatus.FAILED];

/** Running figures, updated in the transaction that stores each turn. */
@ObjectType({ description: 'How a debate went, kept current as it runs.' })
export class DebateFigures {
  @Field(() => Int, { description: 'Rounds completed.' })
  rounds!: number;

  @Field(() => Int, { description: 'Turns stored (each seat, each round).' })
  turns!: number;

  @Field(() => Int, { description: 'Turns whose output stayed invalid after a repair attempt.' })
  invalidTurns!: number;

  @Field(() => Float, { description: 'Prompt plus completion tokens spent, moderator included.' })
  tokens!: number;

  @Field(() => [Int], { description: 'How many agents changed position, per round (from round 2).' })
  positionChanges!: number[];

  @Field(() => Int, { nullable: true, description: 'From start to conclusion (or now), ms.' })
  durationMs!: number | null;
}

@ObjectType({ description: 'Several agents arguing a topic round by round, with consensus tracked.' })
@Entity({ tableName: 'debates' })
@Index({ properties: ['createdAt', 'id'] })
@Index({ properties: ['status', 'createdAt'] })
export class Debate {
  [OptionalProps]?:
    | 'status'
    | 'currentRound'
    | 'epoch'
    | 'tokensUsed'
    | 'turnCount'
    | 'invalidTurnCount'
    | 'nextStep'
    | 'createdAt'
    | 'updatedAt';

  @Field(() => ID, { description: 'Stable identifier (UUID).' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => String, { description: 'The question or proposition, 1–2,000 characters.' })
  @Property({ type: 'text' })
  topic!: string;

  @Field(() => DebateStatus, { description: 'Where it is in its life.' })
  @Enum({ items: () => DebateStatus, nativeEnumName: 'debate_status' })
  status: DebateStatus = DebateStatus.PENDING;

  @ManyToOne(() => User, { ref: true, deleteRule: 'cascade' })
  createdBy!: Ref<User>;

  @ManyToOne(() => Agent, { ref: true, nullable: true, deleteRule: 'restrict' })
  moderator!: Ref<Agent> | null;

  @Field(() => Int, { description: 'At most this many rounds (1–20).' })
  @Property({ type: 'integer' })
  maxRounds!: number;

  @Field(() => Float, { description: 'Concludes early once a round’s consensus reaches this (0–1).' })
  @Property({ type: 'double' })
  consensusThreshold!: number;

  @Field(() => Int, { nullable: true, description: 'Concludes once this many tokens are spent.' })
  @Property({ type: 'integer', nullable: true })
  tokenBudget: number | null = null;

  @Field(() => Int, { description: 'The round being played (0 before the start).' })
  @Property({ type: 'integer' })
  currentRound: number = 0;

  /**
   * The orchestration's fencing token: every start, pause, resume and cancel increments it, and a step
   * job only writes while the epoch it was queued under is current.
   */
  @Property({ type: 'integer' })
  epoch: number = 0;

  /** The orchestration's program counter: what runs next (written with every step's effect). */
  @Property({ type: 'json', nullable: true })
  nextStep: DebateStep | null = null;

  @Field(() => PauseKind, { nullable: true, description: 'While PAUSED: by a person or by a dependency.' })
  @Enum({ items: () => PauseKind, nativeEnumName: 'debate_pause_kind', nullable: true })
  pauseKind: PauseKind | null = null;

  @Field(() => String, { nullable: true, description: 'While PAUSED (or FAILED): why.' })
  @Property({ type: 'text', nullable: true })
  statusReason: string | null = null;

  @Field(() => ConclusionReason, { nullable: true, description: 'Once CONCLUDED: why.' })
  @Enum({ items: () => ConclusionReason, nativeEnumName: 'debate_conclusion_reason', nullable: true })
  conclusionReason: ConclusionReason | null = null;

  @Field(() => String, {
    nullable: true,
    description: 'Once CONCLUDED: the moderator’s (or a fallback) summary.',
  })
  @Property({ type: 'text', nullable: true })
  summary: string | null = null;

  @Field(() => String, { nullable: true, description: 'Once CONCLUDED: the position the debate settled on.' })
  @Property({ type: 'text', nullable: true })
  verdict: string | null = null;

  @Field(() => Float, { nullable: true, description: 'The last round’s consensus score (0–1).' })
  @Property({ type: 'double', nullable: true })
  consensus: number | null = null;

  @Property({ type: new BigIntType('number') })
  tokensUsed: number = 0;

  @Property({ type: 'integer' })
  turnCount: number = 0;

  @Property({ type: 'integer' })
  invalidTurnCount: number = 0;

  @Field(() => Date, { nullable: true, description: 'When it first started.' })
  @Property({ type: 'timestamptz', nullable: true })
  startedAt: Date | null = null;

  @Field(() => Date, { nullable: true, description: 'When it concluded, was cancelled or failed.' })
  @Property({ type: 'timestamptz', nullable: true })
  endedAt: Date | null = null;

  @Field(() => Date, { description: 'When it was created.' })
  @Property({ type: 'timestamptz', length: 3 })
  createdAt: Date = new Date();

  @Field(() => Date, { description: 'When it last changed.' })
  @Property({ type: 'timestamptz' })
  updatedAt: Date = new Date();
}

@ObjectType({ description: 'An agent’s seat in a debate.' })
@Entity({ tableName: 'debate_participants' })
@Unique({ properties: ['debate', 'seat'] })
@Index({ properties: ['agent'] })
export class DebateParticipant {
  [OptionalProps]?: 'stance' | 'finalPosition' | 'finalConfidence';

  @Field(() => ID, { description: 'Stable identifier (UUID).' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Debate, { ref: true, deleteRule: 'cascade' })
  debate!: Ref<Debate>;

  @Field(() => Int, { description: 'Seat number, from 1; turns go in seat order.' })
  @Property({ type: 'integer' })
  seat!: number;

  @ManyToOne(() => Agent, { ref: true, deleteRule: 'restrict' })
  agent!: Ref<Agent>;

  @Field(() => String, { nullable: true, description: 'A stance this seat is told to argue.' })
  @Property({ type: 'text', nullable: true })
  stance: string | null = null;

  @Field(() => String, { nullable: true, description: 'Once concluded: this seat’s last position.' })
  @Property({ type: 'text', nullable: true })
  finalPosition: string | null = null;

  @Field(() => Float, { nullable: true, description: 'Once concluded: this seat’s last confidence.' })
  @Property({ type: 'double', nullable: true })
  finalConfidence: number | null = null;
}

@ObjectType({ description: 'A finished round and how far the agents agreed.' })
@Entity({ tableName: 'debate_rounds' })
@Unique({ properties: ['debate', 'number'] })
export class DebateRound {
  [OptionalProps]?: 'leadingPosition' | 'moderatorNote' | 'completedAt';

  @Field(() => ID, { description: 'Stable identifier (UUID).' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Debate, { ref: true, deleteRule: 'cascade' })
  debate!: Ref<Debate>;

  @Field(() => Int, { description: 'Round number, from 1.' })
  @Property({ type: 'integer' })
  number!: number;

  @Field(() => Float, { description: 'Consensus score of this round’s positions (0–1; see the docs).' })
  @Property({ type: 'double' })
  consensus!: number;

  @Field(() => String, {
    nullable: true,
    description: 'The position with the most confidence-weighted support.',
  })
  @Property({ type: 'text', nullable: true })
  leadingPosition: string | null = null;

  @Field(() => Int, { description: 'Agents whose position differs from their previous round’s.' })
  @Property({ type: 'integer' })
  positionChanges!: number;

  @Field(() => Int, { description: 'Turns in the round (fewer than the seats if the budget ran out).' })
  @Property({ type: 'integer' })
  turns!: number;

  @Field(() => Int, { description: 'Tokens spent in the round.' })
  @Property({ type: 'integer' })
  tokens!: number;

  @Field(() => String, { nullable: true, description: 'The moderator’s word after this round, if asked.' })
  @Property({ type: 'text', nullable: true })
  moderatorNote: string | null = null;

  @Field(() => Date, { description: 'When the round ended.' })
  @Property({ type: 'timestamptz' })
  completedAt: Date = new Date();
}

/** One seat's turn in one round: `(debate, round, seat)` is unique, which makes a retried turn job harmless. */
@ObjectType({ description: 'One agent’s turn: its argument, position and confidence.' })
@Entity({ tableName: 'debate_turns' })
@Unique({ properties: ['debate', 'round', 'seat'] })
@Index({ properties: ['agent'] })
export class DebateTurn {
  [OptionalProps]?: 'position' | 'confidence' | 'problem' | 'createdAt';

  @Field(() => ID, { description: 'Stable identifier (UUID).' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Debate, { ref: true, deleteRule: 'cascade' })
  debate!: Ref<Debate>;

  @Field(() => Int, { description: 'Round number, from 1.' })
  @Property({ type: 'integer' })
  round!: number;

  @Field(() => Int, { description: 'Seat number, from 1.' })
  @Property({ type: 'integer' })
  seat!: number;

  @ManyToOne(() => Agent, { ref: true, deleteRule: 'restrict' })
  agent!: Ref<Agent>;

  @Field(() => String, { description: 'The argument (for an invalid turn: the raw output).' })
  @Property({ type: 'text' })
  content!: string;

  @Field(() => String, {
    nullable: true,
    description: 'A short answer or stance; null if the output was invalid.',
  })
  @Property({ type: 'text', nullable: true })
  position: string | null = null;

  @Field(() => Float, { nullable: true, description: 'How sure the agent is (0–1); null if invalid.' })
  @Property({ type: 'double', nullable: true })
  confidence: number | null = null;

  @Field(() => Boolean, { description: 'Whether the output matched the schema (after at most one repair).' })
  @Property({ type: 'boolean' })
  valid!: boolean;

  @Field(() => Boolean, { description: 'Whether a repair attempt was needed.' })
  @Property({ type: 'boolean' })
  repaired!: boolean;

  @Field(() => String, { nullable: true, description: 'For an invalid turn: what was wrong.' })
  @Property({ type: 'text', nullable: true })
  problem: string | null = null;

  @Field(() => Int, { description: 'Prompt tokens (all attempts).' })
  @Property({ type: 'integer' })
  promptTokens!: number;

  @Field(() => Int, { description: 'Completion tokens (all attempts).' })
  @Property({ type: 'integer' })
  completionTokens!: number;

  @Field(() => Int, { description: 'From the turn starting to being stored, ms.' })
  @Property({ type: 'integer' })
  latencyMs!: number;

  @Field(() => Date, { description: 'When it was stored.' })
  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();
}

/** A person's words to the agents; every seat sees them from the next round on. */
@ObjectType({ description: 'A human interjection, seen by every agent from the next round on.' })
@Entity({ tableName: 'debate_interjections' })
@Index({ properties: ['debate', 'createdAt'] })
export class DebateInterjection {
  [OptionalProps]?: 'createdAt';

  @Field(() => ID, { description: 'Stable identifier (UUID).' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Debate, { ref: true, deleteRule: 'cascade' })
  debate!: Ref<Debate>;

  @ManyToOne(() => User, { ref: true, deleteRule: 'cascade' })
  author!: Ref<User>;

  @Field(() => String, { description: 'What was said, 1–4,000 characters.' })
  @Property({ type: 'text' })
  content!: string;

  @Field(() => Int, { description: 'The round it followed (0: before the first); agents see it after.' })
  @Property({ type: 'integer' })
  afterRound!: number;

  @Field(() => Date, { description: 'When it was made.' })
  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();
}
