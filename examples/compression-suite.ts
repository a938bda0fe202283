// npm run example:compression [-- <TEXT|JSON|LOGS|RANDOM> [size in MiB]]
// Runs one generated corpus (default 4 MiB of TEXT) through gzip, deflate, brotli and zstd at several
// levels as a compression suite, prints each run as it finishes, then the comparison table. Needs no
// Ollama: the runs execute on the server's worker threads.
import {
  CompressionSuiteDocument,
  CompressionSuiteUpdatedDocument,
  CreateCompressionSuiteDocument,
  type CompressionAlgorithm,
  type CorpusKind,
} from '../src/sdk/index.js';
import { runExample } from './support.js';

const KINDS: CorpusKind[] = ['TEXT', 'JSON', 'LOGS', 'RANDOM'];
const kind = (process.argv[2] ?? 'TEXT').toUpperCase() as CorpusKind;
const mib = Number(process.argv[3] ?? 4);
if (!KINDS.includes(kind) || !(mib > 0 && mib <= 256)) {
  console.error(`usage: npm run example:compression -- [${KINDS.join('|')}] [size in MiB, up to 256]`);
  process.exit(2);
}

const RUNS: { algorithm: CompressionAlgorithm; level: number }[] = [
  { algorithm: 'GZIP', level: 1 },
  { algorithm: 'GZIP', level: 6 },
  { algorithm: 'GZIP', level: 9 },
  { algorithm: 'DEFLATE', level: 6 },
  { algorithm: 'BROTLI', level: 4 },
  { algorithm: 'BROTLI', level: 9 },
  { algorithm: 'ZSTD', level: 3 },
  { algorithm: 'ZSTD', level: 12 },
  { algorithm: 'ZSTD', level: 19 },
];

const size = (bytes: number | null | undefined) =>
  bytes == null
    ? '–'
    : bytes >= 1 << 20
      ? `${(bytes / (1 << 20)).toFixed(2)} MiB`
      : `${(bytes / 1024).toFixed(1)} KiB`;
const number = (value: number | null | undefined, digits: number) =>
  value == null ? '–' : value.toFixed(digits);

await runExample(async (parley) => {
  const { createCompressionSuite: suite } = await parley.mutate(CreateCompressionSuiteDocument, {
    input: { data: { corpus: { kind, sizeBytes: Math.round(mib * (1 << 20)), seed: 1 } }, runs: RUNS },
  });
  console.log(`Suite ${suite.id}: ${RUNS.length} runs on ${size(suite.inputBytes)} of generated ${kind}`);

  for await (const { compressionSuiteUpdated: event } of parley.subscribe(CompressionSuiteUpdatedDocument, {
    id: suite.id,
    afterSeq: 0,
  })) {
    if (event.type === 'RUN_FINISHED' && event.run) {
      const { algorithm, level, status, ratio } = event.run;
      console.log(
        `  [${event.finishedRuns}/${event.totalRuns}] ${algorithm} ${level}: ${status}, ratio ${number(ratio, 2)}`,
      );
    }
    if (event.type === 'COMPLETED') break;
  }

  // The comparison: runs that succeeded first, best ratio first; each mark is on exactly one run.
  const { compressionSuite } = await parley.query(CompressionSuiteDocument, { id: suite.id });
  const rows = compressionSuite!.comparison!.map((row) => [
    row.algorithm,
    String(row.level),
    row.status,
    number(row.ratio, 2),
    size(row.outputBytes),
    number(row.compressMBps, 1),
    number(row.decompressMBps, 1),
    [
      row.bestRatio && 'best ratio',
      row.fastestCompression && 'fastest compression',
      row.fastestDecompression && 'fastest decompression',
    ]
      .filter(Boolean)
      .join(', '),
  ]);
  const header = [
    'algorithm',
    'level',
    'status',
    'ratio',
    'output',
    'compress MB/s',
    'decompress MB/s',
    'notes',
  ];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const print = (cells: string[]) =>
    console.log(
      cells
        .map((cell, column) =>
          column <= 2 || column === 7 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
        )
        .join('  ')
        .trimEnd(),
    );
  console.log('');
  print(header);
  print(widths.map((width) => '-'.repeat(width)));
  rows.forEach(print);
});
