import { allow } from 'graphql-shield';
import { hasRole } from '../../graphql/permissions/rules.js';
import type { PermissionMap } from '../../graphql/permissions/types.js';
import { Role } from '../users/role.js';

const viewer = hasRole(Role.VIEWER);
const analyst = hasRole(Role.ANALYST);

export const compressionPermissions: PermissionMap = {
  Query: { compressionAlgorithms: viewer, compressionRuns: viewer, compressionRun: viewer },
  Mutation: { createCompressionRun: analyst, cancelCompressionRun: analyst },
  Subscription: { compressionRunUpdated: viewer },
  CompressionAlgorithmInfo: { '*': viewer },
  CompressionRun: { '*': viewer },
  CompressionRunEvent: { '*': viewer },
  CompressionRunConnection: { '*': allow },
  CompressionRunEdge: { '*': allow },
};
