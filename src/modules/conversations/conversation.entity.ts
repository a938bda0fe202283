import { randomUUID } from 'node:crypto';
import {
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
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Agent } from '../agents/agent.entity.js';
import { User } from '../users/user.entity.js';

export enum MessageRole {
  USER = 'USER',
  ASSISTANT = 'ASSISTANT',
  SYSTEM = 'SYSTEM',
}
registerEnumType(MessageRole, { name: 'MessageRole', description: 'Who wrote a message.' });

export enum MessageStatus {
  COMPLETE = 'COMPLETE',
  STOPPED = 'STOPPED',
  FAILED = 'FAILED',
}
registerEnumType(MessageStatus, {
  name: 'MessageStatus',
  description:
    'COMPLETE; STOPPED (generation stopped by the user: the text so far); FAILED (no reply could be made).',
});

@ObjectType({
  description: 'A conversation between its owner and one agent. Private to the owner (and admins).',
})
@Entity({ tableName: 'conversations' })
@Index({ properties: ['owner', 'updatedAt'] })
export class Conversation {
  [OptionalProps]?: 'createdAt' | 'updatedAt';

  @Field(() => ID, { description: 'Stable identifier (UUID).' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => String, { description: 'Title, 1–200 characters.' })
  @Property({ type: 'text' })
  title!: string;

  @ManyToOne(() => User, { ref: true, deleteRule: 'cascade' })
  owner!: Ref<User>;

  @ManyToOne(() => Agent, { ref: true, deleteRule: 'restrict' })
  agent!: Ref<Agent>;

  @Field(() => Date, { description: 'When it was started.' })
  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();

  @Field(() => Date, { description: 'When its last message was added.' })
  @Property({ type: 'timestamptz', length: 3 })
  updatedAt: Date = new Date();
}

/**
 * One message. Assistant replies point at the user message they answer (`replyTo`) with a `version`
 * (regenerating adds a sibling); `(replyTo, version)` is unique, which is what makes a reply job that runs
 * twice after a crash store one reply.
 */
@ObjectType({ description: 'A message in a conversation.' })
@Entity({ tableName: 'messages' })
@Unique({ properties: ['replyTo', 'version'] })
@Index({ properties: ['conversation', 'position'] })
export class Message {
  [OptionalProps]?:
    | 'createdAt'
    | 'promptTokens'
    | 'completionTokens'
    | 'latencyMs'
    | 'status'
    | 'version'
    | 'replyTo'
    | 'error';

  @Field(() => ID, { description: 'Stable identifier (UUID).' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => Conversation, { ref: true, deleteRule: 'cascade' })
  conversation!: Ref<Conversation>;

  @Field(() => Int, { description: 'Order within the conversation, from 1.' })
  @Property({ type: 'integer' })
  position!: number;

  @Field(() => MessageRole, { description: 'Who wrote it.' })
  @Enum({ items: () => MessageRole, nativeEnumName: 'message_role' })
  role!: MessageRole;

  @Field(() => String, { description: 'The text.' })
  @Property({ type: 'text' })
  content!: string;

  @Field(() => MessageStatus, { description: 'Whether it is whole.' })
  @Enum({ items: () => MessageStatus, nativeEnumName: 'message_status' })
  status: MessageStatus = MessageStatus.COMPLETE;

  @Field(() => ID, { nullable: true, description: 'For replies: the user message answered.' })
  @Property({ type: 'uuid', nullable: true })
  replyTo: string | null = null;

  @Field(() => Int, { description: 'For replies: 1, then 2, 3… for regenerated versions.' })
  @Property({ type: 'integer' })
  version: number = 1;

  @Field(() => Int, { description: 'Prompt tokens the reply consumed (Ollama `prompt_eval_count`).' })
  @Property({ type: 'integer' })
  promptTokens: number = 0;

  @Field(() => Int, { description: 'Tokens generated (Ollama `eval_count`); for user messages 0.' })
  @Property({ type: 'integer' })
  completionTokens: number = 0;

  @Field(() => Int, {
    nullable: true,
    description: 'Time from the job starting to the reply being stored, ms.',
  })
  @Property({ type: 'integer', nullable: true })
  latencyMs: number | null = null;

  @Field(() => String, { nullable: true, description: 'Why a FAILED reply failed.' })
  @Property({ type: 'text', nullable: true })
  error: string | null = null;

  @Field(() => Date, { description: 'When it was stored.' })
  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();
}
