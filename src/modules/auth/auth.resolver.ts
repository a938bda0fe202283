import { Args, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../../graphql/context.js';
import { UnauthenticatedError } from '../../common/errors.js';
import { User } from '../users/user.entity.js';
import { toAuthUser, type Session } from './auth.service.js';
import { AuthPayload } from './dto/auth-payload.js';
import { LoginArgs, RefreshTokenArgs } from './dto/login.args.js';

/** The rest of this operation runs as the user who just signed in (so `user { email }` can be selected). */
function signedIn(ctx: GraphQLContext, session: Session): Session {
  ctx.user = toAuthUser(session.user);
  ctx.authError = undefined;
  return session;
}

@Resolver()
export class AuthResolver {
  @Mutation(() => AuthPayload, { description: 'Sign in with email and password.' })
  async login(
    @Args(() => LoginArgs) { email, password }: LoginArgs,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AuthPayload> {
    return signedIn(ctx, await ctx.services.auth.login(ctx.em, email, password));
  }

  @Mutation(() => AuthPayload, {
    description:
      'Trade a refresh token for a new access and refresh token. Each refresh token works once; reusing one revokes its whole sign-in.',
  })
  async refreshToken(
    @Args(() => RefreshTokenArgs) { token }: RefreshTokenArgs,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AuthPayload> {
    return signedIn(ctx, await ctx.services.auth.refresh(ctx.em, token));
  }

  @Mutation(() => Boolean, {
    description: 'End the sign-in a refresh token belongs to. True when a session was still active.',
  })
  logout(
    @Args(() => RefreshTokenArgs) { token }: RefreshTokenArgs,
    @Ctx() ctx: GraphQLContext,
  ): Promise<boolean> {
    return ctx.services.auth.logout(ctx.em, token);
  }

  @Query(() => User, { description: 'The signed-in user.' })
  async me(@Ctx() ctx: GraphQLContext): Promise<User> {
    if (!ctx.user) throw new UnauthenticatedError();
    return ctx.services.users.get(ctx.em, ctx.user.id);
  }
}
