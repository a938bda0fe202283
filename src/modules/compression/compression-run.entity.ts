import { randomUUID } from 'node:crypto';
import {
  BigIntType,
  BlobType,
  Entity,
  Enum,
  Index,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  type Ref,
} from '@mikro-orm/core';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Agent } from '../agents/agent.entity.js';
import { User } from '../users/user.entity.js';
import { CompressionAlgorithm } from './compression-algorithm.js';
import { CompressionInputKind, CorpusKind } from './compression-input.js';
import { CompressionSuite } from './compression-suite.entity.js';

export enum CompressionRunStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(CompressionRunStatus, {
  name: 'CompressionRunStatus',
  description: 'QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELLED.',
});

export { CompressionInputKind, CorpusKind } from './compression-input.js';

export const TERMINAL_RUN_STATUSES = [
  CompressionRunStatus.SUCCEEDED,
  CompressionRunStatus.FAILED,
  CompressionRunStatus.CANCELLED,
];

/** One algorithm at one level over one input, with the figures users compare algorithms by. */
@ObjectType({ description: 'A compression benchmark run: one algorithm, one level, one input.' })
@Entity({ tableName: 'compression_runs' })
@Index({ properties: ['createdAt', 'id'] })
@Index({ properties: ['requestedBy', 'status'] })
@Index({ properties: ['suite'] })
export class CompressionRun {
  [OptionalProps]?:
    | 'status'
    | 'corpusKind'
    | 'corpusSeed'
    | 'agent'
    | 'suite'
    | 'keepInput'
    | 'cancelRequested'
    | 'outputBytes'
    | 'ratio'
    | 'compressMs'
    | 'decompressMs'
    | 'compressMBps'
    | 'decompressMBps'
    | 'roundTripOk'
    | 'error'
    | 'startedAt'
    | 'finishedAt'
    | 'createdAt';

  @Field(() => ID, { description: 'Stable identifier (UUID).' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => CompressionAlgorithm, { description: 'The algorithm.' })
  @Enum({ items: () => CompressionAlgorithm, nativeEnumName: 'compression_algorithm' })
  algorithm!: CompressionAlgorithm;

  @Field(() => Int, { description: 'The level (see `compressionAlgorithms` for each one’s range).' })
  @Property({ type: 'integer' })
  level!: number;

  @Field(() => CompressionRunStatus, { description: 'Where it is.' })
  @Enum({ items: () => CompressionRunStatus, nativeEnumName: 'compression_run_status' })
  status: CompressionRunStatus = CompressionRunStatus.QUEUED;

  @Field(() => CompressionInputKind, { description: 'Where the data came from.' })
  @Enum({ items: () => CompressionInputKind, nativeEnumName: 'compression_input_kind' })
  inputKind!: CompressionInputKind;

  @Field(() => CorpusKind, { nullable: true, description: 'For a CORPUS input: its kind.' })
  @Enum({ items: () => CorpusKind, nativeEnumName: 'corpus_kind', nullable: true })
  corpusKind: CorpusKind | null = null;

  @Field(() => Int, { nullable: true, description: 'For a CORPUS input: its seed (same seed, same bytes).' })
  @Property({ type: 'integer', nullable: true })
  corpusSeed: number | null = null;

  @Field(() => Float, { description: 'Input size in bytes.' })
  @Property({ type: new BigIntType('number') })
  inputBytes!: number;

  @Field(() => String, {
    nullable: true,
    description: 'SHA-256 of the input (hex); for a corpus, known once the run has generated it.',
  })
  @Property({ type: 'text', nullable: true })
  inputChecksum: string | null = null;

  @Field(() => Boolean, { description: 'Whether the inline input is kept after the run (`keepInput`).' })
  @Property({ type: 'boolean' })
  keepInput: boolean = false;

  @Field(() => Boolean, { description: 'A cancel was asked for while it ran; it stops at once.' })
  @Property({ type: 'boolean' })
  cancelRequested: boolean = false;

  /** Inline data, until the run has used it (or for good with `keepInput`). Never exposed. */
  @Property({ type: BlobType, nullable: true, lazy: true })
  input: Buffer | null = null;

  @Field(() => Float, { nullable: true, description: 'Compressed size in bytes.' })
  @Property({ type: new BigIntType('number'), nullable: true })
  outputBytes: number | null = null;

  @Field(() => Float, { nullable: true, description: 'Input bytes per output byte (higher is better).' })
  @Property({ type: 'double', nullable: true })
  ratio: number | null = null;

  @Field(() => Float, { nullable: true, description: 'Time to compress, ms.' })
  @Property({ type: 'double', nullable: true })
  compressMs: number | null = null;

  @Field(() => Float, { nullable: true, description: 'Time to decompress, ms.' })
  @Property({ type: 'double', nullable: true })
  decompressMs: number | null = null;

  @Field(() => Float, { nullable: true, description: 'Compression throughput, MB/s of input (10^6 bytes).' })
  @Property({ type: 'double', nullable: true })
  compressMBps: number | null = null;

  @Field(() => Float, { nullable: true, description: 'Decompression throughput, MB/s of input.' })
  @Property({ type: 'double', nullable: true })
  decompressMBps: number | null = null;

  @Field(() => Boolean, {
    nullable: true,
    description: 'Whether decompressing gave back the input exactly (checked by SHA-256).',
  })
  @Property({ type: 'boolean', nullable: true })
  roundTripOk: boolean | null = null;

  @Field(() => String, { nullable: true, description: 'Why it FAILED (or who CANCELLED it).' })
  @Property({ type: 'text', nullable: true })
  error: string | null = null;

  @ManyToOne(() => User, { ref: true, deleteRule: 'cascade' })
  requestedBy!: Ref<User>;

  @ManyToOne(() => Agent, { ref: true, nullable: true, deleteRule: 'restrict' })
  agent: Ref<Agent> | null = null;

  /** The suite it belongs to; its inline data is then the suite's (stored once). */
  @ManyToOne(() => CompressionSuite, { ref: true, nullable: true, deleteRule: 'cascade' })
  suite: Ref<CompressionSuite> | null = null;

  @Field(() => Date, { nullable: true, description: 'When a worker started it.' })
  @Property({ type: 'timestamptz', nullable: true })
  startedAt: Date | null = null;

  @Field(() => Date, { nullable: true, description: 'When it finished, failed or was cancelled.' })
  @Property({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null = null;

  @Field(() => Date, { description: 'When it was asked for.' })
  @Property({ type: 'timestamptz', length: 3 })
  createdAt: Date = new Date();
}
