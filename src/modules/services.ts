import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import { OllamaProvider } from '../llm/ollama.provider.js';
import { CircuitRegistry } from '../resilience/registry.js';
import type { GuardedCircuit } from '../resilience/circuit.js';
import { isDatabaseUnavailable } from '../db/availability.js';
import { JobQueue } from '../jobs/job-queue.js';
import { AgentsService } from './agents/agents.service.js';
import { AgentStatsKeeper } from './agents/agent-stats.js';
import { ConversationsService } from './conversations/conversations.service.js';
import { DebatesService } from './debates/debates.service.js';
import { CompressionService } from './compression/compression.service.js';
import { BreakersService } from './breakers/breakers.service.js';
import { AuditService } from './audit/audit.service.js';
import { AccessTokens } from './auth/access-tokens.js';
import { AuthService } from './auth/auth.service.js';
import { UsersService } from './users/users.service.js';

export interface Services {
  audit: AuditService;
  auth: AuthService;
  users: UsersService;
  agents: AgentsService;
  agentStats: AgentStatsKeeper;
  breakers: BreakersService;
  circuits: CircuitRegistry;
  /** Postgres's circuit (`postgres`): background work goes through it; requests fail fast while it is open. */
  database: GuardedCircuit;
  ollama: OllamaProvider;
  jobs: JobQueue;
  conversations: ConversationsService;
  debates: DebatesService;
  compression: CompressionService;
}

/** One set per app instance (not module singletons), so tests can run several apps side by side. */
export async function createServices(orm: MikroORM, config: Config, log: Logger): Promise<Services> {
  const audit = new AuditService(orm.em, log);
  const tokens = await AccessTokens.create(config.jwt);
  const circuits = new CircuitRegistry(config.replicaId, log.child({ component: 'circuits' }));
  const breakers = new BreakersService(orm.em, circuits, audit, log);
  circuits.onTransition((transition) => void breakers.recordTransition(transition));
  const ollama = new OllamaProvider(
    config.ollama.host,
    circuits.register(`ollama:${config.ollama.host}`, config.ollama.policy),
  );
  const database = circuits.register('postgres', {
    ...config.database.policy,
    isFailure: isDatabaseUnavailable,
  });
  const jobs = new JobQueue(
    orm,
    database,
    { replicaId: config.replicaId, ...config.jobs },
    log.child({ component: 'jobs' }),
  );
  return {
    audit,
    jobs,
    conversations: new ConversationsService(jobs, audit),
    debates: new DebatesService(jobs, audit),
    compression: new CompressionService(jobs, audit, config.compression),
    auth: new AuthService(tokens, config.jwt, audit),
    users: new UsersService(audit),
    agents: new AgentsService(audit),
    agentStats: new AgentStatsKeeper(orm, log.child({ component: 'agent-stats' })),
    breakers,
    circuits,
    database,
    ollama,
  };
}
