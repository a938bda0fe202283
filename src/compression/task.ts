import { createHash } from 'node:crypto';
import type { CompressionAlgorithm } from '../modules/compression/compression-algorithm.js';
import { codec } from './algorithms.js';
import { generateCorpus, type CorpusSpec } from './corpus.js';

/** Bytes to compress: the caller's own (moved to the worker, not copied) or a corpus made in the worker. */
export type CompressionInput = { type: 'bytes'; data: Uint8Array } | { type: 'corpus'; corpus: CorpusSpec };

export interface CompressionTask {
  algorithm: CompressionAlgorithm;
  level: number;
  input: CompressionInput;
  /** Return the compressed bytes too (moved back to the caller). Off by default: runs keep figures only. */
  includeOutput?: boolean;
}

export type CompressionPhase = 'GENERATING' | 'HASHING' | 'COMPRESSING' | 'DECOMPRESSING' | 'VERIFYING';

/**
 * Sent when a phase starts (bytesDone 0) and, while a corpus is generated, about every 8 MiB. Compressing
 * and decompressing are single calls into zlib/zstd, so there is no finer progress inside them.
 */
export interface CompressionProgress {
  phase: CompressionPhase;
  bytesDone: number;
  totalBytes: number;
}

export interface CompressionResult {
  algorithm: CompressionAlgorithm;
  level: number;
  inputBytes: number;
  outputBytes: number;
  /** inputBytes / outputBytes: above 1 means the output is smaller. */
  ratio: number;
  compressMs: number;
  decompressMs: number;
  /** Input megabytes (10^6 bytes) per second of compressing. */
  compressMBps: number;
  /** Input (= decompressed) megabytes per second of decompressing. */
  decompressMBps: number;
  /** SHA-256 of the input, hex. */
  checksum: string;
  /** The decompressed bytes have the input's length and SHA-256. */
  roundTripOk: boolean;
  output?: Uint8Array;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function megabytesPerSecond(bytes: number, ms: number): number {
  return ms > 0 ? bytes / 1e3 / ms : 0;
}

/**
 * Compress, decompress and verify, synchronously. Runs inside a worker thread (see worker.ts); the timings
 * cover the codec calls only, not generating or hashing.
 */
export function runCompressionTask(
  task: CompressionTask,
  onProgress: (progress: CompressionProgress) => void = () => {},
): CompressionResult {
  const { algorithm, level, input: source } = task;
  const { compress, decompress } = codec(algorithm);

  let input: Uint8Array;
  if (source.type === 'corpus') {
    const { kind, sizeBytes, seed } = source.corpus;
    onProgress({ phase: 'GENERATING', bytesDone: 0, totalBytes: sizeBytes });
    input = generateCorpus(kind, sizeBytes, seed, {
      onProgress: (bytesDone, totalBytes) => onProgress({ phase: 'GENERATING', bytesDone, totalBytes }),
    });
  } else {
    input = source.data;
  }
  const totalBytes = input.byteLength;

  onProgress({ phase: 'HASHING', bytesDone: 0, totalBytes });
  const checksum = sha256(input);

  onProgress({ phase: 'COMPRESSING', bytesDone: 0, totalBytes });
  let started = performance.now();
  const output = compress(input, level);
  const compressMs = performance.now() - started;

  onProgress({ phase: 'DECOMPRESSING', bytesDone: 0, totalBytes });
  started = performance.now();
  const restored = decompress(output);
  const decompressMs = performance.now() - started;

  onProgress({ phase: 'VERIFYING', bytesDone: 0, totalBytes });
  // The input is still here: comparing bytes is cheaper than hashing the restored copy.
  const roundTripOk = Buffer.from(restored.buffer, restored.byteOffset, restored.byteLength).equals(input);

  return {
    algorithm,
    level,
    inputBytes: totalBytes,
    outputBytes: output.byteLength,
    ratio: output.byteLength > 0 ? totalBytes / output.byteLength : 0,
    compressMs,
    decompressMs,
    compressMBps: megabytesPerSecond(totalBytes, compressMs),
    decompressMBps: megabytesPerSecond(totalBytes, decompressMs),
    checksum,
    roundTripOk,
    ...(task.includeOutput ? { output } : {}),
  };
}
