import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { LockMode } from '@mikro-orm/core';
import type { Message as ChatMessage } from 'ollama';
import type { Job, JobContext, JobQueue } from '../../jobs/job-queue.js';
import type { OllamaProvider } from '../../llm/ollama.provider.js';
import type { Logger } from '../../observability/logger.js';
import { publishEphemeral, type EventReader } from '../../realtime/event-log.js';
import type { EventHub } from '../../realtime/index.js';
import { Agent } from '../agents/agent.entity.js';
import { Conversation, Message, MessageRole, MessageStatus } from './conversation.entity.js';
import { ConversationEventType, conversationStream, recordMessageEvent } from './conversations.events.js';
import { nextPosition, REPLY_JOB, type ReplyJobPayload } from './conversations.service.js';

const DELTA_FLUSH_MS = 50;

const chatRole = {
  [MessageRole.USER]: 'user',
  [MessageRole.ASSISTANT]: 'assistant',
  [MessageRole.SYSTEM]: 'system',
};

/** The prompt: the agent's system prompt, then the conversation up to the message being answered. */
export function buildChat(agent: Agent, history: Message[], answering: Message): ChatMessage[] {
  // Only the newest version of each reply is part of the conversation's history.
  const newest = new Map<string, Message>();
  for (const message of history) {
    if (message.role !== MessageRole.ASSISTANT || !message.replyTo || message.status === MessageStatus.FAILED)
      continue;
    const seen = newest.get(message.replyTo);
    if (!seen || seen.version < message.version) newest.set(message.replyTo, message);
  }
  const messages: ChatMessage[] = agent.systemPrompt ? [{ role: 'system', content: agent.systemPrompt }] : [];
  for (const message of history) {
    if (message.position > answering.position) break;
    if (message.role === MessageRole.ASSISTANT && newest.get(message.replyTo ?? '') !== message) continue;
    if (message.role === MessageRole.ASSISTANT && message.status === MessageStatus.FAILED) continue;
    messages.push({ role: chatRole[message.role], content: message.content });
  }
  return messages;
}

export interface ReplyWorkerDeps {
  orm: MikroORM;
  jobs: JobQueue;
  ollama: OllamaProvider;
  hub: EventHub;
  reader: EventReader;
  log: Logger;
}

/**
 * Produces one assistant reply per job. Deltas are published (ephemeral, coalesced every 50 ms) while
 * Ollama streams; the finished reply is stored with the job's completion, under the unique
 * (replyTo, version), so a job re-run after a crash cannot store it twice.
 */
export function registerReplyWorker(deps: ReplyWorkerDeps): void {
  deps.jobs.register(REPLY_JOB, (job, context) =>
    reply(deps, job as Job<ReplyJobPayload & Record<string, unknown>>, context),
  );
  deps.jobs.onFinalFailure = async (job, error) => {
    if (job.kind !== REPLY_JOB) return;
    const payload = job.payload as unknown as ReplyJobPayload;
    await deps.orm.em
      .fork()
      .transactional((tx) => storeReply(tx, payload, { content: '', status: MessageStatus.FAILED, error }));
  };
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
  const stop = new AbortController();
  context.signal.addEventListener('abort', () => stop.abort(context.signal.reason), { once: true });
  // Replayed from when the job was queued, so a stop sent before this worker started listening counts.
  const filter = (event: { type: string }) => event.type === ConversationEventType.STOP_REQUESTED;
  const stops = await deps.hub
    .subscribe(stream, { afterSeq: job.payload.afterSeq, filter })
    .catch(() => deps.hub.subscribe(stream, { filter })); // that history was pruned: listen from now

  void (async () => {
    for await (const _event of stops) stop.abort(new Error('stopped by the user'));
  })();

  let pending = '';
  let text = '';
  // Every ephemeral publish of this reply goes through one chain: two NOTIFYs in flight on different
  // pool connections may commit (and so arrive) in either order, and deltas must arrive in order.
  let published: Promise<void> = Promise.resolve();
  const publish = (type: ConversationEventType, payload: Record<string, unknown>) => {
    published = published
      .then(() =>
        publishEphemeral(deps.reader, {
          stream,
          type,
          payload: { replyTo: userMessageId, version: job.payload.version, ...payload },
        }),
      )
      .catch((err: unknown) => deps.log.warn({ err, type }, 'could not publish an ephemeral reply event'));
    return published;
  };
  // Taken over after a crash or a failure: whatever deltas subscribers saw start over.
  if (job.attempts > 1) void publish(ConversationEventType.REPLY_RESTARTED, {});
  const flush = () => {
    if (!pending) return published;
    const delta = pending;
    pending = '';
    return publish(ConversationEventType.REPLY_DELTA, { delta });
  };
  const flusher = setInterval(() => void flush(), DELTA_FLUSH_MS);

  try {
    const result = await deps.ollama.chat(
      {
        model: agent.model,
        messages: buildChat(agent, history, answering),
        options: { temperature: agent.temperature, ...ollamaOptions(agent) },
      },
      {
        signal: stop.signal,
        onDelta: (delta) => {
          text += delta;
          pending += delta;
        },
        onRestart: () => {
          text = '';
          pending = '';
          void publish(ConversationEventType.REPLY_RESTARTED, {});
        },
      },
    );
    await flush();
    const latencyMs = Math.round(performance.now() - started);
    await context.complete((tx) =>
      storeReply(tx, job.payload, {
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
      await flush();
      await context.complete((tx) =>
        storeReply(tx, job.payload, {
          content: text,
          status: MessageStatus.STOPPED,
          latencyMs: Math.round(performance.now() - started),
        }),
      );
      return;
    }
    throw error;
  } finally {
    clearInterval(flusher);
    await stops.return?.();
  }
}

function ollamaOptions(agent: Agent): Record<string, unknown> {
  const { topP, topK, numCtx, numPredict, repeatPenalty, seed, stop } = agent.options;
  const options: Record<string, unknown> = {
    top_p: topP,
    top_k: topK,
    num_ctx: numCtx,
    num_predict: numPredict,
    repeat_penalty: repeatPenalty,
    seed,
    stop,
  };
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined && value !== null),
  );
}

async function storeReply(
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
    await updateAgentStats(tx, reply.agentId, message);
}

/** Turns and tokens add up; latency percentiles over the agent's last 1,000 replies. */
async function updateAgentStats(tx: EntityManager, agentId: string, message: Message): Promise<void> {
  await tx.flush();
  await tx.execute(
    `update agents a set
        stats_turns = stats_turns + 1,
        stats_prompt_tokens = stats_prompt_tokens + ?,
        stats_completion_tokens = stats_completion_tokens + ?,
        stats_latency_p50ms = p.p50, stats_latency_p95ms = p.p95, stats_latency_p99ms = p.p99
       from (
         select percentile_cont(0.5) within group (order by latency_ms) as p50,
                percentile_cont(0.95) within group (order by latency_ms) as p95,
                percentile_cont(0.99) within group (order by latency_ms) as p99
           from (select m.latency_ms from messages m join conversations c on c.id = m.conversation_id
                  where c.agent_id = ? and m.role = 'ASSISTANT' and m.status = 'COMPLETE' and m.latency_ms is not null
                  order by m.created_at desc limit 1000) recent
       ) p
      where a.id = ?`,
    [message.promptTokens, message.completionTokens, agentId, agentId],
  );
}
