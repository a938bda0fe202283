import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { connectionType, toConnection } from '../../common/connection.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { User } from '../users/user.entity.js';
import { Agent } from './agent.entity.js';
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

  @FieldResolver(() => User, { description: 'Who owns the agent.' })
  async owner(@Root() agent: Agent, @Ctx() { loaders }: GraphQLContext): Promise<User> {
    const owner = await loaders.userById.load(agent.owner.id);
    if (!owner) throw new Error(`Agent ${agent.id} has no owner row`); // the foreign key makes this unreachable
    return owner;
  }
}
