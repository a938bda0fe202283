// Clocks and summaries shared by the benchmarks and their child processes.
import { readFileSync } from 'node:fs';
import { percentile } from './harness.js';

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

/** Everything the machine ran between two `machineCpuTimes()`, as a percentage of one core. */
export function machinePercent(
  start: { busy: number; total: number } | undefined,
  end: { busy: number; total: number } | undefined,
  cores: number,
): number | null {
  if (!start || !end || end.total === start.total) return null;
  return Math.round(((end.busy - start.busy) / (end.total - start.total)) * cores * 100);
}

export const round1 = (ms: number) => Math.round(ms * 10) / 10;

/** Sample count, p50/p95/p99 and max, in tenths of a millisecond. */
export function summarize(values: number[]) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50: round1(percentile(sorted, 50)),
    p95: round1(percentile(sorted, 95)),
    p99: round1(percentile(sorted, 99)),
    max: round1(sorted.at(-1) ?? Number.NaN),
  };
}

/** Summary with the mean: stage means add up to the mean of what they split. */
export function stats(values: number[]) {
  const finite = values.filter(Number.isFinite);
  const mean = finite.length > 0 ? finite.reduce((sum, value) => sum + value, 0) / finite.length : Number.NaN;
  return { mean: round1(mean), ...summarize(finite) };
}

/** Named lists of samples, summarised in the order they were first pushed. */
export class Samples {
  readonly lists = new Map<string, number[]>();
  push(name: string, value: number | undefined): void {
    if (value === undefined || !Number.isFinite(value)) return;
    const list = this.lists.get(name) ?? [];
    list.push(value);
    this.lists.set(name, list);
  }
  summary() {
    return Object.fromEntries([...this.lists].map(([name, values]) => [name, stats(values)]));
  }
}
