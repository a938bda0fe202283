import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { LockMode } from '@mikro-orm/core';
import type { Message as ChatMessage } from 'ollama';
import type { Job, JobContext, JobQueue } from '../../jobs/job-queue.js';
import type { OllamaProvider } from '../../llm/ollama.provider.js';
import type { Logger } from '../../observability/logger.js';
import type { EphemeralPublisher } from '../../realtime/event-log.js';
import { LiveOutput, watchForStop } from '../../realtime/live-output.js';
import { agentChatOptions } from '../../llm/agent-chat-options.js';
import type { EventHub } from '../../realtime/index.js';
import { Agent } from '../agents/agent.entity.js';
import type { AgentStatsKeeper } from '../agents/agent-stats.js';
import { Conversation, Message, MessageRole, MessageStatus } from './conversation.entity.js';
import { ConversationEventType, conversationStream, recordMessageEvent } from './conversations.events.js';
import { nextPosition, REPLY_JOB, type ReplyJobPayload } from './conversations.service.js';

const chatRole = {
  [MessageRole.USER]: 'user',
  [MessageRole.ASSISTANT]: 'assistant',
  [MessageRole.SYSTEM]: 'system',
};

/**
 * The prompt: the agent's system prompt, then the conversation up to the message being answered, each
 * message followed by the newest version of its reply (a regenerated reply is stored at the end of the
 * conversation but belongs after the message it answers).
 */
export function buildChat(agent: Agent, history: Message[], answering: Message): ChatMessage[] {
  const newest = new Map<string, Message>();
  for (const message of history) {
    if (message.role !== MessageRole.ASSISTANT || !message.replyTo || message.status === MessageStatus.FAILED)
      continue;
    const seen = newest.get(message.replyTo);
    if (!seen || seen.version < message.version) newest.set(message.replyTo, message);
  }
  const messages: ChatMessage[] = agent.systemPrompt ? [{ role: 'system', content: agent.systemPrompt }] : [];
  for (const message of history) {
    if (message.role === MessageRole.ASSISTANT) continue; // placed after the message it answers
    if (message.position > answering.position) break;
    messages.push({ role: chatRole[message.role], content: message.content });
    if (message.id === answering.id) break;
    const reply = newest.get(message.id);
    if (reply) messages.push({ role: 'assistant', content: reply.content });
  }
  return messages;
}

export interface ReplyWorkerDeps {
  orm: MikroORM;
  jobs: JobQueue;
  ollama: OllamaProvider;
  agentStats: AgentStatsKeeper;
  hub: EventHub;
  ephemeral: EphemeralPublisher;
  log: Logger;
}

/**
 * Produces one assistant reply per job. Deltas are published (ephemeral, coalesced every 50 ms) while
 * Ollama streams; the finished reply is stored with the job's completion, under the unique
 * (replyTo, version), so a job re-run after a crash cannot store it twice.
 */
export function registerReplyWorker(deps: ReplyWorkerDeps): void {
  deps.jobs.register(
    REPLY_JOB,
    (job, context) => reply(deps, job as Job<ReplyJobPayload & Record<string, unknown>>, context),
    {
      onFinalFailure: async (job, error) => {
        const payload = job.payload as unknown as ReplyJobPayload;
        await deps.orm.em
          .fork()
          .transactional((tx) =>
            storeReply(deps, tx, payload, { content: '', status: MessageStatus.FAILED, error }),
          );
      },
    },
  );
}

async function reply(
  deps: ReplyWorkerDeps,
  job: Job<ReplyJobPayload & Record<string, unknown>>,
  context: JobContext,
) {
  const started = performance.now();
  const { conversationId, userMessageId } = job.payload;
  const stream = conversationStream(conversationId);
  const em = deps.orm.em.fork();
  const conversation = await em.findOneOrFail(Conversation, conversationId);
  const agent = await em.findOneOrFail(Agent, conversation.agent.id);
  const history = await em.find(Message, { conversation: conversationId }, { orderBy: { position: 'asc' } });
  const answering = history.find((message) => message.id === userMessageId);
  if (!answering) throw new Error(`message ${userMessageId} not found`);

  // A stop request anywhere reaches us through the conversation's stream.
  const stop = await watchForStop(deps.hub, stream, {
    afterSeq: job.payload.afterSeq,
    stops: (event) =>
      event.type === ConversationEventType.STOP_REQUESTED ? 'stopped by the user' : undefined,
    signal: context.signal,
  });
  const live = new LiveOutput({
    publisher: deps.ephemeral,
    stream,
    deltaType: ConversationEventType.REPLY_DELTA,
    context: { replyTo: userMessageId, version: job.payload.version },
    log: deps.log,
  });
  let text = '';
  // Taken over after a crash or a failure: whatever deltas subscribers saw start over.
  if (job.attempts > 1) void live.restart(ConversationEventType.REPLY_RESTARTED);

  try {
    const result = await deps.ollama.chat(
      {
        model: agent.model,
        messages: buildChat(agent, history, answering),
        options: agentChatOptions(agent),
      },
      {
        signal: stop.signal,
        onDelta: (delta) => {
          text += delta;
          live.write(delta);
        },
        onRestart: () => {
          text = '';
          void live.restart(ConversationEventType.REPLY_RESTARTED);
        },
      },
    );
    await live.close();
    const latencyMs = Math.round(performance.now() - started);
    await context.complete((tx) =>
      storeReply(deps, tx, job.payload, {
        content: result.content,
        status: MessageStatus.COMPLETE,
        promptTokens: result.promptTokens,
        completionTokens: result.completionTokens,
        latencyMs,
        agentId: agent.id,
      }),
    );
  } catch (error) {
    // Stopped by the user (not by shutdown or a lost lease): keep what was generated.
    if (stop.signal.aborted && !context.signal.aborted) {
      await live.close();
      await context.complete((tx) =>
        storeReply(deps, tx, job.payload, {
          content: text,
          status: MessageStatus.STOPPED,
          latencyMs: Math.round(performance.now() - started),
        }),
      );
      return;
    }
    throw error;
  } finally {
    await live.close();
    await stop.dispose();
  }
}

async function storeReply(
  deps: ReplyWorkerDeps,
  tx: EntityManager,
  payload: ReplyJobPayload,
  reply: {
    content: string;
    status: MessageStatus;
    promptTokens?: number;
    completionTokens?: number;
    latencyMs?: number;
    error?: string;
    agentId?: string;
  },
): Promise<void> {
  const conversation = await tx.findOneOrFail(Conversation, payload.conversationId, {
    lockMode: LockMode.PESSIMISTIC_WRITE,
  });
  const existing = await tx.findOne(Message, { replyTo: payload.userMessageId, version: payload.version });
  if (existing) return; // stored by an earlier run (the unique key would refuse a second one anyway)
  const message = tx.create(Message, {
    conversation: conversation.id,
    position: await nextPosition(tx, conversation.id),
    role: MessageRole.ASSISTANT,
    content: reply.content,
    status: reply.status,
    replyTo: payload.userMessageId,
    version: payload.version,
    promptTokens: reply.promptTokens ?? 0,
    completionTokens: reply.completionTokens ?? 0,
    latencyMs: reply.latencyMs ?? null,
    error: reply.error ?? null,
  });
  conversation.updatedAt = new Date();
  await recordMessageEvent(
    tx,
    reply.status === MessageStatus.FAILED
      ? ConversationEventType.REPLY_FAILED
      : ConversationEventType.REPLY_COMPLETED,
    message,
  );
  if (reply.agentId && reply.status === MessageStatus.COMPLETE)
    await deps.agentStats.record(tx, reply.agentId, message);
}
