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
import { decodeCursor, encodeCursor, PageArgs, toPage } from '../../common/pagination.js';
import { ValidationError } from '../../common/errors.js';
import type { GraphQLContext } from '../../graphql/context.js';
import type { StoredEvent } from '../../realtime/index.js';
import { Agent } from '../agents/agent.entity.js';
import { User } from '../users/user.entity.js';
import {
  Debate,
  DebateFigures,
  DebateInterjection,
  DebateParticipant,
  DebateRound,
  DebateTurn,
} from './debate.entity.js';
import { DebateEvent, debateStream, toDebateEvent } from './debates.events.js';
import { turnOrder } from './debates.loaders.js';
import { CreateDebateInput, DebatesArgs, InterjectArgs } from './dto/debate.inputs.js';

export const DebateConnection = connectionType(Debate, 'Debate');
export type DebateConnection = InstanceType<typeof DebateConnection>;
export const DebateTurnConnection = connectionType(DebateTurn, 'DebateTurn');
export type DebateTurnConnection = InstanceType<typeof DebateTurnConnection>;

const TURN_CURSOR = 'turn';

@Resolver(() => Debate)
export class DebatesResolver {
  @Query(() => DebateConnection, { description: 'Debates, newest first, optionally filtered. VIEWER+.' })
  async debates(
    @Args(() => DebatesArgs) args: DebatesArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<DebateConnection> {
    const page = await services.debates.list(em, args.filter, args);
    return toConnection(
      DebateConnection,
      page,
      (debate) => services.debates.cursor(debate),
      () => services.debates.count(em, args.filter),
    );
  }

  @Query(() => Debate, { description: 'One debate by id. VIEWER+.' })
  debate(@Arg('id', () => ID) id: string, @Ctx() { em, services }: GraphQLContext): Promise<Debate> {
    return services.debates.read(em, id);
  }

  @Mutation(() => Debate, { description: 'Create a debate (PENDING until started). OPERATOR+.' })
  createDebate(
    @Arg('input', () => CreateDebateInput) input: CreateDebateInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Debate> {
    return ctx.services.debates.create(ctx.em, ctx.user!, input);
  }

  @Mutation(() => Debate, { description: 'Start a PENDING debate. Its creator or an ADMIN; OPERATOR+.' })
  startDebate(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Debate> {
    return ctx.services.debates.start(ctx.em, ctx.user!, id);
  }

  @Mutation(() => Debate, {
    description:
      'Pause a RUNNING debate at once (a turn being generated is dropped and played again on resume), or hold one paused for a dependency so it does not resume by itself. Its creator or an ADMIN; OPERATOR+.',
  })
  pauseDebate(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Debate> {
    return ctx.services.debates.pause(ctx.em, ctx.user!, id);
  }

  @Mutation(() => Debate, { description: 'Resume a PAUSED debate. Its creator or an ADMIN; OPERATOR+.' })
  resumeDebate(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Debate> {
    return ctx.services.debates.resume(ctx.em, ctx.user!, id);
  }

  @Mutation(() => Debate, {
    description: 'Cancel a debate that has not ended. Its creator or an ADMIN; OPERATOR+.',
  })
  cancelDebate(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<Debate> {
    return ctx.services.debates.cancel(ctx.em, ctx.user!, id);
  }

  @Mutation(() => DebateInterjection, {
    description:
      'Say something to the agents of a debate that has not ended; every seat sees it from the next round on. Its creator or an ADMIN; OPERATOR+.',
  })
  interject(
    @Args(() => InterjectArgs) { debateId, content }: InterjectArgs,
    @Ctx() ctx: GraphQLContext,
  ): Promise<DebateInterjection> {
    return ctx.services.debates.interject(ctx.em, ctx.user!, debateId, content);
  }

  @Subscription(() => DebateEvent, {
    description:
      'Everything that happens in a debate, in order: status changes, turns (with live deltas), rounds with consensus, interjections, the conclusion. Pass `afterSeq` (the last `seq` you saw) to replay what you missed. VIEWER+.',
    subscribe: async ({ args, context }) => {
      const ctx = context as GraphQLContext;
      const { debateId, afterSeq } = args as { debateId: string; afterSeq?: number | null };
      await ctx.services.debates.get(ctx.em, debateId); // NOT_FOUND at subscribe time
      return ctx.realtime.subscribe(debateStream(debateId.toLowerCase()), { afterSeq });
    },
  })
  debateEvents(
    @Root() event: StoredEvent,
    @Arg('debateId', () => ID, { description: 'The debate.' }) _debateId: string,
    @Arg('afterSeq', () => Int, { nullable: true, description: 'Resume after this seq.' })
    _afterSeq?: number,
  ): DebateEvent {
    return toDebateEvent(event);
  }

  @FieldResolver(() => User, { description: 'Who created it.' })
  async createdBy(@Root() debate: Debate, @Ctx() { loaders }: GraphQLContext): Promise<User> {
    return (await loaders.userById.load(debate.createdBy.id))!;
  }

  @FieldResolver(() => Agent, { nullable: true, description: 'The moderator, if any.' })
  async moderator(@Root() debate: Debate, @Ctx() { loaders }: GraphQLContext): Promise<Agent | null> {
    return debate.moderator ? loaders.agentById.load(debate.moderator.id) : null;
  }

  @FieldResolver(() => [DebateParticipant], { description: 'The seats, in speaking order.' })
  participants(@Root() debate: Debate, @Ctx() { loaders }: GraphQLContext): Promise<DebateParticipant[]> {
    return loaders.participantsByDebate.load(debate.id);
  }

  @FieldResolver(() => [DebateRound], { description: 'Finished rounds with their consensus, in order.' })
  rounds(@Root() debate: Debate, @Ctx() { loaders }: GraphQLContext): Promise<DebateRound[]> {
    return loaders.roundsByDebate.load(debate.id);
  }

  @FieldResolver(() => [DebateInterjection], { description: 'Human interjections, oldest first.' })
  interjections(@Root() debate: Debate, @Ctx() { loaders }: GraphQLContext): Promise<DebateInterjection[]> {
    return loaders.interjectionsByDebate.load(debate.id);
  }

  @FieldResolver(() => DebateTurnConnection, { description: 'The turns, by round then seat.' })
  async turns(
    @Root() debate: Debate,
    @Args(() => PageArgs) { first, after }: PageArgs,
    @Ctx() { loaders }: GraphQLContext,
  ): Promise<DebateTurnConnection> {
    const cursor = after
      ? Number(decodeCursor(after, TURN_CURSOR, { value: 'none', id: 'uuid' }).value)
      : null;
    if (cursor !== null && !Number.isInteger(cursor))
      throw ValidationError.field('after', 'is not a valid cursor');
    const rows = await loaders.turnsPage.load({ debateId: debate.id, first, after: cursor });
    return toConnection(
      DebateTurnConnection,
      toPage(rows, first),
      (turn) => encodeCursor(TURN_CURSOR, turnOrder(turn), turn.id),
      async () => debate.turnCount,
    );
  }

  @FieldResolver(() => DebateFigures, { description: 'Rounds, turns, tokens, position changes, duration.' })
  async figures(@Root() debate: Debate, @Ctx() { loaders }: GraphQLContext): Promise<DebateFigures> {
    const rounds = await loaders.roundsByDebate.load(debate.id);
    const end = debate.endedAt ?? (debate.startedAt ? new Date() : null);
    return {
      rounds: rounds.length,
      turns: debate.turnCount,
      invalidTurns: debate.invalidTurnCount,
      tokens: debate.tokensUsed,
      positionChanges: rounds.filter((round) => round.number > 1).map((round) => round.positionChanges),
      durationMs: debate.startedAt && end ? end.getTime() - debate.startedAt.getTime() : null,
    };
  }
}

@Resolver(() => DebateParticipant)
export class DebateParticipantResolver {
  @FieldResolver(() => Agent, { description: 'The agent in this seat.' })
  async agent(@Root() participant: DebateParticipant, @Ctx() { loaders }: GraphQLContext): Promise<Agent> {
    return (await loaders.agentById.load(participant.agent.id))!;
  }
}

@Resolver(() => DebateTurn)
export class DebateTurnResolver {
  @FieldResolver(() => Agent, { description: 'The agent that took the turn.' })
  async agent(@Root() turn: DebateTurn, @Ctx() { loaders }: GraphQLContext): Promise<Agent> {
    // Loading the debate's seats (one batched statement with their agents) primes the agent loader: a
    // turn's agent is its seat's, so this costs no agent query of its own.
    await loaders.participantsByDebate.load(turn.debate.id);
    return (await loaders.agentById.load(turn.agent.id))!;
  }
}

@Resolver(() => DebateInterjection)
export class DebateInterjectionResolver {
  @FieldResolver(() => User, { description: 'Who said it.' })
  async author(@Root() interjection: DebateInterjection, @Ctx() { loaders }: GraphQLContext): Promise<User> {
    return (await loaders.userById.load(interjection.author.id))!;
  }
}
