import { allow } from 'graphql-shield';
import { isAuthenticated } from '../../graphql/permissions/rules.js';
import type { PermissionMap } from '../../graphql/permissions/types.js';

export const authPermissions: PermissionMap = {
  Query: { me: isAuthenticated },
  // Possession of the credentials or the refresh token is the authorisation here.
  Mutation: { login: allow, refreshToken: allow, logout: allow },
  AuthPayload: { '*': allow },
};
