import type { ParleyModule } from '../module.js';
import { AuthResolver } from './auth.resolver.js';
import { authPermissions } from './auth.permissions.js';
import { RefreshToken } from './refresh-token.entity.js';

export const authModule: ParleyModule = {
  name: 'auth',
  entities: [RefreshToken],
  resolvers: [AuthResolver],
  permissions: authPermissions,
};
