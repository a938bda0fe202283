import type { ParleyModule } from '../module.js';
import { CompressionRun } from './compression-run.entity.js';
import { compressionPermissions } from './compression.permissions.js';
import { CompressionResolver, CompressionSuiteResolver } from './compression.resolver.js';
import { CompressionSuite } from './compression-suite.entity.js';

export const compressionModule: ParleyModule = {
  name: 'compression',
  entities: [CompressionRun, CompressionSuite],
  resolvers: [CompressionResolver, CompressionSuiteResolver],
  permissions: compressionPermissions,
};
