import os from 'node:os';
import type { MessagePort } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { runCompressionTask, type CompressionResult, type CompressionTask } from './task.js';

/** What pool.ts posts: the task plus, when the caller wants progress, the worker's end of a channel. */
export interface WorkerTask extends CompressionTask {
  progressPort?: MessagePort;
}

// Compression is batch work: below the event loop's threads in the scheduler's eyes, so requests keep
// their latency while runs execute (on Linux this sets this thread's own niceness). Best effort.
try {
  os.setPriority(10);
} catch {
  // not permitted here: run at normal priority
}

/** The piscina handler: one compression task per call, on this worker thread. */
export default function compressInWorker(task: WorkerTask): CompressionResult | object {
  const port = task.progressPort;
  try {
    const result = runCompressionTask(task, port ? (progress) => port.postMessage(progress) : undefined);
    const output = result.output;
    if (!output) return result;
    // Move the compressed bytes back instead of copying them; a view over part of a larger (e.g. pooled)
    // ArrayBuffer is first copied into one of its own, since moving the shared one would take it from
    // everything else that uses it.
    const own =
      output.byteOffset === 0 && output.byteLength === output.buffer.byteLength
        ? output
        : new Uint8Array(output);
    const value = { ...result, output: own };
    return move({
      get [transferableSymbol]() {
        return [own.buffer];
      },
      get [valueSymbol]() {
        return value;
      },
    });
  } finally {
    port?.close();
  }
}
