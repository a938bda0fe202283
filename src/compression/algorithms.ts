import zlib from 'node:zlib';
import { Decoder, Encoder } from '@toondepauw/node-zstd';
import { CompressionAlgorithm } from '../modules/compression/compression-algorithm.js';

export interface AlgorithmInfo {
  minLevel: number;
  maxLevel: number;
  /** The level used when none is given: the library's own, except brotli's (see below). */
  defaultLevel: number;
  description: string;
}

/**
 * One-shot, synchronous compression over whole buffers. Synchronous on purpose: codecs run inside a
 * worker thread, and the async zlib/zstd APIs would hop to libuv's threadpool, which every worker in the
 * process shares (4 threads by default) and which would blur the timings.
 */
export interface Codec {
  compress(input: Uint8Array, level: number): Buffer;
  decompress(input: Uint8Array): Buffer;
}

export const ALGORITHMS: Record<CompressionAlgorithm, AlgorithmInfo> = {
  [CompressionAlgorithm.GZIP]: {
    minLevel: 0,
    maxLevel: 9,
    defaultLevel: 6,
    description: 'DEFLATE in a gzip wrapper with a CRC-32 (node:zlib). Level 0 stores without compressing.',
  },
  [CompressionAlgorithm.DEFLATE]: {
    minLevel: 0,
    maxLevel: 9,
    defaultLevel: 6,
    description:
      'DEFLATE in a zlib wrapper with an Adler-32 (node:zlib). Level 0 stores without compressing.',
  },
  [CompressionAlgorithm.BROTLI]: {
    minLevel: 0,
    maxLevel: 11,
    // Not the library's 11, which runs at about 1 MB/s: 5 is the usual choice for on-the-fly compression.
    defaultLevel: 5,
    description:
      'Brotli (node:zlib); the level is its quality. 11 is the densest and by far the slowest (about 1 MB/s).',
  },
  [CompressionAlgorithm.ZSTD]: {
    minLevel: 1,
    maxLevel: 22,
    defaultLevel: 3,
    description:
      'Zstandard 1.5.7 through the native @toondepauw/node-zstd binding. Levels above 19 use much memory.',
  },
};

export function isLevelInRange(algorithm: CompressionAlgorithm, level: number): boolean {
  const info = ALGORITHMS[algorithm];
  return Number.isInteger(level) && level >= info.minLevel && level <= info.maxLevel;
}

function checkLevel(algorithm: CompressionAlgorithm, level: number): void {
  if (!isLevelInRange(algorithm, level)) {
    const { minLevel, maxLevel } = ALGORITHMS[algorithm];
    throw new RangeError(
      `${algorithm} level must be an integer from ${minLevel} to ${maxLevel}, got ${level}`,
    );
  }
}

const gzip: Codec = {
  compress: (input, level) => zlib.gzipSync(input, { level }),
  decompress: (input) => zlib.gunzipSync(input),
};

const deflate: Codec = {
  compress: (input, level) => zlib.deflateSync(input, { level }),
  decompress: (input) => zlib.inflateSync(input),
};

const brotli: Codec = {
  compress: (input, level) =>
    zlib.brotliCompressSync(input, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: level,
        // Lets the encoder size its window and buffers for the whole input up front.
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: input.byteLength,
      },
    }),
  decompress: (input) => zlib.brotliDecompressSync(input),
};

// An Encoder holds a zstd context for its level; reusing it saves the allocation on every run.
// Per thread, and codecs are only used synchronously, so sharing within a thread is safe.
const zstdEncoders = new Map<number, Encoder>();
let zstdDecoder: Decoder | undefined;

const zstd: Codec = {
  compress: (input, level) => {
    let encoder = zstdEncoders.get(level);
    if (!encoder) zstdEncoders.set(level, (encoder = new Encoder(level)));
    return encoder.encodeSync(asBuffer(input));
  },
  decompress: (input) => (zstdDecoder ??= new Decoder()).decodeSync(asBuffer(input)),
};

const CODECS: Record<CompressionAlgorithm, Codec> = {
  [CompressionAlgorithm.GZIP]: gzip,
  [CompressionAlgorithm.DEFLATE]: deflate,
  [CompressionAlgorithm.BROTLI]: brotli,
  [CompressionAlgorithm.ZSTD]: zstd,
};

const CHECKED = Object.fromEntries(
  Object.entries(CODECS).map(([algorithm, inner]) => [
    algorithm,
    {
      compress: (input, level) => {
        checkLevel(algorithm as CompressionAlgorithm, level);
        return inner.compress(input, level);
      },
      decompress: inner.decompress,
    } satisfies Codec,
  ]),
) as Record<CompressionAlgorithm, Codec>;

/** The codec for an algorithm; `compress` throws a RangeError for a level outside the algorithm's range. */
export function codec(algorithm: CompressionAlgorithm): Codec {
  const found = CHECKED[algorithm];
  if (!found) throw new TypeError(`Unknown compression algorithm: ${String(algorithm)}`);
  return found;
}

/** A Buffer view over the same memory (no copy): the zstd binding accepts only Buffers. */
function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}
