import { Field, Int, ObjectType } from 'type-graphql';
import { CompressionAlgorithm } from '../compression-algorithm.js';

@ObjectType({ description: 'An algorithm Parley can run, with its levels.' })
export class CompressionAlgorithmInfo {
  @Field(() => CompressionAlgorithm, { description: 'The algorithm.' })
  algorithm!: CompressionAlgorithm;

  @Field(() => Int, { description: 'Lowest level (fastest).' })
  minLevel!: number;

  @Field(() => Int, { description: 'Highest level (smallest output).' })
  maxLevel!: number;

  @Field(() => Int, { description: 'The level used when none is given.' })
  defaultLevel!: number;

  @Field(() => String, { description: 'What it is and how it is run here.' })
  description!: string;
}
