import {
  Arg,
  Args,
  Ctx,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import { connectionType, toConnection } from '../../common/connection.js';
import { ALGORITHMS } from '../../compression/algorithms.js';
import type { GraphQLContext } from '../../graphql/context.js';
import type { StoredEvent } from '../../realtime/index.js';
import { Agent } from '../agents/agent.entity.js';
import { User } from '../users/user.entity.js';
import { CompressionAlgorithm } from './compression-algorithm.js';
import { CompressionRun } from './compression-run.entity.js';
import {
  CompressionRunEvent,
  compressionRunStream,
  CompressionSuiteEvent,
  compressionSuiteStream,
  toCompressionRunEvent,
  toCompressionSuiteEvent,
} from './compression.events.js';
import { CompressionSuite, CompressionSuiteStatus } from './compression-suite.entity.js';
import { CompressionComparisonRow, comparisonOf } from './dto/compression-comparison.type.js';
import { CompressionAlgorithmInfo } from './dto/compression-algorithm-info.type.js';
import {
  CompressionRunsArgs,
  CreateCompressionRunInput,
  CreateCompressionSuiteInput,
} from './dto/compression.inputs.js';

export const CompressionRunConnection = connectionType(CompressionRun, 'CompressionRun');
export type CompressionRunConnection = InstanceType<typeof CompressionRunConnection>;

@Resolver(() => CompressionRun)
export class CompressionResolver {
  @Query(() => [CompressionAlgorithmInfo], { description: 'The algorithms and their level ranges. VIEWER+.' })
  compressionAlgorithms(): CompressionAlgorithmInfo[] {
    return Object.values(CompressionAlgorithm).map((algorithm) => ({ algorithm, ...ALGORITHMS[algorithm] }));
  }

  @Query(() => CompressionRunConnection, { description: 'Compression runs, newest first. VIEWER+.' })
  async compressionRuns(
    @Args(() => CompressionRunsArgs) args: CompressionRunsArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<CompressionRunConnection> {
    const page = await services.compression.list(em, args.filter, args);
    return toConnection(
      CompressionRunConnection,
      page,
      (run) => services.compression.cursor(run),
      () => services.compression.count(em, args.filter),
    );
  }

  @Query(() => CompressionRun, { description: 'One compression run by id. VIEWER+.' })
  compressionRun(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<CompressionRun> {
    return services.compression.get(em, id);
  }

  @Mutation(() => CompressionRun, {
    description:
      'Queue a compression run; it runs in a worker thread and streams on `compressionRunUpdated`. ANALYST+.',
  })
  createCompressionRun(
    @Arg('input', () => CreateCompressionRunInput) input: CreateCompressionRunInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CompressionRun> {
    return ctx.services.compression.create(ctx.em, ctx.user!, input);
  }

  @Mutation(() => CompressionSuite, {
    description:
      'Queue the same data across several algorithms and levels; `comparison` is filled in when all have ended. ANALYST+.',
  })
  createCompressionSuite(
    @Arg('input', () => CreateCompressionSuiteInput) input: CreateCompressionSuiteInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<CompressionSuite> {
    return ctx.services.compression.createSuite(ctx.em, ctx.user!, input);
  }

  @Query(() => CompressionSuite, { description: 'One compression suite by id. VIEWER+.' })
  compressionSuite(
    @Arg('id', () => ID) id: string,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<CompressionSuite> {
    return services.compression.getSuite(em, id);
  }

  @Subscription(() => CompressionSuiteEvent, {
    description: 'A suite’s runs ending, then its completion, in order; resumable with `afterSeq`. VIEWER+.',
    subscribe: async ({ args, context }) => {
      const ctx = context as GraphQLContext;
      const { id, afterSeq } = args as { id: string; afterSeq?: number | null };
      const suite = await ctx.services.compression.getSuite(ctx.em, id);
      return ctx.realtime.subscribe(compressionSuiteStream(suite.id), { afterSeq });
    },
  })
  compressionSuiteUpdated(
    @Root() event: StoredEvent,
    @Arg('id', () => ID, { description: 'The suite.' }) _id: string,
    @Arg('afterSeq', () => Int, { nullable: true, description: 'Resume after this seq.' })
    _afterSeq?: number,
  ): CompressionSuiteEvent {
    return toCompressionSuiteEvent(event);
  }

  @Mutation(() => CompressionRun, {
    description: 'Cancel a run that has not finished (yours; ADMIN: any). ANALYST+.',
  })
  cancelCompressionRun(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<CompressionRun> {
    return ctx.services.compression.cancel(ctx.em, ctx.user!, id);
  }

  @Subscription(() => CompressionRunEvent, {
    description:
      'A run’s changes in order (queued, started, progress, finished), resumable with `afterSeq`. VIEWER+.',
    subscribe: async ({ args, context }) => {
      const ctx = context as GraphQLContext;
      const { id, afterSeq } = args as { id: string; afterSeq?: number | null };
      const run = await ctx.services.compression.get(ctx.em, id); // NOT_FOUND at subscribe time
      return ctx.realtime.subscribe(compressionRunStream(run.id), { afterSeq });
    },
  })
  compressionRunUpdated(
    @Root() event: StoredEvent,
    @Arg('id', () => ID, { description: 'The run.' }) _id: string,
    @Arg('afterSeq', () => Int, { nullable: true, description: 'Resume after this seq.' })
    _afterSeq?: number,
  ): CompressionRunEvent {
    return toCompressionRunEvent(event);
  }

  @FieldResolver(() => User, { description: 'Who asked for it.' })
  async requestedBy(@Root() run: CompressionRun, @Ctx() { loaders }: GraphQLContext): Promise<User> {
    return (await loaders.userById.load(run.requestedBy.id))!;
  }

  @FieldResolver(() => Agent, {
    nullable: true,
    description: 'The agent it was asked of, if any (one that lists the algorithm among its supported ones).',
  })
  async agent(@Root() run: CompressionRun, @Ctx() { loaders }: GraphQLContext): Promise<Agent | null> {
    return run.agent ? loaders.agentById.load(run.agent.id) : null;
  }
}

@Resolver(() => CompressionSuite)
export class CompressionSuiteResolver {
  @FieldResolver(() => [CompressionRun], {
    description: 'Its runs, by algorithm (as `compressionAlgorithms` lists them) then level.',
  })
  runs(@Root() suite: CompressionSuite, @Ctx() { em, services }: GraphQLContext): Promise<CompressionRun[]> {
    return services.compression.suiteRuns(em, suite.id);
  }

  @FieldResolver(() => [CompressionComparisonRow], {
    nullable: true,
    description:
      'Once COMPLETE: its runs side by side, best ratio first, with the best of each figure marked.',
  })
  async comparison(
    @Root() suite: CompressionSuite,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<CompressionComparisonRow[] | null> {
    if (suite.status !== CompressionSuiteStatus.COMPLETE) return null;
    return comparisonOf(await services.compression.suiteRuns(em, suite.id));
  }

  @FieldResolver(() => User, { description: 'Who asked for it.' })
  async requestedBy(@Root() suite: CompressionSuite, @Ctx() { loaders }: GraphQLContext): Promise<User> {
    return (await loaders.userById.load(suite.requestedBy.id))!;
  }
}
