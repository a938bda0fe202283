import type { EntityManager } from '@mikro-orm/postgresql';
import { LockMode } from '@mikro-orm/core';
import { assertUuid } from '../../common/ids.js';
import { decodeCursor, encodeCursor, toPage, type Page, type PageArgs } from '../../common/pagination.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import { appendEvent } from '../../realtime/index.js';
import { Agent, AgentStatus } from '../agents/agent.entity.js';
import type { AuthUser } from '../auth/access-tokens.js';
import type { AuditService } from '../audit/audit.service.js';
import { AuditOutcome } from '../audit/audit-event.entity.js';
import { Role } from '../users/role.js';
import { ConflictError, NotFoundError, ValidationError } from '../../common/errors.js';
import { Conversation, Message, MessageRole } from './conversation.entity.js';
import { ConversationEventType, conversationStream, recordMessageEvent } from './conversations.events.js';
import type { QueuedReply } from './dto/queued-reply.type.js';

export const REPLY_JOB = 'conversation.reply';
export interface ReplyJobPayload {
  conversationId: string;
  userMessageId: string;
  version: number;
  /** The conversation stream's seq when the job was queued: a stop requested since then still counts. */
  afterSeq?: number;
}

const CONVERSATION_CURSOR = 'updatedAt';
const MESSAGE_CURSOR = 'position';

export class ConversationsService {
  constructor(
    private readonly jobs: JobQueue,
    private readonly audit: AuditService,
  ) {}

  /** Someone else's conversation is NOT_FOUND, not FORBIDDEN: guessing ids reveals nothing. */
  async get(em: EntityManager, actor: AuthUser, id: string): Promise<Conversation> {
    const conversation = await em.findOne(Conversation, { id: assertUuid(id, 'conversationId') });
    if (!conversation || (conversation.owner.id !== actor.id && actor.role !== Role.ADMIN)) {
      throw new NotFoundError('Conversation', id);
    }
    return conversation;
  }

  async list(em: EntityManager, actor: AuthUser, { first, after }: PageArgs): Promise<Page<Conversation>> {
    const where: Record<string, unknown> = { owner: actor.id };
    if (after) {
      const cursor = decodeCursor(after, CONVERSATION_CURSOR, { value: 'date', id: 'uuid' });
      const at = new Date(String(cursor.value));
      where.$or = [{ updatedAt: { $lt: at } }, { updatedAt: at, id: { $lt: cursor.id } }];
    }
    const rows = await em.find(Conversation, where, {
      orderBy: [{ updatedAt: 'desc' }, { id: 'desc' }],
      limit: first + 1,
    });
    return toPage(rows, first);
  }

  countOwn(em: EntityManager, actor: AuthUser): Promise<number> {
    return em.count(Conversation, { owner: actor.id });
  }

  conversationCursor(conversation: Conversation): string {
    return encodeCursor(CONVERSATION_CURSOR, conversation.updatedAt.toISOString(), conversation.id);
  }

  async messages(
    em: EntityManager,
    conversationId: string,
    { first, after }: PageArgs,
  ): Promise<Page<Message>> {
    const where: Record<string, unknown> = { conversation: conversationId };
    if (after)
      where.position = {
        $gt: Number(decodeCursor(after, MESSAGE_CURSOR, { value: 'none', id: 'uuid' }).value),
      };
    const rows = await em.find(Message, where, { orderBy: { position: 'asc' }, limit: first + 1 });
    return toPage(rows, first);
  }

  countMessages(em: EntityManager, conversationId: string): Promise<number> {
    return em.count(Message, { conversation: conversationId });
  }

  messageCursor(message: Message): string {
    return encodeCursor(MESSAGE_CURSOR, message.position, message.id);
  }

  async start(em: EntityManager, actor: AuthUser, agentId: string, title: string): Promise<Conversation> {
    return em.transactional(async (tx) => {
      const agent = await tx.findOne(Agent, { id: assertUuid(agentId, 'agentId') });
      if (!agent) throw new NotFoundError('Agent', agentId);
      if (agent.status !== AgentStatus.ACTIVE)
        throw new ConflictError('This agent is DISABLED', { field: 'agentId' });
      const conversation = tx.create(Conversation, { title: title.trim(), owner: actor.id, agent: agent.id });
      this.audit.record(tx, {
        actor,
        action: 'Mutation.startConversation',
        outcome: AuditOutcome.SUCCESS,
        resourceType: 'Conversation',
        resourceId: conversation.id,
      });
      return conversation;
    });
  }

  /** Stores the user's message and queues the reply, in one transaction; the reply streams later. */
  async send(em: EntityManager, actor: AuthUser, conversationId: string, content: string): Promise<Message> {
    await this.get(em, actor, conversationId);
    return em.transactional(async (tx) => {
      const conversation = await tx.findOneOrFail(Conversation, conversationId, {
        lockMode: LockMode.PESSIMISTIC_WRITE,
      });
      const message = tx.create(Message, {
        conversation: conversation.id,
        position: await nextPosition(tx, conversation.id),
        role: MessageRole.USER,
        content,
      });
      conversation.updatedAt = new Date();
      const afterSeq = await recordMessageEvent(tx, ConversationEventType.MESSAGE_ADDED, message);
      const payload: ReplyJobPayload = { conversationId, userMessageId: message.id, version: 1, afterSeq };
      await this.jobs.enqueue(tx, { kind: REPLY_JOB, key: `reply:${message.id}:1`, payload: { ...payload } });
      this.audit.record(tx, {
        actor,
        action: 'Mutation.sendMessage',
        outcome: AuditOutcome.SUCCESS,
        resourceType: 'Conversation',
        resourceId: conversationId,
      });
      return message;
    });
  }

  /**
   * Queues another version of a reply. `messageId` is the reply to redo or the user message it answers;
   * earlier versions are kept (the newest one is what later prompts see).
   */
  async regenerate(em: EntityManager, actor: AuthUser, messageId: string): Promise<QueuedReply> {
    const target = await em.findOne(Message, { id: assertUuid(messageId, 'messageId') });
    if (!target) throw new NotFoundError('Message', messageId);
    // Someone else's message is NOT_FOUND too.
    await this.get(em, actor, target.conversation.id).catch(() => {
      throw new NotFoundError('Message', messageId);
    });
    if (target.role === MessageRole.SYSTEM || (target.role === MessageRole.ASSISTANT && !target.replyTo))
      throw ValidationError.field('messageId', 'only a reply, or the message it answers, can be regenerated');
    const userMessageId = target.role === MessageRole.USER ? target.id : target.replyTo!;
    const conversationId = target.conversation.id;
    return em.transactional(async (tx) => {
      await tx.findOneOrFail(Conversation, conversationId, { lockMode: LockMode.PESSIMISTIC_WRITE });
      // Versions count queued jobs too: a reply stopped before it started stored nothing but used a number.
      const [row] = await tx.execute<{ active: number; last: number }[]>(
        `select count(*) filter (where status in ('QUEUED', 'RUNNING'))::int as active,
                greatest(coalesce(max((payload->>'version')::int), 0),
                         (select coalesce(max(version), 0) from messages where reply_to = ?)) as last
           from jobs where kind = ? and payload->>'userMessageId' = ?`,
        [userMessageId, REPLY_JOB, userMessageId],
      );
      if (row!.active > 0)
        throw new ConflictError('A reply to this message is still being generated', { field: 'messageId' });
      const version = Number(row!.last) + 1;
      const afterSeq = await appendEvent(tx, {
        stream: conversationStream(conversationId),
        type: ConversationEventType.REPLY_REQUESTED,
        entityId: userMessageId,
        payload: { replyTo: userMessageId, version, requestedBy: actor.id },
      });
      const payload: ReplyJobPayload = { conversationId, userMessageId, version, afterSeq };
      await this.jobs.enqueue(tx, {
        kind: REPLY_JOB,
        key: `reply:${userMessageId}:${version}`,
        payload: { ...payload },
      });
      this.audit.record(tx, {
        actor,
        action: 'Mutation.regenerateReply',
        outcome: AuditOutcome.SUCCESS,
        resourceType: 'Conversation',
        resourceId: conversationId,
      });
      return { conversationId, replyTo: userMessageId, version };
    });
  }

  /**
   * Stops the reply being generated: a queued one is cancelled here; a running one is told through the
   * event log, so whichever replica runs it closes its Ollama request and keeps the text so far.
   */
  async stop(em: EntityManager, actor: AuthUser, conversationId: string): Promise<boolean> {
    await this.get(em, actor, conversationId);
    return em.transactional(async (tx) => {
      const active: { id: string; status: string }[] = await tx.execute(
        `select id, status from jobs where kind = ? and payload->>'conversationId' = ? and status in ('QUEUED', 'RUNNING')`,
        [REPLY_JOB, conversationId],
      );
      if (active.length === 0) throw new ConflictError('Nothing is being generated in this conversation');
      await tx.execute(
        `update jobs set status = 'CANCELLED', updated_at = now() where kind = ? and payload->>'conversationId' = ? and status = 'QUEUED'`,
        [REPLY_JOB, conversationId],
      );
      await appendEvent(tx, {
        stream: conversationStream(conversationId),
        type: ConversationEventType.STOP_REQUESTED,
        payload: { requestedBy: actor.id },
      });
      this.audit.record(tx, {
        actor,
        action: 'Mutation.stopGeneration',
        outcome: AuditOutcome.SUCCESS,
        resourceType: 'Conversation',
        resourceId: conversationId,
      });
      return true;
    });
  }
}

export async function nextPosition(em: EntityManager, conversationId: string): Promise<number> {
  const [row] = await em.execute<{ next: number }[]>(
    'select coalesce(max(position), 0) + 1 as next from messages where conversation_id = ?',
    [conversationId],
  );
  return Number(row!.next);
}
