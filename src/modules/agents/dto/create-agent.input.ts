import {
  ArrayUnique,
  IsNumber,
  IsOptional,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { Field, Float, InputType } from 'type-graphql';
import { CompressionAlgorithm } from '../../compression/compression-algorithm.js';
import { AgentStatus } from '../agent.entity.js';
import { AgentOptionsInput } from './agent-options.input.js';
import { AGENT_LIMITS, MODEL_NAME } from './agent-input.constraints.js';

@InputType({ description: 'A new agent.' })
export class CreateAgentInput {
  @Field(() => String, {
    description: `Display name, 1–${AGENT_LIMITS.nameMax} characters, unique per owner.`,
  })
  @Matches(/\S/, { message: 'must not be blank' })
  @MinLength(1)
  @MaxLength(AGENT_LIMITS.nameMax)
  name!: string;

  @Field(() => String, { nullable: true, description: `Up to ${AGENT_LIMITS.descriptionMax} characters.` })
  @IsOptional()
  @MaxLength(AGENT_LIMITS.descriptionMax)
  description?: string;

  @Field(() => String, { description: 'Ollama model name, e.g. `llama3.2:3b`.' })
  @Matches(MODEL_NAME, { message: 'must be an Ollama model name such as llama3.2:3b' })
  @MaxLength(AGENT_LIMITS.modelMax)
  model!: string;

  @Field(() => String, { nullable: true, description: `Up to ${AGENT_LIMITS.systemPromptMax} characters.` })
  @IsOptional()
  @MaxLength(AGENT_LIMITS.systemPromptMax)
  systemPrompt?: string;

  @Field(() => Float, { nullable: true, description: 'Sampling temperature, 0–2 (default 0.7).' })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(AGENT_LIMITS.temperatureMax)
  temperature?: number;

  @Field(() => AgentOptionsInput, { nullable: true, description: 'Further Ollama options.' })
  @IsOptional()
  @ValidateNested()
  options?: AgentOptionsInput;

  @Field(() => [CompressionAlgorithm], {
    nullable: true,
    description: 'Algorithms it may run compression runs with.',
  })
  @IsOptional()
  @ArrayUnique()
  supportedAlgorithms?: CompressionAlgorithm[];

  @Field(() => AgentStatus, { nullable: true, description: 'Defaults to ACTIVE.' })
  @IsOptional()
  status?: AgentStatus;
}
