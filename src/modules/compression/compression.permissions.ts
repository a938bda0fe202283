import { allow } from 'graphql-shield';
import { hasRole } from '../../graphql/permissions/rules.js';
import type { PermissionMap } from '../../graphql/permissions/types.js';
import { Role } from '../users/role.js';

const viewer = hasRole(Role.VIEWER);
const analyst = hasRole(Role.ANALYST);

export const compressionPermissions: PermissionMap = {
  Query: {
    compressionAlgorithms: viewer,
    compressionRuns: viewer,
    compressionRun: viewer,
    compressionSuite: viewer,
  },
  Mutation: { createCompressionRun: analyst, createCompressionSuite: analyst, cancelCompressionRun: analyst },
  Subscription: { compressionRunUpdated: viewer, compressionSuiteUpdated: viewer },
  CompressionAlgorithmInfo: { '*': viewer },
  CompressionRun: { '*': viewer },
  CompressionRunEvent: { '*': viewer },
  CompressionSuite: { '*': viewer },
  CompressionSuiteEvent: { '*': viewer },
  CompressionComparisonRow: { '*': viewer },
  CompressionRunConnection: { '*': allow },
  CompressionRunEdge: { '*': allow },
};
