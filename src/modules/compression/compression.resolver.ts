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
import { CompressionRunEvent, compressionRunStream, toCompressionRunEvent } from './compression.events.js';
import { CompressionAlgorithmInfo } from './dto/compression-algorithm-info.type.js';
import { CompressionRunsArgs, CreateCompressionRunInput } from './dto/compression.inputs.js';

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

  @FieldResolver(() => Agent, { nullable: true, description: 'The agent that executes it, if any.' })
  async agent(@Root() run: CompressionRun, @Ctx() { loaders }: GraphQLContext): Promise<Agent | null> {
    return run.agent ? loaders.agentById.load(run.agent.id) : null;
  }
}
