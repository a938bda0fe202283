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

@InputType({
  description: 'Changes to an agent; omitted (or null) fields stay as they are. `options` is replaced whole.',
})
export class UpdateAgentInput {
  @Field(() => String, { nullable: true, description: `Display name, 1–${AGENT_LIMITS.nameMax} characters.` })
  @IsOptional()
  @Matches(/\S/, { message: 'must not be blank' })
  @MinLength(1)
  @MaxLength(AGENT_LIMITS.nameMax)
  name?: string;

  @Field(() => String, { nullable: true, description: `Up to ${AGENT_LIMITS.descriptionMax} characters.` })
  @IsOptional()
  @MaxLength(AGENT_LIMITS.descriptionMax)
  description?: string;

  @Field(() => String, { nullable: true, description: 'Ollama model name.' })
  @IsOptional()
  @Matches(MODEL_NAME, { message: 'must be an Ollama model name such as llama3.2:3b' })
  @MaxLength(AGENT_LIMITS.modelMax)
  model?: string;

  @Field(() => String, { nullable: true, description: `Up to ${AGENT_LIMITS.systemPromptMax} characters.` })
  @IsOptional()
  @MaxLength(AGENT_LIMITS.systemPromptMax)
  systemPrompt?: string;

  @Field(() => Float, { nullable: true, description: 'Sampling temperature, 0–2.' })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(AGENT_LIMITS.temperatureMax)
  temperature?: number;

  @Field(() => AgentOptionsInput, {
    nullable: true,
    description: 'Further Ollama options (replaces the old set).',
  })
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

  @Field(() => AgentStatus, { nullable: true, description: 'ACTIVE or DISABLED.' })
  @IsOptional()
  status?: AgentStatus;
}
