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
import type { StoredEvent } from '../../realtime/index.js';
import { connectionType, toConnection } from '../../common/connection.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { User } from '../users/user.entity.js';
import { Agent } from './agent.entity.js';
import { AGENTS_STREAM, AgentEvent, toAgentEvent } from './agents.events.js';
import { AgentsArgs } from './dto/agents.args.js';
import { CreateAgentInput } from './dto/create-agent.input.js';
import { UpdateAgentInput } from './dto/update-agent.input.js';

export const AgentConnection = connectionType(Agent, 'Agent');
export type AgentConnection = InstanceType<typeof AgentConnection>;

@Resolver(() => Agent)
export class AgentsResolver {
  @Query(() => AgentConnection, {
    description: 'Agents, filtered and ordered (default newest first). VIEWER+.',
  })
  async agents(
    @Args(() => AgentsArgs) args: AgentsArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<AgentConnection> {
    const page = await services.agents.list(em, args);
    return toConnection(
      AgentConnection,
      page,
      (agent) => services.agents.cursorOf(agent, args.orderBy),
      () => services.agents.count(em, args.filter),
    );
  }

  @Query(() => Agent, { description: 'One agent by id. VIEWER+.' })
  agent(@Arg('id', () => ID) id: string, @Ctx() { em, services }: GraphQLContext): Promise<Agent> {
    return services.agents.get(em, id);
  }

  @Mutation(() => Agent, { description: 'Create an agent owned by you. OPERATOR+.' })
  createAgent(
    @Arg('input', () => CreateAgentInput) input: CreateAgentInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Agent> {
    return ctx.services.agents.create(ctx.em, ctx.user!, input);
  }

  @Mutation(() => Agent, { description: 'Change an agent you own (ADMIN: any agent). OPERATOR+.' })
  updateAgent(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateAgentInput) input: UpdateAgentInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<Agent> {
    return ctx.services.agents.update(ctx.em, ctx.user!, id, input);
  }

  @Mutation(() => ID, {
    description: 'Delete an agent you own (ADMIN: any agent); returns its id. OPERATOR+.',
  })
  deleteAgent(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<string> {
    return ctx.services.agents.delete(ctx.em, ctx.user!, id);
  }

  @Subscription(() => AgentEvent, {
    description:
      'Agents created, updated and deleted, in order. Pass `afterSeq` (the last `seq` you saw) to replay what you missed, then continue live. VIEWER+.',
    subscribe: ({ args, context }) => {
      const { agentId, afterSeq } = args as { agentId?: string | null; afterSeq?: number | null };
      return (context as GraphQLContext).realtime.subscribe(AGENTS_STREAM, {
        afterSeq,
        filter: agentId ? (event) => event.entityId === agentId : undefined,
      });
    },
  })
  agentEvents(
    @Root() event: StoredEvent,
    @Arg('agentId', () => ID, { nullable: true, description: 'Only this agent.' }) _agentId?: string,
    @Arg('afterSeq', () => Int, {
      nullable: true,
      description: 'Resume after this seq (replays stored events).',
    })
    _afterSeq?: number,
  ): AgentEvent {
    return toAgentEvent(event);
  }

  @FieldResolver(() => User, { description: 'Who owns the agent.' })
  async owner(@Root() agent: Agent, @Ctx() { loaders }: GraphQLContext): Promise<User> {
    const owner = await loaders.userById.load(agent.owner.id);
    if (!owner) throw new Error(`Agent ${agent.id} has no owner row`); // the foreign key makes this unreachable
    return owner;
  }
}
