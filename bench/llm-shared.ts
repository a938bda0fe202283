// What bench/llm.ts and its child processes agree on: the messages sent, the scripted reply's tokens and
// what the fake's process reports.
import type { ServerChildReport } from './support/server-child.js';

/** The user message of conversation `n`; the fake answers it with `replyText(n, tokens)`. */
export const benchMessage = (conversation: number) => `Benchmark message of conversation ${conversation}`;
export const conversationOfMessage = (message: string): number | undefined => {
  const match = /^Benchmark message of conversation (\d+)$/.exec(message);
  return match ? Number(match[1]) : undefined;
};

/** Tokens ` c<conversation>t<index>`: any piece of the reply names the tokens it holds. */
export const replyText = (conversation: number, tokens: number) =>
  Array.from({ length: tokens }, (_, i) => ` c${conversation}t${i}`).join('');

/** Indexes of the tokens in a piece of reply text, in order. */
export function tokenIndexes(text: string): number[] {
  return Array.from(text.matchAll(/c\d+t(\d+)/g), (match) => Number(match[1]));
}

export interface FakeGeneration {
  conversation: number;
  /** When the request whose stream finished reached the fake (its headers were parsed). */
  arrivedAt: number;
  /** `tokenAt[i]`: when the fake wrote token i of the reply. */
  tokenAt: number[];
  /** When the fake wrote the final `done` line; null if it never did. */
  doneAt: number | null;
}

export interface FakeReport {
  generations: FakeGeneration[];
  cpuPercent: number;
  chatRequests: number;
  disconnects: number;
}

export interface ServerReport extends ServerChildReport {
  /** When the reply job started running, by conversation id. */
  jobStartedAt: Record<string, number>;
}
