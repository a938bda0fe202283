import { rule } from 'graphql-shield';
import { ForbiddenError, UnauthenticatedError } from '../../common/errors.js';
import { Role, roleAtLeast } from '../../modules/users/role.js';
import type { GraphQLContext } from '../context.js';

// Rules return (not throw) domain errors: shield then reports exactly that error for the field.
// Results are cached per request ('contextual'): they depend only on who is calling.

export const isAuthenticated = rule('isAuthenticated', { cache: 'contextual' })(
  (_parent, _args, ctx: GraphQLContext) => (ctx.user ? true : new UnauthenticatedError(ctx.authError)),
);

const roleRules = new Map(
  Object.values(Role).map((minimum) => [
    minimum,
    rule(`hasRole:${minimum}`, { cache: 'contextual' })((_parent, _args, ctx: GraphQLContext) => {
      if (!ctx.user) return new UnauthenticatedError(ctx.authError);
      return roleAtLeast(ctx.user.role, minimum)
        ? true
        : new ForbiddenError(`Requires role ${minimum} or above (you are ${ctx.user.role})`);
    }),
  ]),
);

export function hasRole(minimum: Role) {
  return roleRules.get(minimum)!;
}
