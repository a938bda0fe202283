import type { ParleyModule } from '../module.js';
import { User } from './user.entity.js';
import { UsersResolver } from './users.resolver.js';
import { usersPermissions } from './users.permissions.js';

export const usersModule: ParleyModule = {
  name: 'users',
  entities: [User],
  resolvers: [UsersResolver],
  permissions: usersPermissions,
};
