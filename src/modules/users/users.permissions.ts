import { allow, rule } from 'graphql-shield';
import { ForbiddenError } from '../../common/errors.js';
import type { GraphQLContext } from '../../graphql/context.js';
import { hasRole, isAuthenticated } from '../../graphql/permissions/rules.js';
import type { PermissionMap } from '../../graphql/permissions/types.js';
import { Role } from './role.js';

/**
 * Personal fields: the user themself or an ADMIN. Never "self" inside a subscription: those results are
 * shared by every subscriber of the same role (graphql/shared-subscribe.ts), so they may depend on the
 * role only.
 */
const isSelfOrAdmin = rule('isSelfOrAdmin', { cache: 'strict' })((
  parent: { id: string },
  _args,
  ctx: GraphQLContext,
) => {
  if (!ctx.user) return new ForbiddenError('Only the user or an ADMIN may see this');
  if (ctx.user.role === Role.ADMIN) return true;
  return ctx.user.id === parent.id && !ctx.transport
    ? true
    : new ForbiddenError('Only the user or an ADMIN may see this');
});

export const usersPermissions: PermissionMap = {
  Query: { users: hasRole(Role.ADMIN) },
  Mutation: { createUser: hasRole(Role.ADMIN), updateUserRole: hasRole(Role.ADMIN) },
  // Users appear as owners of what others can read, so any signed-in user sees these fields.
  User: { '*': isAuthenticated, lastLoginAt: isSelfOrAdmin },
  UserConnection: { '*': allow },
  UserEdge: { '*': allow },
};
