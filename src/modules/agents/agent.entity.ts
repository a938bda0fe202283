import { randomUUID } from 'node:crypto';
import {
  BigIntType,
  Embeddable,
  Embedded,
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
import { CompressionAlgorithm } from '../compression/compression-algorithm.js';
import { User } from '../users/user.entity.js';

export enum AgentStatus {
  ACTIVE = 'ACTIVE',
  DISABLED = 'DISABLED',
}

registerEnumType(AgentStatus, {
  name: 'AgentStatus',
  description: 'Whether an agent takes new work.',
  valuesConfig: {
    ACTIVE: { description: 'Takes part in conversations, debates and runs.' },
    DISABLED: { description: 'Kept for history; takes no new work.' },
  },
});

/** Ollama generation options an agent passes on every call (names as Ollama spells them, camel-cased). */
@ObjectType({
  description: 'Ollama options sent with every call this agent makes. Null means the model default.',
})
export class AgentOptions {
  @Field(() => Float, { nullable: true, description: 'Nucleus sampling (Ollama `top_p`), 0–1.' })
  topP?: number;

  @Field(() => Int, { nullable: true, description: 'Top-k sampling (Ollama `top_k`).' })
  topK?: number;

  @Field(() => Int, { nullable: true, description: 'Context window in tokens (Ollama `num_ctx`).' })
  numCtx?: number;

  @Field(() => Int, { nullable: true, description: 'Maximum tokens to generate (Ollama `num_predict`).' })
  numPredict?: number;

  @Field(() => Float, { nullable: true, description: 'Repetition penalty (Ollama `repeat_penalty`).' })
  repeatPenalty?: number;

  @Field(() => Int, { nullable: true, description: 'Sampling seed, for reproducible output.' })
  seed?: number;

  @Field(() => [String], { nullable: true, description: 'Stop sequences.' })
  stop?: string[];
}

/** Running figures, updated as the agent works (later issues feed them). */
@ObjectType({ description: 'How an agent has performed so far.' })
@Embeddable()
export class AgentStats {
  @Field(() => Int, { description: 'Turns and replies produced.' })
  @Property({ type: 'integer', default: 0 })
  turns: number = 0;

  @Field(() => Float, { description: 'Prompt tokens consumed (Ollama `prompt_eval_count`).' })
  @Property({ type: new BigIntType('number'), default: 0 })
  promptTokens: number = 0;

  @Field(() => Float, { description: 'Tokens generated (Ollama `eval_count`).' })
  @Property({ type: new BigIntType('number'), default: 0 })
  completionTokens: number = 0;

  @Field(() => Float, { nullable: true, description: 'Median latency of a whole reply, ms.' })
  @Property({ type: 'double', nullable: true })
  latencyP50Ms: number | null = null;

  @Field(() => Float, { nullable: true, description: '95th percentile latency of a whole reply, ms.' })
  @Property({ type: 'double', nullable: true })
  latencyP95Ms: number | null = null;

  @Field(() => Float, { nullable: true, description: '99th percentile latency of a whole reply, ms.' })
  @Property({ type: 'double', nullable: true })
  latencyP99Ms: number | null = null;
}

@ObjectType({ description: 'An LLM agent backed by an Ollama model.' })
@Entity({ tableName: 'agents' })
@Unique({ properties: ['owner', 'name'] })
@Index({ properties: ['createdAt', 'id'] })
@Index({ properties: ['name', 'id'] })
export class Agent {
  [OptionalProps]?:
    | 'description'
    | 'systemPrompt'
    | 'temperature'
    | 'options'
    | 'supportedAlgorithms'
    | 'status'
    | 'stats'
    | 'createdAt'
    | 'updatedAt';

  @Field(() => ID, { description: 'Stable identifier (UUID).' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => String, { description: 'Display name, unique per owner.' })
  @Property({ type: 'text' })
  name!: string;

  @Field(() => String, { description: 'What the agent is for.' })
  @Property({ type: 'text', default: '' })
  description: string = '';

  @Field(() => String, { description: 'Ollama model name, e.g. `llama3.2:3b`.' })
  @Property({ type: 'text', index: true })
  model!: string;

  @Field(() => String, { description: 'System prompt sent before every conversation or debate turn.' })
  @Property({ type: 'text', default: '' })
  systemPrompt: string = '';

  @Field(() => Float, { description: 'Sampling temperature, 0–2.' })
  @Property({ type: 'double', default: 0.7 })
  temperature: number = 0.7;

  @Field(() => AgentOptions, { description: 'Further Ollama options.' })
  @Property({ type: 'json' })
  options: AgentOptions = {};

  @Field(() => [CompressionAlgorithm], {
    description: 'Compression algorithms this agent may execute runs with.',
  })
  @Enum({ items: () => CompressionAlgorithm, array: true, default: [] })
  supportedAlgorithms: CompressionAlgorithm[] = [];

  @Field(() => AgentStatus, { description: 'Whether the agent takes new work.' })
  @Enum({ items: () => AgentStatus, nativeEnumName: 'agent_status', default: AgentStatus.ACTIVE })
  status: AgentStatus = AgentStatus.ACTIVE;

  /** Resolved through a DataLoader by `AgentResolver.owner`. */
  @ManyToOne(() => User, { ref: true, deleteRule: 'cascade', index: true })
  owner!: Ref<User>;

  @Field(() => AgentStats, { description: 'Performance figures, kept up to date as the agent works.' })
  @Embedded(() => AgentStats, { prefix: 'stats_' })
  stats: AgentStats = new AgentStats();

  @Field(() => Date, { description: 'When the agent was created.' })
  @Property({ type: 'timestamptz', length: 3 })
  createdAt: Date = new Date();

  @Field(() => Date, { description: 'When the agent was last changed.' })
  @Property({ type: 'timestamptz', length: 3, onUpdate: () => new Date() })
  updatedAt: Date = new Date();
}
