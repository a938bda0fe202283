import { hasRole } from '../../graphql/permissions/rules.js';
import type { PermissionMap } from '../../graphql/permissions/types.js';
import { Role } from '../users/role.js';

export const llmPermissions: PermissionMap = {
  Query: { models: hasRole(Role.VIEWER) },
  OllamaModel: { '*': hasRole(Role.VIEWER) },
};
