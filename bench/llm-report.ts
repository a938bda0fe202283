// The figures of bench/llm.ts, from the clients' receipt times and the fake's write times (one clock:
// `performance.timeOrigin + performance.now()` in every process). Definitions: docs/PERFORMANCE.md.
import type { Conversation } from './llm-clients.js';
import { replyText, tokenIndexes, type FakeReport, type ServerReport } from './llm-shared.js';
import { round1 as round, summarize as summary } from './support/metrics.js';

export function measure(
  options: { conversations: Conversation[]; tokens: number; tokenDelayMs: number; loadDelayMs: number },
  fake: FakeReport,
  server: ServerReport,
) {
  const { conversations, tokens } = options;
  const generations = new Map(fake.generations.map((generation) => [generation.conversation, generation]));
  const added: number[] = [];
  const beforeOllama: number[] = [];
  const toJobStart: number[] = [];
  const jobStartToOllama: number[] = [];
  const afterOllama: number[] = [];
  const fakeGeneration: number[] = [];
  const sendMessage: number[] = [];
  const deltaDelivery: number[] = [];
  const tokenToClient: number[] = [];
  let deltas = 0;
  let textMismatches = 0;
  let restarts = 0;
  const failures: string[] = [];

  for (const conversation of conversations) {
    restarts += conversation.restarts;
    if (Number.isFinite(conversation.sendAnsweredAt))
      sendMessage.push(conversation.sendAnsweredAt - conversation.sentAt);
    if (conversation.failure) failures.push(`#${conversation.index}: ${conversation.failure.slice(0, 300)}`);
    const generation = generations.get(conversation.index);
    if (conversation.completedAt === null || !generation?.doneAt) continue;
    const fakeMs = generation.doneAt - generation.arrivedAt;
    fakeGeneration.push(fakeMs);
    added.push(conversation.completedAt - conversation.sentAt - fakeMs);
    beforeOllama.push(generation.arrivedAt - conversation.sentAt);
    const jobStartedAt = server.jobStartedAt[conversation.id];
    if (jobStartedAt !== undefined) {
      toJobStart.push(jobStartedAt - conversation.sentAt);
      jobStartToOllama.push(generation.arrivedAt - jobStartedAt);
    }
    afterOllama.push(conversation.completedAt - generation.doneAt);
    const streamed = conversation.deltas.map((delta) => delta.text).join('');
    const expected = replyText(conversation.index, tokens);
    if (streamed !== expected || conversation.content !== expected) textMismatches += 1;
    for (const delta of conversation.deltas) {
      deltas += 1;
      const indexes = tokenIndexes(delta.text);
      const lastWritten = generation.tokenAt[indexes.at(-1) ?? -1];
      if (lastWritten !== undefined) deltaDelivery.push(delta.at - lastWritten);
      for (const index of indexes) {
        const written = generation.tokenAt[index];
        if (written !== undefined) tokenToClient.push(delta.at - written);
      }
    }
  }

  const completed = conversations.filter((conversation) => conversation.completedAt !== null);
  const firstSent = Math.min(...conversations.map((conversation) => conversation.sentAt));
  const lastDone = Math.max(...completed.map((conversation) => conversation.completedAt!));
  return {
    repliesCompleted: completed.length,
    repliesFailed: failures.length,
    failures: failures.slice(0, 10),
    incomplete: conversations.length - completed.length - failures.length,
    wallSeconds: completed.length > 0 ? round((lastDone - firstSent) / 1000) : null,
    addedLatencyMs: summary(added),
    addedBeforeOllamaMs: summary(beforeOllama),
    sentToJobStartMs: summary(toJobStart),
    jobStartToOllamaMs: summary(jobStartToOllama),
    addedAfterOllamaMs: summary(afterOllama),
    fakeGenerationMs: {
      nominal: options.loadDelayMs + tokens * options.tokenDelayMs,
      ...summary(fakeGeneration),
    },
    sendMessageMs: summary(sendMessage),
    deltaDeliveryMs: summary(deltaDelivery),
    tokenToClientMs: summary(tokenToClient),
    deltasPerReply: completed.length > 0 ? round(deltas / completed.length) : null,
    textMismatches,
    restarts,
    ollamaChatRequests: fake.chatRequests,
    ollamaDisconnects: fake.disconnects,
    serverEventLoopLagMs: server.lag,
    serverRssMb: server.rssMb,
    jobs: server.jobs,
  };
}
