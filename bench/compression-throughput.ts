// Part 1 of bench/compression.ts: per algorithm and level, the MB/s a run executed by the real server
// reports against the same codec called directly in this process, on the same corpus bytes.
import { generateCorpus } from '../src/compression/corpus.js';
import type { CompressionAlgorithm, CorpusKind } from '../src/sdk/generated/graphql.js';
import type { FinishedRun, RunClient, RunSpec } from './compression-clients.js';
import { rawRoundTrip, sha256, type RawFigures } from './compression-raw.js';

export const MiB = 1024 * 1024;
export const TARGET_RATIO = 0.9;
/**
 * A round trip quicker than this (raw) gets `fastRepeat` rounds: a decompression of 20–50 ms varies by a
 * third from one call to the next (page faults on the fresh output buffer, a GC), far more than a slow one.
 */
const FAST_MS = 500;

export interface GridEntry {
  algorithm: CompressionAlgorithm;
  level: number;
  sizeBytes: number;
}

/** The levels measured; brotli 11 and zstd 19 run at under 1 MB/s, so they get the small input. */
export function grid(sizeBytes: number, smallBytes: number): GridEntry[] {
  const levels: [CompressionAlgorithm, number[], number[]][] = [
    ['GZIP', [1, 6, 9], []],
    ['DEFLATE', [1, 6, 9], []],
    ['BROTLI', [1, 5, 9], [11]],
    ['ZSTD', [1, 3, 9], [19]],
  ];
  return levels.flatMap(([algorithm, normal, slow]) => [
    ...normal.map((level) => ({ algorithm, level, sizeBytes })),
    ...slow.map((level) => ({ algorithm, level, sizeBytes: smallBytes })),
  ]);
}

/**
 * After a raw round trip, which blocks this event loop for up to seconds: lets it handle what came in
 * meanwhile (a keep-alive socket the server closed, expired timers) before the next request, which would
 * otherwise go out on a socket already closed ("other side closed").
 */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const best = (values: number[]) => Math.max(...values);
const mbps = (value: number) => round(value, value < 10 ? 2 : 1);

/** Where a run's end-to-end time went, from what the client received (ms). */
function stages(finished: FinishedRun) {
  const { sentAt, answeredAt, startedAt, phaseAt, endedAt, run } = finished;
  const codecMs = (run.compressMs ?? 0) + (run.decompressMs ?? 0);
  const compressingAt = phaseAt.COMPRESSING;
  return {
    endToEndMs: round(endedAt - sentAt),
    createMutationMs: round(answeredAt - sentAt),
    untilStartedMs: startedAt === null ? null : round(startedAt - answeredAt),
    generateAndHashMs:
      startedAt === null || compressingAt === undefined ? null : round(compressingAt - startedAt),
    codecMs: round(codecMs),
    verifyStoreAndDeliverMs: compressingAt === undefined ? null : round(endedAt - compressingAt - codecMs),
  };
}

/**
 * Runs `repeat` rounds per entry (`fastRepeat` for a quick one), each the raw round trip then the same run
 * through the server; keeps the best MB/s of each side (the least disturbed by whatever else the machine runs). Before that, each codec
 * is warmed once on both sides (1 MiB, the algorithm's first level in the grid).
 */
export async function measureThroughput(options: {
  client: RunClient;
  kind: CorpusKind;
  seed: number;
  entries: GridEntry[];
  repeat: number;
  fastRepeat: number;
  progress: (text: string) => void;
}) {
  const { client, kind, seed, entries, repeat, fastRepeat, progress } = options;
  const corpora = new Map<number, { data: Buffer; checksum: string }>();
  const corpus = (sizeBytes: number) => {
    let found = corpora.get(sizeBytes);
    if (!found) {
      const data = generateCorpus(kind, sizeBytes, seed);
      corpora.set(sizeBytes, (found = { data, checksum: sha256(data) }));
    }
    return found;
  };
  const spec = (entry: GridEntry): RunSpec => ({ ...entry, kind, seed });

  const warm = new Map<CompressionAlgorithm, GridEntry>();
  for (const entry of entries)
    if (!warm.has(entry.algorithm)) warm.set(entry.algorithm, { ...entry, sizeBytes: MiB });
  for (const entry of warm.values()) {
    rawRoundTrip(entry.algorithm, entry.level, corpus(MiB).data);
    await settle();
    await client.run(spec(entry));
  }

  const rows: (ReturnType<typeof row> & { rounds: number })[] = [];
  for (const entry of entries) {
    const { data, checksum } = corpus(entry.sizeBytes);
    const raws: RawFigures[] = [];
    const runs: FinishedRun[] = [];
    let rounds = repeat;
    for (let i = 0; i < rounds; i++) {
      raws.push(rawRoundTrip(entry.algorithm, entry.level, data));
      if (i === 0) {
        if (raws[0]!.compressMs + raws[0]!.decompressMs < FAST_MS) rounds = Math.max(repeat, fastRepeat);
        progress(`${kind} ${entry.algorithm} ${entry.level} (${entry.sizeBytes / MiB} MiB) ×${rounds}`);
      }
      await settle();
      runs.push(await client.run(spec(entry)));
    }
    const mismatch = runs.find((each) => each.run.inputChecksum !== checksum);
    if (mismatch) throw new Error(`run ${mismatch.run.id} compressed other bytes than this process did`);
    rows.push({ ...row(entry, raws, runs), rounds });
  }

  const below = rows.filter(
    (row) => row.parleyOverRaw.compress < TARGET_RATIO || row.parleyOverRaw.decompress < TARGET_RATIO,
  );
  const ratios = (side: 'compress' | 'decompress') => rows.map((row) => row.parleyOverRaw[side]);
  return {
    corpus: { kind, seed },
    rows,
    summary: {
      compressRatio: { min: Math.min(...ratios('compress')), median: median(ratios('compress')) },
      decompressRatio: { min: Math.min(...ratios('decompress')), median: median(ratios('decompress')) },
      sameOutputBytes: rows.every((row) => row.raw.outputBytes === row.parley.outputBytes),
      belowTarget: below.map((row) => `${row.algorithm} ${row.level}`),
      targetMet: below.length === 0,
    },
  };
}

/** One grid entry's figures: the best of its rounds on each side, and the fastest run's stages. */
function row(entry: GridEntry, raws: RawFigures[], runs: FinishedRun[]) {
  const raw = {
    compress: best(raws.map((each) => each.compressMBps)),
    decompress: best(raws.map((each) => each.decompressMBps)),
  };
  const parley = {
    compress: best(runs.map((each) => each.run.compressMBps ?? 0)),
    decompress: best(runs.map((each) => each.run.decompressMBps ?? 0)),
  };
  const fastest = runs.reduce((a, b) => (b.endedAt - b.sentAt < a.endedAt - a.sentAt ? b : a));
  const breakdown = stages(fastest);
  return {
    algorithm: entry.algorithm,
    level: entry.level,
    inputMiB: entry.sizeBytes / MiB,
    compressionRatio: round(entry.sizeBytes / raws[0]!.outputBytes, 2),
    raw: {
      compressMBps: mbps(raw.compress),
      decompressMBps: mbps(raw.decompress),
      outputBytes: raws[0]!.outputBytes,
    },
    parley: {
      compressMBps: mbps(parley.compress),
      decompressMBps: mbps(parley.decompress),
      outputBytes: runs[0]!.run.outputBytes,
    },
    // From the unrounded figures: brotli 11 and zstd 19 run at a few MB/s or less.
    parleyOverRaw: {
      compress: round(parley.compress / raw.compress, 2),
      decompress: round(parley.decompress / raw.decompress, 2),
    },
    endToEnd: { ...breakdown, MBps: mbps(entry.sizeBytes / 1e3 / breakdown.endToEndMs) },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : round((sorted[middle - 1]! + sorted[middle]!) / 2, 3);
}
