import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { connectionType, toConnection } from '../../common/connection.js';
import { PageArgs } from '../../common/pagination.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { CreateUserInput } from './dto/create-user.input.js';
import { Role } from './role.js';
import { User } from './user.entity.js';

export const UserConnection = connectionType(User, 'User');
export type UserConnection = InstanceType<typeof UserConnection>;

@Resolver(() => User)
export class UsersResolver {
  @Query(() => UserConnection, { description: 'All users, newest first. ADMIN only.' })
  async users(
    @Args(() => PageArgs) page: PageArgs,
    @Ctx() { em, services }: GraphQLContext,
  ): Promise<UserConnection> {
    const result = await services.users.list(em, page);
    return toConnection(
      UserConnection,
      result,
      (user) => services.users.cursorOf(user),
      () => services.users.count(em),
    );
  }

  @Mutation(() => User, { description: 'Create a user. ADMIN only.' })
  createUser(
    @Arg('input', () => CreateUserInput) input: CreateUserInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<User> {
    return ctx.services.users.create(ctx.em, ctx.user, input);
  }

  @Mutation(() => User, { description: "Change a user's role; ends their sessions. ADMIN only." })
  updateUserRole(
    @Arg('id', () => ID) id: string,
    @Arg('role', () => Role) role: Role,
    @Ctx() ctx: GraphQLContext,
  ): Promise<User> {
    return ctx.services.users.updateRole(ctx.em, ctx.user!, id, role);
  }
}
