import { allow, chain } from 'graphql-shield';
import { isAuthenticated, rateLimited } from '../../graphql/permissions/rules.js';
import type { PermissionMap } from '../../graphql/permissions/types.js';

export const authPermissions: PermissionMap = {
  Query: { me: isAuthenticated },
  // Possession of the credentials or the refresh token is the authorisation here; guessing is limited.
  Mutation: {
    login: chain(rateLimited('loginPerAddress'), rateLimited('loginPerAccount')),
    refreshToken: rateLimited('refreshPerAddress'),
    logout: allow,
  },
  AuthPayload: { '*': allow },
};
