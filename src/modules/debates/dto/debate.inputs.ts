import {
  ArrayMaxSize,
  ArrayMinSize,
  IsInt,
  IsNumber,
  IsOptional,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { ArgsType, Field, Float, ID, InputType, Int } from 'type-graphql';
import { PageArgs } from '../../../common/pagination.js';
import { DebateStatus } from '../debate.entity.js';

/** Limits named in the inputs' descriptions and checked by class-validator. */
export const DEBATE_LIMITS = {
  topicMax: 2_000,
  stanceMax: 1_000,
  seatsMin: 2,
  seatsMax: 8,
  roundsMax: 20,
  interjectionMax: 4_000,
  tokenBudgetMax: 10_000_000,
} as const;

@InputType({ description: 'A seat in a debate: the agent taking it, and optionally a stance to argue.' })
export class DebateSeatInput {
  @Field(() => ID, { description: 'An ACTIVE agent.' })
  @IsUUID(undefined, { message: 'must be a UUID' })
  agentId!: string;

  @Field(() => String, {
    nullable: true,
    description: `A stance this seat argues, up to ${DEBATE_LIMITS.stanceMax} characters.`,
  })
  @IsOptional()
  @MaxLength(DEBATE_LIMITS.stanceMax)
  stance?: string;
}

@InputType({ description: 'A new debate. It waits as PENDING until `startDebate`.' })
export class CreateDebateInput {
  @Field(() => String, {
    description: `The question or proposition, 1–${DEBATE_LIMITS.topicMax} characters.`,
  })
  @Matches(/\S/, { message: 'must not be blank' })
  @MaxLength(DEBATE_LIMITS.topicMax)
  topic!: string;

  @Field(() => [DebateSeatInput], {
    description: `${DEBATE_LIMITS.seatsMin}–${DEBATE_LIMITS.seatsMax} seats, in speaking order. An agent may hold several.`,
  })
  @ArrayMinSize(DEBATE_LIMITS.seatsMin, { message: `needs at least ${DEBATE_LIMITS.seatsMin} participants` })
  @ArrayMaxSize(DEBATE_LIMITS.seatsMax, { message: `takes at most ${DEBATE_LIMITS.seatsMax} participants` })
  @ValidateNested({ each: true })
  participants!: DebateSeatInput[];

  @Field(() => ID, {
    nullable: true,
    description: 'An agent that may stop the debate early after a round and writes the summary.',
  })
  @IsOptional()
  @IsUUID(undefined, { message: 'must be a UUID' })
  moderatorAgentId?: string;

  @Field(() => Int, {
    defaultValue: 3,
    description: `At most this many rounds, 1–${DEBATE_LIMITS.roundsMax}.`,
  })
  @IsInt()
  @Min(1)
  @Max(DEBATE_LIMITS.roundsMax)
  maxRounds: number = 3;

  @Field(() => Float, {
    defaultValue: 0.8,
    description: 'Concludes early once a round’s consensus score reaches this, 0–1.',
  })
  @IsNumber()
  @Min(0)
  @Max(1)
  consensusThreshold: number = 0.8;

  @Field(() => Int, {
    nullable: true,
    description: `Concludes once this many tokens are spent, 1–${DEBATE_LIMITS.tokenBudgetMax.toLocaleString('en')}.`,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(DEBATE_LIMITS.tokenBudgetMax)
  tokenBudget?: number;
}

@InputType({ description: 'Which debates to return; all given conditions must hold.' })
export class DebateFilter {
  @Field(() => DebateStatus, { nullable: true, description: 'Only debates in this status.' })
  @IsOptional()
  status?: DebateStatus;

  @Field(() => ID, { nullable: true, description: 'Only debates this agent takes a seat in.' })
  @IsOptional()
  @IsUUID(undefined, { message: 'must be a UUID' })
  participantAgentId?: string;

  @Field(() => ID, { nullable: true, description: 'Only debates created by this user.' })
  @IsOptional()
  @IsUUID(undefined, { message: 'must be a UUID' })
  createdById?: string;
}

@ArgsType()
export class DebatesArgs extends PageArgs {
  @Field(() => DebateFilter, { nullable: true, description: 'Narrow the list (newest first).' })
  @IsOptional()
  @ValidateNested()
  filter?: DebateFilter;
}

@ArgsType()
export class InterjectArgs {
  @Field(() => ID, { description: 'The debate.' })
  @IsUUID(undefined, { message: 'must be a UUID' })
  debateId!: string;

  @Field(() => String, {
    description: `What to tell the agents, 1–${DEBATE_LIMITS.interjectionMax} characters; every seat sees it from the next round on.`,
  })
  @Matches(/\S/, { message: 'must not be blank' })
  @MaxLength(DEBATE_LIMITS.interjectionMax)
  content!: string;
}
