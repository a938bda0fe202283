import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALGORITHMS, codec } from '../src/compression/algorithms.js';
import { CORPUS_KINDS, generateCorpus, type CorpusKind } from '../src/compression/corpus.js';
import { createCompressionPool, isAbortError, type CompressionPool } from '../src/compression/pool.js';
import { runCompressionTask, type CompressionPhase, type CompressionTask } from '../src/compression/task.js';
import { CompressionAlgorithm } from '../src/modules/compression/compression-algorithm.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const algorithms = Object.values(CompressionAlgorithm);
const gzipRatio = (data: Uint8Array) => data.byteLength / zlib.gzipSync(data).byteLength;

/** How each format starts, so a test can tell real gzip/zlib/zstd output from anything else. */
const MAGIC: Partial<Record<CompressionAlgorithm, number[]>> = {
  [CompressionAlgorithm.GZIP]: [0x1f, 0x8b],
  [CompressionAlgorithm.DEFLATE]: [0x78],
  [CompressionAlgorithm.ZSTD]: [0x28, 0xb5, 0x2f, 0xfd],
};
/** Decoders other than our own codec, where Node has one. */
const INDEPENDENT_DECODER: Partial<Record<CompressionAlgorithm, (data: Uint8Array) => Buffer>> = {
  [CompressionAlgorithm.GZIP]: (data) => zlib.gunzipSync(data),
  [CompressionAlgorithm.DEFLATE]: (data) => zlib.inflateSync(data),
  [CompressionAlgorithm.BROTLI]: (data) => zlib.brotliDecompressSync(data),
};

describe('algorithms', () => {
  it('lists every algorithm with its level range and default', () => {
    expect(ALGORITHMS).toMatchObject({
      GZIP: { minLevel: 0, maxLevel: 9, defaultLevel: 6 },
      DEFLATE: { minLevel: 0, maxLevel: 9, defaultLevel: 6 },
      BROTLI: { minLevel: 0, maxLevel: 11, defaultLevel: 5 },
      ZSTD: { minLevel: 1, maxLevel: 22, defaultLevel: 3 },
    });
    for (const algorithm of algorithms) expect(ALGORITHMS[algorithm].description).not.toBe('');
  });

  it.each(algorithms)('%s refuses a level outside its range', (algorithm) => {
    const { minLevel, maxLevel } = ALGORITHMS[algorithm];
    const { compress } = codec(algorithm);
    const data = Buffer.from('abc');
    for (const level of [minLevel - 1, maxLevel + 1, minLevel + 0.5]) {
      expect(() => compress(data, level)).toThrow(RangeError);
    }
  });
});

describe('round trips', () => {
  const cases = algorithms.flatMap((algorithm) => {
    const { minLevel, defaultLevel, maxLevel } = ALGORITHMS[algorithm];
    return CORPUS_KINDS.flatMap((kind) =>
      [...new Set([minLevel, defaultLevel, maxLevel])].map((level) => ({ algorithm, kind, level })),
    );
  });

  it.each(cases)('$algorithm level $level round-trips $kind', ({ algorithm, kind, level }) => {
    const corpus = { kind, sizeBytes: 48 * 1024 + 7, seed: 11 };
    const result = runCompressionTask({
      algorithm,
      level,
      input: { type: 'corpus', corpus },
      includeOutput: true,
    });
    const input = generateCorpus(kind, corpus.sizeBytes, corpus.seed);

    expect(result).toMatchObject({
      algorithm,
      level,
      inputBytes: corpus.sizeBytes,
      checksum: sha256(input),
      roundTripOk: true,
    });
    expect(result.outputBytes).toBe(result.output!.byteLength);
    expect(result.ratio).toBeCloseTo(corpus.sizeBytes / result.outputBytes, 10);
    expect([...result.output!.subarray(0, MAGIC[algorithm]?.length ?? 0)]).toEqual(MAGIC[algorithm] ?? []);
    const decoded = (INDEPENDENT_DECODER[algorithm] ?? codec(algorithm).decompress)(result.output!);
    expect(sha256(decoded)).toBe(result.checksum);
    const storesOnly = level === 0 && algorithm !== CompressionAlgorithm.BROTLI;
    if (kind === 'RANDOM' || storesOnly) expect(result.ratio).toBeLessThan(1.01);
    else expect(result.ratio).toBeGreaterThan(1.5);
  });

  it('takes bytes given by the caller', () => {
    const data = new TextEncoder().encode('to be or not to be, '.repeat(500));
    const result = runCompressionTask({
      algorithm: CompressionAlgorithm.ZSTD,
      level: 3,
      input: { type: 'bytes', data },
    });
    expect(result).toMatchObject({ inputBytes: data.byteLength, checksum: sha256(data), roundTripOk: true });
    expect(result.output).toBeUndefined();
  });
});

describe('generateCorpus', () => {
  it.each(CORPUS_KINDS)('%s: the same seed gives the same bytes, another seed other bytes', (kind) => {
    const a = generateCorpus(kind, 200_003, 5);
    expect(a.byteLength).toBe(200_003);
    expect(sha256(generateCorpus(kind, 200_003, 5))).toBe(sha256(a));
    expect(sha256(generateCorpus(kind, 200_003, 6))).not.toBe(sha256(a));
    expect(sha256(generateCorpus(kind, 200_003, 2 ** 40 + 5))).not.toBe(sha256(a));
  });

  it('gives these exact bytes on every machine (a change here changes every benchmark input)', () => {
    const digests = Object.fromEntries(
      CORPUS_KINDS.map((kind) => [kind, sha256(generateCorpus(kind, 100_000, 2024))]),
    );
    expect(digests).toEqual({
      TEXT: '42262056a615e6513e5a33d7971c42857e0c2c6b099fe33962b528c06be8f83f',
      JSON: '1236b757c490d06e020bebd46c4a0dd8bd838a4a39e9214abdb427b5a7661637',
      LOGS: '74555e20de6868a1008befad8a0619617178cf586753ef3c3e9583f6bdf3c930',
      RANDOM: 'd4918420883d9d27107c4a584ba248fbd396f7550448e9e8af0b3cc5a992b4cc',
    });
  });

  it('makes each kind look and compress like what it is named after', () => {
    const text = generateCorpus('TEXT', 1 << 20, 1);
    expect(text.toString('latin1')).toMatch(/^[A-Z][a-z]+[ ,]/);
    expect(text.every((b) => b === 0x0a || (b >= 0x20 && b < 0x7f))).toBe(true);
    expect(gzipRatio(text)).toBeGreaterThan(2);
    expect(gzipRatio(text)).toBeLessThan(4);

    const records = JSON.parse(generateCorpus('JSON', 1 << 20, 1).toString('utf8')) as Record<
      string,
      unknown
    >[];
    expect(records.length).toBeGreaterThan(1000);
    expect(Object.keys(records[0]!)).toEqual([
      'id',
      'requestId',
      'user',
      'active',
      'score',
      'tags',
      'createdAt',
      'message',
    ]);
    expect(gzipRatio(generateCorpus('JSON', 1 << 20, 1))).toBeGreaterThan(3);

    const logs = generateCorpus('LOGS', 1 << 20, 1);
    const lines = logs.toString('latin1').split('\n').slice(0, -1);
    const line =
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO |DEBUG|WARN |ERROR) \[[a-z-]+\] req=[0-9a-f]{8} \S/;
    expect(lines.every((l) => line.test(l))).toBe(true);
    expect(new Set(lines.map((l) => l.slice(25, 30))).size).toBe(4);
    expect(lines.map((l) => l.slice(0, 24))).toEqual(lines.map((l) => l.slice(0, 24)).sort());
    expect(gzipRatio(logs)).toBeGreaterThan(3);

    expect(gzipRatio(generateCorpus('RANDOM', 1 << 20, 1))).toBeLessThan(1.001);
  });

  it('is valid JSON at any size from 2 bytes and exactly the size asked for every kind', () => {
    for (const size of [2, 3, 4, 5, 6, 100, 1023, 1024, 1025, 4097, 65_537]) {
      const json = generateCorpus('JSON', size, size);
      expect(json.byteLength).toBe(size);
      expect(Array.isArray(JSON.parse(json.toString('utf8')))).toBe(true);
    }
    for (const kind of CORPUS_KINDS) {
      for (const size of [0, 1, 3, 1023, 1025, 5000])
        expect(generateCorpus(kind, size, 3).byteLength).toBe(size);
    }
  });

  it('refuses sizes and seeds it cannot honour', () => {
    expect(() => generateCorpus('TEXT', -1, 1)).toThrow(RangeError);
    expect(() => generateCorpus('TEXT', 1.5, 1)).toThrow(RangeError);
    expect(() => generateCorpus('TEXT', 10, 0.5)).toThrow(RangeError);
    expect(() => generateCorpus('BINARY' as CorpusKind, 10, 1)).toThrow(TypeError);
  });
});

describe('compression pool', () => {
  let pool: CompressionPool;
  beforeAll(() => {
    pool = createCompressionPool({ threads: 2 });
  });
  afterAll(() => pool.destroy());

  const slowTask = (seed: number): CompressionTask => ({
    algorithm: CompressionAlgorithm.ZSTD,
    level: 19,
    input: { type: 'corpus', corpus: { kind: 'TEXT', sizeBytes: 4 << 20, seed } },
  });

  it('runs a task on a worker thread and reports each phase', async () => {
    const phases: CompressionPhase[] = [];
    const result = await pool.run(
      {
        algorithm: CompressionAlgorithm.GZIP,
        level: 6,
        input: { type: 'corpus', corpus: { kind: 'LOGS', sizeBytes: 20 << 20, seed: 3 } },
      },
      { onProgress: (p) => phases.push(p.phase) },
    );
    expect(result).toMatchObject({ inputBytes: 20 << 20, roundTripOk: true });
    expect(result.checksum).toBe(sha256(generateCorpus('LOGS', 20 << 20, 3)));
    expect(result.compressMBps).toBeGreaterThan(0);
    expect(result.decompressMBps).toBeGreaterThan(0);
    expect([...new Set(phases)]).toEqual([
      'GENERATING',
      'HASHING',
      'COMPRESSING',
      'DECOMPRESSING',
      'VERIFYING',
    ]);
    expect(phases.filter((p) => p === 'GENERATING').length).toBeGreaterThan(2); // chunked generation
  });

  it('runs tasks in parallel, one per thread', { timeout: 60_000 }, async () => {
    // With one thread the second task could only start compressing after the first had settled.
    const compressing = new Set<number>();
    const settled = new Set<number>();
    let bothCompressingWhileRunning = false;
    const run = (seed: number) =>
      pool
        .run(slowTask(seed), {
          onProgress: (p) => {
            if (p.phase !== 'COMPRESSING') return;
            compressing.add(seed);
            if (compressing.size === 2 && settled.size === 0) bothCompressingWhileRunning = true;
          },
        })
        .finally(() => settled.add(seed));
    const results = await Promise.all([run(1), run(2)]);
    expect(bothCompressingWhileRunning).toBe(true);
    expect(results.map((r) => r.roundTripOk)).toEqual([true, true]);
  });

  it('moves the input to the worker without copying it: the caller’s buffer is detached', async () => {
    const data = generateCorpus('JSON', 1 << 20, 9);
    const checksum = sha256(data);
    const result = await pool.run({
      algorithm: CompressionAlgorithm.BROTLI,
      level: 5,
      input: { type: 'bytes', data },
    });
    expect(result).toMatchObject({ checksum, inputBytes: 1 << 20, roundTripOk: true });
    expect(data.byteLength).toBe(0);
    expect(data.buffer.byteLength).toBe(0);
  });

  it('copies a view over part of a buffer instead of taking the rest of it', async () => {
    const whole = generateCorpus('TEXT', 1 << 16, 9);
    const view = whole.subarray(100, 30_100);
    const result = await pool.run({
      algorithm: CompressionAlgorithm.DEFLATE,
      level: 9,
      input: { type: 'bytes', data: view },
    });
    expect(result).toMatchObject({ checksum: sha256(view), inputBytes: 30_000, roundTripOk: true });
    expect(whole.byteLength).toBe(1 << 16);
  });

  it('moves the compressed output back when asked for it', async () => {
    const result = await pool.run({
      algorithm: CompressionAlgorithm.GZIP,
      level: 1,
      input: { type: 'corpus', corpus: { kind: 'TEXT', sizeBytes: 100_000, seed: 4 } },
      includeOutput: true,
    });
    expect(result.output).toBeInstanceOf(Uint8Array);
    expect(result.output!.byteLength).toBe(result.outputBytes);
    expect(sha256(zlib.gunzipSync(result.output!))).toBe(result.checksum);
  });

  it('rejects a level out of range with the codec’s error', async () => {
    await expect(
      pool.run({
        algorithm: CompressionAlgorithm.ZSTD,
        level: 23,
        input: { type: 'bytes', data: new Uint8Array(4) },
      }),
    ).rejects.toThrow(/ZSTD level must be an integer from 1 to 22/);
  });
});

describe('cancelling', () => {
  let pool: CompressionPool;
  beforeAll(() => {
    pool = createCompressionPool({ threads: 1 });
  });
  afterAll(() => pool.destroy());

  const longTask: CompressionTask = {
    algorithm: CompressionAlgorithm.BROTLI,
    level: 11,
    input: { type: 'corpus', corpus: { kind: 'TEXT', sizeBytes: 64 << 20, seed: 1 } },
  };

  it('stops a running task and a queued one with an AbortError, and the pool goes on', async () => {
    const running = new AbortController();
    const queued = new AbortController();
    let compressing!: () => void;
    const started = new Promise<void>((resolve) => (compressing = resolve));
    const first = pool.run(longTask, {
      signal: running.signal,
      onProgress: (p) => p.phase === 'COMPRESSING' && compressing(),
    });
    const second = pool.run(longTask, { signal: queued.signal });
    await started;
    expect(pool.queueSize).toBe(1);

    queued.abort();
    const queuedError = await second.catch((e: unknown) => e);
    expect(isAbortError(queuedError)).toBe(true);

    running.abort();
    const runningError = await first.catch((e: unknown) => e);
    expect(isAbortError(runningError)).toBe(true);

    const after = await pool.run({
      algorithm: CompressionAlgorithm.GZIP,
      level: 6,
      input: { type: 'bytes', data: new Uint8Array(1000) },
    });
    expect(after.roundTripOk).toBe(true);
  });

  it('rejects at once when the signal has already fired', async () => {
    const error = await pool.run(longTask, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(isAbortError(error)).toBe(true);
  });
});
