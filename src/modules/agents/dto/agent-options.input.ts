import { ArrayMaxSize, IsInt, IsNumber, IsOptional, Max, MaxLength, Min } from 'class-validator';
import { Field, Float, InputType, Int } from 'type-graphql';

@InputType({ description: 'Ollama options for an agent. Omit a field for the model default.' })
export class AgentOptionsInput {
  @Field(() => Float, { nullable: true, description: 'Nucleus sampling, 0–1.' })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(1)
  topP?: number;

  @Field(() => Int, { nullable: true, description: 'Top-k sampling, 1–1000.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1000)
  topK?: number;

  @Field(() => Int, { nullable: true, description: 'Context window in tokens, 256–1,048,576.' })
  @IsOptional()
  @IsInt()
  @Min(256)
  @Max(1_048_576)
  numCtx?: number;

  @Field(() => Int, {
    nullable: true,
    description: 'Maximum tokens to generate, 1–131,072 (-1 for no limit).',
  })
  @IsOptional()
  @IsInt()
  @Min(-1)
  @Max(131_072)
  numPredict?: number;

  @Field(() => Float, { nullable: true, description: 'Repetition penalty, 0–2.' })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(2)
  repeatPenalty?: number;

  @Field(() => Int, { nullable: true, description: 'Sampling seed.' })
  @IsOptional()
  @IsInt()
  seed?: number;

  @Field(() => [String], { nullable: true, description: 'Up to 8 stop sequences of at most 100 characters.' })
  @IsOptional()
  @ArrayMaxSize(8)
  @MaxLength(100, { each: true })
  stop?: string[];
}
