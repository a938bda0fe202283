import { defaultFieldResolver, isObjectType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { allow, deny } from 'graphql-shield';
import type { GraphQLContext } from '../context.js';
import { ruleChecks } from './rules.js';
import { ForbiddenError } from '../../common/errors.js';
import type { ParleyModule } from '../../modules/module.js';
import type { PermissionMap } from './types.js';

/** Merges the modules' maps; a type named by two modules gets the union of their field rules. */
export function mergePermissions(modules: ParleyModule[]): PermissionMap {
  const merged: PermissionMap = {};
  for (const { name, permissions } of modules) {
    for (const [type, fields] of Object.entries(permissions)) {
      const target = (merged[type] ??= {});
      for (const [field, rule] of Object.entries(fields)) {
        if (target[field] && target[field] !== rule) {
          throw new Error(`Module ${name} redefines the permission for ${type}.${field}`);
        }
        target[field] = rule;
      }
    }
  }
  return merged;
}

type Resolver = GraphQLFieldResolver<unknown, GraphQLContext>;
type Verdict = true | Error;

const noRule = () => new ForbiddenError('No permission rule allows this field');

/**
 * The shield, applied field by field. Every field of every object type gets its rule (its own, else its
 * type's `*`); anything without one is denied. graphql-shield's rules decide, through their own
 * `resolve` — but graphql-shield's generic applicator makes every field, scalars included, an async
 * middleware call: for a list of debates with their turns that was a fifth of the server's time. Here:
 * - `allow` fields are left as they are;
 * - rules that depend only on the caller (`defineRule` in rules.ts: signed in, role at least …) are
 *   checked synchronously, once per request and rule, so scalar fields stay synchronous;
 * - every other rule (per-object, rate limits, logic rules) runs as graphql-shield runs it.
 * Mutates the schema in place; call once on a freshly built schema.
 */
export function applyPermissions(schema: GraphQLSchema, permissions: PermissionMap): void {
  const verdicts = new WeakMap<object, Map<object, Verdict>>();
  const verdictOf = (ctx: GraphQLContext, rule: object, check: (ctx: GraphQLContext) => Verdict) => {
    let known = verdicts.get(ctx);
    if (!known) verdicts.set(ctx, (known = new Map()));
    let verdict = known.get(rule);
    if (verdict === undefined) known.set(rule, (verdict = check(ctx)));
    return verdict;
  };
  const options = shieldOptions();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    const rules = permissions[type.name] ?? {};
    for (const field of Object.values(type.getFields())) {
      const rule = rules[field.name] ?? rules['*'];
      if (rule === allow) continue;
      const resolve = (field.resolve ?? defaultFieldResolver) as Resolver;
      const check = rule ? ruleChecks.get(rule) : undefined;
      if (!rule) {
        field.resolve = () => {
          throw noRule();
        };
      } else if (check) {
        field.resolve = (source, args, ctx, info) => {
          const verdict = verdictOf(ctx, rule, check);
          if (verdict !== true) throw verdict;
          return resolve(source, args, ctx, info);
        };
      } else {
        const shieldRule = rule as { resolve: (...args: unknown[]) => Promise<boolean | Error> };
        field.resolve = async (source, args, ctx, info) => {
          const withCache = ctx as GraphQLContext & { _shield?: { cache: Record<string, unknown> } };
          withCache._shield ??= { cache: {} };
          const verdict = await shieldRule.resolve(source, args, ctx, info, options);
          if (verdict === true) return resolve(source, args, ctx, info);
          throw verdict === false ? noRule() : verdict;
        };
      }
    }
  }
}

/**
 * What graphql-shield passes its rules: errors a rule returns are reported as they are, and objects are
 * told apart by identity for `strict`-cached rules (they may be entities with cycles, not JSON).
 */
function shieldOptions() {
  const ids = new WeakMap<object, number>();
  let next = 0;
  const identity = (value: unknown) => {
    if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined';
    let id = ids.get(value);
    if (id === undefined) ids.set(value, (id = ++next));
    return `#${id}`;
  };
  return {
    debug: false,
    allowExternalErrors: true,
    fallbackRule: deny,
    fallbackError: noRule,
    hashFunction: ({ parent, args }: { parent: unknown; args: unknown }) =>
      `${identity(parent)}|${JSON.stringify(args)}`,
  };
}
