import { allow } from 'graphql-shield';
import { hasRole } from '../../graphql/permissions/rules.js';
import type { PermissionMap } from '../../graphql/permissions/types.js';
import { Role } from '../users/role.js';

export const auditPermissions: PermissionMap = {
  Query: { auditEvents: hasRole(Role.ADMIN) },
  AuditEvent: { '*': hasRole(Role.ADMIN) },
  AuditEventConnection: { '*': allow },
  AuditEventEdge: { '*': allow },
};
