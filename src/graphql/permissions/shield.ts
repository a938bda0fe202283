import { deny, shield } from 'graphql-shield';
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

/** Anything without a rule is denied: a new field is closed until someone decides who may see it. */
export function buildShield(modules: ParleyModule[]) {
  return shield(mergePermissions(modules), {
    fallbackRule: deny,
    fallbackError: () => new ForbiddenError('No permission rule allows this field'),
    // Resolver errors are ours and already typed: let them through instead of masking them as denials.
    allowExternalErrors: true,
    debug: false,
  });
}
