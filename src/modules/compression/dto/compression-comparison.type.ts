import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { CompressionAlgorithm } from '../compression-algorithm.js';
import { CompressionRunStatus, type CompressionRun } from '../compression-run.entity.js';

@ObjectType({ description: 'One run of a suite in its comparison table.' })
export class CompressionComparisonRow {
  @Field(() => ID, { description: 'The run.' })
  runId!: string;

  @Field(() => CompressionAlgorithm, { description: 'The algorithm.' })
  algorithm!: CompressionAlgorithm;

  @Field(() => Int, { description: 'The level.' })
  level!: number;

  @Field(() => CompressionRunStatus, { description: 'How the run ended.' })
  status!: CompressionRunStatus;

  @Field(() => Float, { nullable: true, description: 'Input bytes per output byte.' })
  ratio!: number | null;

  @Field(() => Float, { nullable: true, description: 'Compressed size in bytes.' })
  outputBytes!: number | null;

  @Field(() => Float, { nullable: true, description: 'Compression MB/s.' })
  compressMBps!: number | null;

  @Field(() => Float, { nullable: true, description: 'Decompression MB/s.' })
  decompressMBps!: number | null;

  @Field(() => Boolean, { description: 'The best ratio of the suite.' })
  bestRatio!: boolean;

  @Field(() => Boolean, { description: 'The fastest compression of the suite.' })
  fastestCompression!: boolean;

  @Field(() => Boolean, { description: 'The fastest decompression of the suite.' })
  fastestDecompression!: boolean;
}

/** The suite's runs that succeeded first, by ratio (best first), with the best of each figure marked. */
export function comparisonOf(runs: CompressionRun[]): CompressionComparisonRow[] {
  const ok = runs.filter((run) => run.status === CompressionRunStatus.SUCCEEDED);
  const best = (figure: (run: CompressionRun) => number | null) =>
    ok.reduce<CompressionRun | undefined>(
      (top, run) => ((figure(run) ?? -Infinity) > (top ? (figure(top) ?? -Infinity) : -Infinity) ? run : top),
      undefined,
    )?.id;
  const bestRatio = best((run) => run.ratio);
  const fastestCompression = best((run) => run.compressMBps);
  const fastestDecompression = best((run) => run.decompressMBps);
  return [...runs]
    .sort(
      (a, b) =>
        Number(b.status === CompressionRunStatus.SUCCEEDED) -
          Number(a.status === CompressionRunStatus.SUCCEEDED) ||
        (b.ratio ?? 0) - (a.ratio ?? 0) ||
        a.algorithm.localeCompare(b.algorithm) ||
        a.level - b.level,
    )
    .map((run) => ({
      runId: run.id,
      algorithm: run.algorithm,
      level: run.level,
      status: run.status,
      ratio: run.ratio,
      outputBytes: run.outputBytes,
      compressMBps: run.compressMBps,
      decompressMBps: run.decompressMBps,
      bestRatio: run.id === bestRatio,
      fastestCompression: run.id === fastestCompression,
      fastestDecompression: run.id === fastestDecompression,
    }));
}
