import type { ParleyModule } from '../module.js';
import { AuditEvent } from './audit-event.entity.js';
import { AuditResolver } from './audit.resolver.js';
import { auditPermissions } from './audit.permissions.js';

export const auditModule: ParleyModule = {
  name: 'audit',
  entities: [AuditEvent],
  resolvers: [AuditResolver],
  permissions: auditPermissions,
};
