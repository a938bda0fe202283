import type { ParleyModule } from '../module.js';
import { Agent, AgentStats } from './agent.entity.js';
import { AgentWork } from './agent-work.entity.js';
import { AgentsResolver } from './agents.resolver.js';
import { agentsPermissions } from './agents.permissions.js';

export const agentsModule: ParleyModule = {
  name: 'agents',
  entities: [Agent, AgentStats, AgentWork],
  resolvers: [AgentsResolver],
  permissions: agentsPermissions,
};
