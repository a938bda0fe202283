import { hasRole } from '../../graphql/permissions/rules.js';
import type { PermissionMap } from '../../graphql/permissions/types.js';
import { Role } from '../users/role.js';

const viewer = hasRole(Role.VIEWER);

export const breakersPermissions: PermissionMap = {
  Query: { circuitBreakers: viewer },
  Mutation: { resetCircuitBreaker: hasRole(Role.ADMIN) },
  Subscription: { circuitBreakerChanged: viewer },
  CircuitBreaker: { '*': viewer },
  CircuitBreakerEvent: { '*': viewer },
};
