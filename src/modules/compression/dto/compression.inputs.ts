import {
  ArrayMaxSize,
  ArrayMinSize,
  IsBase64,
  IsBoolean,
  IsInt,
  IsOptional,
  IsUUID,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { PageArgs } from '../../../common/pagination.js';
import { CompressionAlgorithm } from '../compression-algorithm.js';
import { CompressionRunStatus, CorpusKind } from '../compression-run.entity.js';

/** Hard ceilings for validation; the configured limits (lower by default) are checked by the service. */
const INLINE_CEILING_CHARS = 64 * 1024 * 1024;
const CORPUS_CEILING_BYTES = 1024 * 1024 * 1024;

@InputType({
  description: 'A built-in deterministic corpus: the same kind, size and seed give the same bytes.',
})
export class CorpusInput {
  @Field(() => CorpusKind, { description: 'What kind of data.' })
  kind!: CorpusKind;

  @Field(() => Int, {
    description: 'Size in bytes, from 1 up to the configured corpus limit (256 MiB by default).',
  })
  @IsInt()
  @Min(1)
  @Max(CORPUS_CEILING_BYTES)
  sizeBytes!: number;

  @Field(() => Int, { defaultValue: 1, description: 'Seed, 0–2,147,483,647.' })
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  seed: number = 1;
}

@InputType({ description: 'The data to compress: exactly one of `text`, `base64` or `corpus`.' })
export class CompressionDataInput {
  @Field(() => String, {
    nullable: true,
    description: 'Inline text (UTF-8), up to the inline limit (8 MiB by default).',
  })
  @IsOptional()
  @MinLength(1)
  @MaxLength(INLINE_CEILING_CHARS)
  text?: string;

  @Field(() => String, {
    nullable: true,
    description: 'Inline bytes as base64, up to the inline limit once decoded.',
  })
  @IsOptional()
  @MinLength(1)
  @MaxLength(INLINE_CEILING_CHARS)
  @IsBase64(undefined, { message: 'must be valid base64' })
  base64?: string;

  @Field(() => CorpusInput, { nullable: true, description: 'A generated corpus instead of uploaded data.' })
  @IsOptional()
  @ValidateNested()
  corpus?: CorpusInput;
}

@InputType({ description: 'A compression run to queue.' })
export class CreateCompressionRunInput {
  @Field(() => CompressionAlgorithm, { description: 'The algorithm.' })
  algorithm!: CompressionAlgorithm;

  @Field(() => Int, { nullable: true, description: 'The level; the algorithm’s default when omitted.' })
  @IsOptional()
  @IsInt()
  level?: number;

  @Field(() => CompressionDataInput, { description: 'The data.' })
  @ValidateNested()
  data!: CompressionDataInput;

  @Field(() => ID, {
    nullable: true,
    description:
      'An ACTIVE agent that executes the run; it must list the algorithm among its supported ones.',
  })
  @IsOptional()
  @IsUUID(undefined, { message: 'must be a UUID' })
  agentId?: string;

  @Field(() => Boolean, {
    defaultValue: false,
    description: 'Keep inline data after the run (by default only its size and checksum are kept).',
  })
  @IsBoolean()
  keepInput: boolean = false;
}

@InputType({ description: 'One (algorithm, level) of a suite.' })
export class SuiteRunInput {
  @Field(() => CompressionAlgorithm, { description: 'The algorithm.' })
  algorithm!: CompressionAlgorithm;

  @Field(() => Int, { nullable: true, description: 'The level; the algorithm’s default when omitted.' })
  @IsOptional()
  @IsInt()
  level?: number;
}

@InputType({ description: 'The same data across several algorithms and levels, compared when all are done.' })
export class CreateCompressionSuiteInput {
  @Field(() => CompressionDataInput, { description: 'The data, shared by every run.' })
  @ValidateNested()
  data!: CompressionDataInput;

  @Field(() => [SuiteRunInput], { description: '2–16 distinct (algorithm, level) pairs.' })
  @ArrayMinSize(2, { message: 'needs at least 2 runs' })
  @ArrayMaxSize(16, { message: 'takes at most 16 runs' })
  @ValidateNested({ each: true })
  runs!: SuiteRunInput[];

  @Field(() => ID, { nullable: true, description: 'An ACTIVE agent supporting every algorithm listed.' })
  @IsOptional()
  @IsUUID(undefined, { message: 'must be a UUID' })
  agentId?: string;

  @Field(() => Boolean, { defaultValue: false, description: 'Keep inline data after the runs.' })
  @IsBoolean()
  keepInput: boolean = false;
}

@InputType({ description: 'Which runs to return; all given conditions must hold.' })
export class CompressionRunFilter {
  @Field(() => CompressionAlgorithm, { nullable: true, description: 'Only this algorithm.' })
  @IsOptional()
  algorithm?: CompressionAlgorithm;

  @Field(() => CompressionRunStatus, { nullable: true, description: 'Only this status.' })
  @IsOptional()
  status?: CompressionRunStatus;

  @Field(() => ID, { nullable: true, description: 'Only runs this agent executed.' })
  @IsOptional()
  @IsUUID(undefined, { message: 'must be a UUID' })
  agentId?: string;
}

@ArgsType()
export class CompressionRunsArgs extends PageArgs {
  @Field(() => CompressionRunFilter, { nullable: true, description: 'Narrow the list (newest first).' })
  @IsOptional()
  @ValidateNested()
  filter?: CompressionRunFilter;
}
