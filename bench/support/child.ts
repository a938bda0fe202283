import type { ChildProcess } from 'node:child_process';
import { cpuPercent, now } from './metrics.js';

/** The child's next IPC message of this type; rejects if the child exits first. */
export function nextMessage<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: { type?: string }) => {
      if (message.type !== type) return;
      cleanup();
      resolve(message as T);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`child process exited (${code}) before sending "${type}"`));
    };
    const cleanup = () => {
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Sends `{ type }` (plus fields) to the child and waits for its answer of the same type. */
export function ask<T>(child: ChildProcess, type: string, fields: Record<string, unknown> = {}): Promise<T> {
  const answer = nextMessage<T>(child, type);
  child.send({ type, ...fields });
  return answer;
}

/**
 * The child's side: answers the parent's `measure` (CPU is counted from then on, plus `onMeasure`),
 * `report` (the report, with `cpuPercent` of one core since `measure`), `stop` (then exits), `clock`
 * (see `clockOffset`) and any `queries` (answered with their result), then sends `ready` with `fields`.
 */
export function serveParent(options: {
  ready: Record<string, unknown>;
  report: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  stop: () => Promise<void>;
  onMeasure?: () => void;
  queries?: Record<string, () => Record<string, unknown>>;
}): void {
  let cpuAtStart = process.cpuUsage();
  let measuringSince = performance.now();
  process.on('message', (message: { type: string }) => {
    const query = options.queries?.[message.type];
    if (message.type === 'clock') process.send!({ type: 'clock', now: now() });
    else if (query) process.send!({ type: message.type, ...query() });
    else if (message.type === 'measure') {
      options.onMeasure?.();
      cpuAtStart = process.cpuUsage();
      measuringSince = performance.now();
      process.send!({ type: 'measure' });
    } else if (message.type === 'report') {
      const cpu = cpuPercent(cpuAtStart, performance.now() - measuringSince);
      void Promise.resolve(options.report()).then((report) =>
        process.send!({ type: 'report', ...report, cpuPercent: cpu }),
      );
    } else if (message.type === 'stop') {
      void options.stop().then(() => process.exit(0));
    }
  });
  process.send!({ type: 'ready', ...options.ready });
}

/**
 * How far the child's clock (`now()`) is ahead of this process's, in ms, from the quickest of 20 IPC
 * round trips (the child's reading is taken as halfway through it): every process computes
 * `performance.timeOrigin + performance.now()` from its own start, so they can disagree slightly.
 */
export async function clockOffset(child: ChildProcess): Promise<{ offsetMs: number; roundTripMs: number }> {
  let best = { offsetMs: Number.NaN, roundTripMs: Infinity };
  for (let i = 0; i < 20; i++) {
    const sentAt = now();
    const { now: childNow } = await ask<{ now: number }>(child, 'clock');
    const receivedAt = now();
    if (receivedAt - sentAt < best.roundTripMs)
      best = { offsetMs: childNow - (sentAt + receivedAt) / 2, roundTripMs: receivedAt - sentAt };
  }
  return {
    offsetMs: Math.round(best.offsetMs * 100) / 100,
    roundTripMs: Math.round(best.roundTripMs * 100) / 100,
  };
}
