import type { GraphQLResolveInfo } from 'graphql';
import { rule } from 'graphql-shield';
import type { FieldLimit } from '../../security/rate-limits.js';
import { ForbiddenError, UnauthenticatedError } from '../../common/errors.js';
import { Role, roleAtLeast } from '../../modules/users/role.js';
import type { GraphQLContext } from '../context.js';
import type { ShieldRule } from './types.js';

// Rules return (not throw) domain errors: shield then reports exactly that error for the field.
// Results are cached per request ('contextual'): they depend only on who is calling.

type Check = (ctx: GraphQLContext) => true | Error;

/**
 * The plain check behind each of our rules. graphql-shield guards `resolve` only, so a subscription
 * would be set up before any rule ran (STACK.md pitfall 11); subscription-guard.ts runs these at
 * subscribe time.
 */
export const ruleChecks = new WeakMap<object, Check>();

function defineRule(name: string, check: Check): ShieldRule {
  const shieldRule = rule(name, { cache: 'contextual' })((_parent, _args, ctx: GraphQLContext) => check(ctx));
  ruleChecks.set(shieldRule, check);
  return shieldRule;
}

export const isAuthenticated = defineRule('isAuthenticated', (ctx) =>
  ctx.user ? true : new UnauthenticatedError(ctx.authError),
);

const roleRules = new Map(
  Object.values(Role).map((minimum) => [
    minimum,
    defineRule(`hasRole:${minimum}`, (ctx) => {
      if (!ctx.user) return new UnauthenticatedError(ctx.authError);
      return roleAtLeast(ctx.user.role, minimum)
        ? true
        : new ForbiddenError(`Requires role ${minimum} or above (you are ${ctx.user.role})`);
    }),
  ]),
);

export function hasRole(minimum: Role): ShieldRule {
  return roleRules.get(minimum)!;
}

const fieldLimitRules = new Map<FieldLimit, ShieldRule>();

/**
 * A graphql-rate-limit limit on a field (sign-in per account and per address, say), as a shield rule
 * that reports RATE_LIMITED with `retryAfter`. Never cached: every call counts.
 */
export function rateLimited(limit: FieldLimit): ShieldRule {
  let limitRule = fieldLimitRules.get(limit);
  if (!limitRule) {
    limitRule = rule(`rateLimited:${limit}`, { cache: 'no_cache' })(
      async (_parent, args: Record<string, unknown>, ctx: GraphQLContext, info: GraphQLResolveInfo) =>
        (await ctx.services.rateLimits.checkField(limit, args, ctx, info)) ?? true,
    );
    fieldLimitRules.set(limit, limitRule);
  }
  return limitRule;
}
