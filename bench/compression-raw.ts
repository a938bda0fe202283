// The baseline of bench/compression.ts: the codecs called directly in the bench's own process, the way a
// user of node:zlib or the zstd binding would call them, on the same bytes and at the same level as the
// run Parley executes. Nothing from src/compression is used here except the corpus, so the baseline
// cannot inherit a slowdown from Parley's codec wrapper.
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { Decoder, Encoder } from '@toondepauw/node-zstd';
import type { CompressionAlgorithm } from '../src/sdk/generated/graphql.js';

export interface RawFigures {
  outputBytes: number;
  compressMs: number;
  decompressMs: number;
  /** Input megabytes (10^6 bytes) per second, as Parley's runs report them. */
  compressMBps: number;
  decompressMBps: number;
}

// One zstd context per level, made before timing: Parley's worker keeps one per level too, so neither
// side pays for the allocation in a measured call once warm.
const zstdEncoders = new Map<number, Encoder>();
const zstdDecoder = new Decoder();
const zstdEncoder = (level: number) => {
  let encoder = zstdEncoders.get(level);
  if (!encoder) zstdEncoders.set(level, (encoder = new Encoder(level)));
  return encoder;
};

function compressor(algorithm: CompressionAlgorithm, level: number): (input: Buffer) => Buffer {
  switch (algorithm) {
    case 'GZIP':
      return (input) => zlib.gzipSync(input, { level });
    case 'DEFLATE':
      return (input) => zlib.deflateSync(input, { level });
    case 'BROTLI':
      return (input) =>
        zlib.brotliCompressSync(input, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: level } });
    case 'ZSTD': {
      const encoder = zstdEncoder(level);
      return (input) => encoder.encodeSync(input);
    }
  }
}

function decompressor(algorithm: CompressionAlgorithm): (input: Buffer) => Buffer {
  switch (algorithm) {
    case 'GZIP':
      return (input) => zlib.gunzipSync(input);
    case 'DEFLATE':
      return (input) => zlib.inflateSync(input);
    case 'BROTLI':
      return (input) => zlib.brotliDecompressSync(input);
    case 'ZSTD':
      return (input) => zstdDecoder.decodeSync(input);
  }
}

const megabytesPerSecond = (bytes: number, ms: number) => (ms > 0 ? bytes / 1e3 / ms : 0);

/** Compresses and decompresses `input` once, timing each call alone; throws if the round trip fails. */
export function rawRoundTrip(algorithm: CompressionAlgorithm, level: number, input: Buffer): RawFigures {
  const compress = compressor(algorithm, level);
  const decompress = decompressor(algorithm);
  let started = performance.now();
  const output = compress(input);
  const compressMs = performance.now() - started;
  started = performance.now();
  const restored = decompress(output);
  const decompressMs = performance.now() - started;
  if (!restored.equals(input)) throw new Error(`${algorithm} ${level}: the round trip changed the data`);
  return {
    outputBytes: output.byteLength,
    compressMs,
    decompressMs,
    compressMBps: megabytesPerSecond(input.byteLength, compressMs),
    decompressMBps: megabytesPerSecond(input.byteLength, decompressMs),
  };
}

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
