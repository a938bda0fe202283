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
import { User } from '../users/user.entity.js';
import { CompressionInputKind, CorpusKind } from './compression-input.js';

export enum CompressionSuiteStatus {
  RUNNING = 'RUNNING',
  COMPLETE = 'COMPLETE',
}
registerEnumType(CompressionSuiteStatus, {
  name: 'CompressionSuiteStatus',
  description: 'RUNNING while any of its runs is queued or running; COMPLETE once all have ended.',
});

/** One input across several algorithms and levels; its runs are ordinary runs that point at it. */
@ObjectType({ description: 'The same input compressed with several algorithms and levels, compared.' })
@Entity({ tableName: 'compression_suites' })
@Index({ properties: ['requestedBy', 'status'] })
export class CompressionSuite {
  [OptionalProps]?: 'status' | 'corpusKind' | 'corpusSeed' | 'keepInput' | 'finishedAt' | 'createdAt';

  @Field(() => ID, { description: 'Stable identifier (UUID).' })
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Field(() => CompressionSuiteStatus, { description: 'Whether all its runs have ended.' })
  @Enum({ items: () => CompressionSuiteStatus, nativeEnumName: 'compression_suite_status' })
  status: CompressionSuiteStatus = CompressionSuiteStatus.RUNNING;

  @Field(() => CompressionInputKind, { description: 'Where the data came from.' })
  @Enum({ items: () => CompressionInputKind, nativeEnumName: 'compression_input_kind' })
  inputKind!: CompressionInputKind;

  @Field(() => CorpusKind, { nullable: true, description: 'For a CORPUS input: its kind.' })
  @Enum({ items: () => CorpusKind, nativeEnumName: 'corpus_kind', nullable: true })
  corpusKind: CorpusKind | null = null;

  @Field(() => Int, { nullable: true, description: 'For a CORPUS input: its seed.' })
  @Property({ type: 'integer', nullable: true })
  corpusSeed: number | null = null;

  @Field(() => Float, { description: 'Input size in bytes.' })
  @Property({ type: new BigIntType('number') })
  inputBytes!: number;

  @Field(() => Boolean, { description: 'Whether the inline input is kept after the runs.' })
  @Property({ type: 'boolean' })
  keepInput: boolean = false;

  /** Inline data shared by the suite's runs, until they have all ended (or for good with `keepInput`). */
  @Property({ type: BlobType, nullable: true, lazy: true })
  input: Buffer | null = null;

  @ManyToOne(() => User, { ref: true, deleteRule: 'cascade' })
  requestedBy!: Ref<User>;

  @Field(() => Date, { nullable: true, description: 'When its last run ended.' })
  @Property({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null = null;

  @Field(() => Date, { description: 'When it was asked for.' })
  @Property({ type: 'timestamptz' })
  createdAt: Date = new Date();
}
