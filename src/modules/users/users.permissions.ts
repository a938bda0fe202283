import { allow } from 'graphql-shield';
import { hasRole, isAuthenticated } from '../../graphql/permissions/rules.js';
import type { PermissionMap } from '../../graphql/permissions/types.js';
import { Role } from './role.js';

export const usersPermissions: PermissionMap = {
  Query: { users: hasRole(Role.ADMIN) },
  Mutation: { createUser: hasRole(Role.ADMIN), updateUserRole: hasRole(Role.ADMIN) },
  // Users appear as owners of what others can read, so any signed-in user sees these fields.
  User: { '*': isAuthenticated },
  UserConnection: { '*': allow },
  UserEdge: { '*': allow },
};
