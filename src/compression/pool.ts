import { existsSync } from 'node:fs';
import os from 'node:os';
import { MessageChannel, type TransferListItem } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { CompressionInput, CompressionProgress, CompressionResult, CompressionTask } from './task.js';
import type { WorkerTask } from './worker.js';

export interface CompressionPoolOptions {
  /** Worker threads, at most this many tasks at once. Default: os.availableParallelism(). */
  threads?: number;
  /** Threads kept alive while idle. Default: all of them, so a run never waits for a thread to start. */
  minThreads?: number;
  /** How long a thread above minThreads may sit idle before it stops. Default: 30 s. */
  idleTimeoutMs?: number;
}

export interface RunCompressionOptions {
  /**
   * Aborting rejects the run with an error named `AbortError` (see isAbortError): a queued task is dropped,
   * a running one stops at once because its thread is terminated (and replaced).
   */
  signal?: AbortSignal;
  /** Phase changes and corpus generation progress, sent by the worker while it works. */
  onProgress?: (progress: CompressionProgress) => void;
}

export interface CompressionPool {
  readonly threads: number;
  /**
   * Runs one task on a worker thread. A `bytes` input's ArrayBuffer is moved to the worker, not copied,
   * and is detached (byteLength 0) in the caller once the task is handed to a thread; a view over only part
   * of an ArrayBuffer is copied once first, since moving the whole buffer would take bytes that are not
   * the input's. A SharedArrayBuffer is shared as it is.
   */
  run(task: CompressionTask, options?: RunCompressionOptions): Promise<CompressionResult>;
  /** Tasks waiting for a free thread. */
  readonly queueSize: number;
  /** Waits for queued and running tasks, then stops the threads. */
  close(): Promise<void>;
  /** Stops the threads now; unfinished tasks reject. */
  destroy(): Promise<void>;
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/**
 * The compiled worker (dist/src/compression/worker.js) when there is one beside this file; from the
 * TypeScript sources (under vitest) a small ESM entry that compiles worker.ts on load with sucrase instead,
 * since Node 20 cannot run TypeScript and vitest does not transform code in threads it did not start.
 */
export function workerEntry(): URL {
  const compiled = new URL('./worker.js', import.meta.url);
  if (existsSync(compiled)) return compiled;
  if (existsSync(new URL('./worker.ts', import.meta.url)))
    return new URL('./source-worker.mjs', import.meta.url);
  throw new Error(`No compression worker next to ${import.meta.url}`);
}

export function createCompressionPool(options: CompressionPoolOptions = {}): CompressionPool {
  const threads = Math.max(1, options.threads ?? os.availableParallelism());
  const piscina = new Piscina<WorkerTask, CompressionResult>({
    filename: workerEntry().href,
    maxThreads: threads,
    minThreads: Math.min(threads, options.minThreads ?? threads),
    idleTimeout: options.idleTimeoutMs ?? 30_000,
  });

  return {
    threads,
    get queueSize() {
      return piscina.queueSize;
    },
    async run(task, { signal, onProgress } = {}) {
      const transferList: TransferListItem[] = [];
      const input = movable(task.input, transferList);
      let channel: MessageChannel | undefined;
      if (onProgress) {
        channel = new MessageChannel();
        channel.port1.on('message', onProgress);
        transferList.push(channel.port2);
      }
      try {
        return await piscina.run(
          { ...task, input, ...(channel ? { progressPort: channel.port2 } : {}) },
          { transferList, signal },
        );
      } finally {
        channel?.port1.close();
      }
    },
    close: () => piscina.close(),
    destroy: () => piscina.destroy(),
  };
}

function movable(input: CompressionInput, transferList: TransferListItem[]): CompressionInput {
  if (input.type !== 'bytes') return input;
  let data = input.data;
  if (data.buffer instanceof SharedArrayBuffer) return input;
  if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) data = new Uint8Array(data);
  transferList.push(data.buffer as ArrayBuffer);
  return { type: 'bytes', data };
}
