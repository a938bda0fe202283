import 'reflect-metadata';
import { graphql, type GraphQLSchema } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type DomainError } from '../src/common/errors.js';
import { applyPermissions, mergePermissions } from '../src/graphql/permissions/shield.js';
import type { PermissionMap } from '../src/graphql/permissions/types.js';
import { buildBaseSchema } from '../src/graphql/schema.js';
import { modules } from '../src/modules/index.js';
import type { ParleyModule } from '../src/modules/module.js';
import { Role } from '../src/modules/users/role.js';
import { objectTypes } from './support/schema.js';

/** `Type.field` for every field of an object type with neither its own rule nor a `*` for its type. */
function unruledFields(schema: GraphQLSchema, permissions: PermissionMap): string[] {
  return objectTypes(schema).flatMap((type) =>
    Object.keys(type.getFields())
      .filter((field) => !permissions[type.name]?.[field] && !permissions[type.name]?.['*'])
      .map((field) => `${type.name}.${field}`),
  );
}

/** `Type.field` (or `Type.*`) for every rule whose type or field the schema does not have. */
function staleRules(schema: GraphQLSchema, permissions: PermissionMap): string[] {
  const types = new Map(objectTypes(schema).map((type) => [type.name, type]));
  return Object.entries(permissions).flatMap(([typeName, fields]) => {
    const type = types.get(typeName);
    return Object.keys(fields)
      .filter((field) => !type || (field !== '*' && !(field in type.getFields())))
      .map((field) => `${typeName}.${field}`);
  });
}

/** The modules with one field rule taken out, as if someone had added the field and forgotten the rule. */
function withoutRule(typeName: string, fieldName: string): ParleyModule[] {
  return modules.map((module) => ({
    ...module,
    permissions: Object.fromEntries(
      Object.entries(module.permissions).map(([type, fields]) => [
        type,
        Object.fromEntries(
          Object.entries(fields).filter(([field]) => type !== typeName || field !== fieldName),
        ),
      ]),
    ),
  }));
}

let schema: GraphQLSchema;
let permissions: PermissionMap;

beforeAll(async () => {
  schema = await buildBaseSchema();
  permissions = mergePermissions(modules);
});

describe('shield coverage', () => {
  it('walks every object type of the schema', () => {
    // Guards the walk itself: if it found no types, the checks below would pass vacuously.
    expect(objectTypes(schema).map((type) => type.name)).toEqual(
      expect.arrayContaining(['Query', 'Mutation', 'User', 'Agent', 'AuthPayload', 'AuditEvent', 'PageInfo']),
    );
  });

  it('gives every field a rule, its own or its type’s `*`', () => {
    expect(
      unruledFields(schema, permissions),
      'fields the shield falls back to deny for: give each a rule in its module’s *.permissions.ts',
    ).toEqual([]);
  });

  it('has no rule for a type or field the schema lacks', () => {
    expect(staleRules(schema, permissions), 'rules naming types or fields that do not exist').toEqual([]);
  });
});

describe('a field without a rule', () => {
  const unruled = withoutRule('Query', 'me');

  it('is named by the coverage check', () => {
    const before = new Set(unruledFields(schema, permissions));
    const after = unruledFields(schema, mergePermissions(unruled));
    expect(after.filter((field) => !before.has(field))).toEqual(['Query.me']);
  });

  it('is denied by the shield’s fallback, even to an ADMIN', async () => {
    const served = await buildBaseSchema();
    applyPermissions(served, mergePermissions(unruled));
    const admin = {
      id: '00000000-0000-4000-8000-000000000000',
      email: 'admin@example.test',
      role: Role.ADMIN,
    };
    const result = await graphql({
      schema: served,
      source: '{ me { id } }',
      contextValue: { user: admin, authError: undefined },
    });
    expect(result.data).toBeNull();
    expect(
      result.errors?.map((error) => ({
        path: error.path,
        message: error.message,
        code: (error.originalError as DomainError | undefined)?.code,
      })),
    ).toEqual([{ path: ['me'], message: 'No permission rule allows this field', code: ErrorCode.FORBIDDEN }]);
  });
});
