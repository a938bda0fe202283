import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Agent } from './agent.entity.js';

/** One query for all agents a request asks about by id (conversations, debates, runs). */
export function createAgentLoaders(em: EntityManager) {
  return {
    agentById: new DataLoader<string, Agent | null>(async (ids) => {
      const agents = await em.find(Agent, { id: { $in: [...ids] } });
      const byId = new Map(agents.map((agent) => [agent.id, agent]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}
