import type { ParleyModule } from '../module.js';
import { CompressionRun } from './compression-run.entity.js';
import { compressionPermissions } from './compression.permissions.js';
import { CompressionResolver } from './compression.resolver.js';

export const compressionModule: ParleyModule = {
  name: 'compression',
  entities: [CompressionRun],
  resolvers: [CompressionResolver],
  permissions: compressionPermissions,
};
