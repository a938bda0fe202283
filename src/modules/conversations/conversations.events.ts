import type { EntityManager } from '@mikro-orm/postgresql';
import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { appendEvent, type StoredEvent } from '../../realtime/index.js';
import { Message, MessageRole, MessageStatus } from './conversation.entity.js';

export const conversationStream = (conversationId: string) => `conversation:${conversationId}`;

export enum ConversationEventType {
  MESSAGE_ADDED = 'MESSAGE_ADDED',
  /** Another version of a reply was asked for (`regenerateReply`); it streams like any reply. */
  REPLY_REQUESTED = 'REPLY_REQUESTED',
  /** Ephemeral: a piece of the reply being generated (coalesced, never replayed). */
  REPLY_DELTA = 'REPLY_DELTA',
  /** Ephemeral: a transient failure restarted the reply; drop the deltas received so far. */
  REPLY_RESTARTED = 'REPLY_RESTARTED',
  REPLY_COMPLETED = 'REPLY_COMPLETED',
  REPLY_FAILED = 'REPLY_FAILED',
  STOP_REQUESTED = 'STOP_REQUESTED',
}
registerEnumType(ConversationEventType, {
  name: 'ConversationEventType',
  description:
    'What happened in a conversation. REPLY_DELTA and REPLY_RESTARTED are live only (not replayed).',
});

@ObjectType({ description: 'Something that happened in a conversation, in order.' })
export class ConversationEvent {
  @Field(() => Int, {
    description:
      'Position in the conversation stream (deltas carry the last stored position); resume with `afterSeq`.',
  })
  seq!: number;

  @Field(() => ConversationEventType, { description: 'What happened.' })
  type!: ConversationEventType;

  @Field(() => ID, { description: 'The conversation.' })
  conversationId!: string;

  @Field(() => Message, {
    nullable: true,
    description: 'The stored message (MESSAGE_ADDED, REPLY_COMPLETED, REPLY_FAILED).',
  })
  message!: Message | null;

  @Field(() => ID, { nullable: true, description: 'For reply events: the user message being answered.' })
  replyTo!: string | null;

  @Field(() => Int, {
    nullable: true,
    description: 'For reply events: the version of the reply (1, then 2, 3… when regenerated).',
  })
  version!: number | null;

  @Field(() => String, { nullable: true, description: 'REPLY_DELTA: the next piece of text.' })
  delta!: string | null;

  @Field(() => Date, { description: 'When it happened.' })
  occurredAt!: Date;
}

type MessageSnapshot = Omit<Message, 'conversation' | 'createdAt'> & {
  conversationId: string;
  createdAt: string;
};

function snapshotOf(message: Message): MessageSnapshot {
  return {
    id: message.id,
    conversationId: message.conversation.id,
    position: message.position,
    role: message.role,
    content: message.content,
    status: message.status,
    replyTo: message.replyTo,
    version: message.version,
    promptTokens: message.promptTokens,
    completionTokens: message.completionTokens,
    latencyMs: message.latencyMs,
    error: message.error,
    createdAt: message.createdAt.toISOString(),
  };
}

export function recordMessageEvent(
  em: EntityManager,
  type:
    | ConversationEventType.MESSAGE_ADDED
    | ConversationEventType.REPLY_COMPLETED
    | ConversationEventType.REPLY_FAILED,
  message: Message,
): Promise<number> {
  return appendEvent(em, {
    stream: conversationStream(message.conversation.id),
    type,
    entityId: message.id,
    payload: { message: snapshotOf(message) },
  });
}

const built = new WeakMap<StoredEvent, ConversationEvent>();

export function toConversationEvent(event: StoredEvent): ConversationEvent {
  let result = built.get(event);
  if (!result) {
    const payload = event.payload as {
      message?: MessageSnapshot;
      replyTo?: string;
      version?: number;
      delta?: string;
    };
    const snapshot = payload.message;
    const message = snapshot
      ? Object.assign(new Message(), {
          ...snapshot,
          role: snapshot.role as MessageRole,
          status: snapshot.status as MessageStatus,
          createdAt: new Date(snapshot.createdAt),
          conversation: { id: snapshot.conversationId },
        })
      : null;
    result = {
      seq: event.seq,
      type: event.type as ConversationEventType,
      conversationId: event.stream.slice('conversation:'.length),
      message: message as Message | null,
      replyTo: payload.replyTo ?? snapshot?.replyTo ?? null,
      version: payload.version ?? (snapshot?.role === MessageRole.ASSISTANT ? snapshot.version : null),
      delta: payload.delta ?? null,
      occurredAt: event.createdAt,
    };
    built.set(event, result);
  }
  return result;
}
