import type { GraphQLFieldResolver, GraphQLSchema } from 'graphql';
import { allow } from 'graphql-shield';
import { ForbiddenError } from '../../common/errors.js';
import type { GraphQLContext } from '../context.js';
import { ruleChecks } from './rules.js';
import type { PermissionMap } from './types.js';

/**
 * Runs each Subscription field's permission rule when the subscription is set up, so a refused client
 * gets one error for that operation (its socket stays usable) and nothing is ever streamed to it.
 * Mutates the schema's subscribe functions in place; call once on the served schema.
 */
export function guardSubscriptions(schema: GraphQLSchema, permissions: PermissionMap): void {
  const subscriptionType = schema.getSubscriptionType();
  if (!subscriptionType) return;
  const rules = permissions.Subscription ?? {};
  for (const field of Object.values(subscriptionType.getFields())) {
    const rule = rules[field.name] ?? rules['*'];
    const check = rule === allow ? () => true as const : rule ? ruleChecks.get(rule) : undefined;
    const subscribe = field.subscribe as GraphQLFieldResolver<unknown, GraphQLContext> | undefined;
    if (!subscribe) continue;
    field.subscribe = (source, args, context, info) => {
      const verdict = check
        ? check(context)
        : new ForbiddenError('No permission rule allows this subscription');
      if (verdict !== true) throw verdict;
      return subscribe(source, args, context, info);
    };
  }
}
