import type { ParleyModule } from '../module.js';
import { BreakersResolver } from './breakers.resolver.js';
import { breakersPermissions } from './breakers.permissions.js';
import { CircuitBreakerRow } from './circuit-breaker.entity.js';

export const breakersModule: ParleyModule = {
  name: 'breakers',
  entities: [CircuitBreakerRow],
  resolvers: [BreakersResolver],
  permissions: breakersPermissions,
};
