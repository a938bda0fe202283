// What bench/llm.ts and its child processes agree on: the messages sent, the scripted reply's tokens and
// what the fake's process reports.
import { readFileSync } from 'node:fs';

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

export interface ServerReport {
  /** Event-loop delay beyond the monitor's interval, in ms. */
  lag: { p50: number; p99: number; max: number };
  cpuPercent: number;
  rssMb: number;
  jobs: { status: string; count: number; retried: number }[];
  /** When the reply job started running, by conversation id. */
  jobStartedAt: Record<string, number>;
}

/** One clock for every process: milliseconds since the epoch, sub-millisecond resolution. */
export const now = () => performance.timeOrigin + performance.now();

/** CPU time used since `since` (a `process.cpuUsage()`), as a percentage of one core over `wallMs`. */
export const cpuPercent = (since: NodeJS.CpuUsage, wallMs: number) => {
  const used = process.cpuUsage(since);
  return Math.round(((used.user + used.system) / 1000 / wallMs) * 100);
};

/** Busy and total CPU time of the whole machine so far (Linux /proc/stat), or undefined elsewhere. */
export function machineCpuTimes(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const total = fields.reduce((sum, value) => sum + value, 0);
    return { busy: total - fields[3]! - (fields[4] ?? 0), total }; // idle and iowait are not busy
  } catch {
    return undefined;
  }
}
