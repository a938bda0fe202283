import { hasRole } from '../../graphql/permissions/rules.js';
import type { PermissionMap } from '../../graphql/permissions/types.js';
import { Role } from '../users/role.js';
import { allow } from 'graphql-shield';

const viewer = hasRole(Role.VIEWER);
const operator = hasRole(Role.OPERATOR);

export const agentsPermissions: PermissionMap = {
  Query: { agents: viewer, agent: viewer },
  Mutation: { createAgent: operator, updateAgent: operator, deleteAgent: operator },
  Subscription: { agentEvents: viewer },
  AgentEvent: { '*': viewer },
  Agent: { '*': viewer },
  AgentOptions: { '*': viewer },
  AgentStats: { '*': viewer },
  AgentConnection: { '*': allow },
  AgentEdge: { '*': allow },
  PageInfo: { '*': allow },
};
