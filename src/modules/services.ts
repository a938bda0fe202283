import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
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
import { SessionRevocations } from './auth/revocations.js';
import { UsersService } from './users/users.service.js';
import { auditedHits, RateLimiter } from '../security/rate-limits.js';
import { AuditOutcome } from './audit/audit-event.entity.js';
import { MemoryCounterStore, RedisCounterStore } from '../security/rate-limit-stores.js';

export interface Services {
  /** This instance's Prometheus metrics (docs/METRICS.md). */
  metrics: Metrics;
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
  rateLimits: RateLimiter;
}

/** One set per app instance (not module singletons), so tests can run several apps side by side. */
export async function createServices(
  orm: MikroORM,
  config: Config,
  log: Logger,
  metrics: Metrics = createMetrics({ version: 'unknown' }),
): Promise<Services> {
  const audit = new AuditService(orm.em, log);
  const tokens = await AccessTokens.create(config.jwt);
  const circuits = new CircuitRegistry(config.replicaId, log.child({ component: 'circuits' }));
  const breakers = new BreakersService(orm.em, circuits, audit, log);
  circuits.onTransition((transition) => void breakers.recordTransition(transition));
  circuits.onTransition((transition) => metrics.breakerTransition(transition));
  const ollama = new OllamaProvider(
    config.ollama.host,
    circuits.register(`ollama:${config.ollama.host}`, config.ollama.policy),
    metrics,
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
    metrics,
  );
  const revocations = new SessionRevocations(
    config.jwt.accessTtlSeconds * 1000,
    log.child({ component: 'revocations' }),
  );
  const auditHit = auditedHits(
    (limit, caller) =>
      void audit.recordDetached([
        {
          actor: caller.user,
          action: 'RateLimited',
          outcome: AuditOutcome.DENIED,
          details: { limit, clientAddress: caller.clientAddress },
        },
      ]),
  );
  // Counters in Redis when configured (shared by replicas, behind the `redis` circuit), else in memory.
  const counters = config.redisUrl
    ? new RedisCounterStore(
        config.redisUrl,
        circuits.register('redis', config.redis.policy),
        new MemoryCounterStore(),
        log.child({ component: 'rate-limits' }),
      )
    : new MemoryCounterStore();
  return {
    metrics,
    audit,
    jobs,
    rateLimits: new RateLimiter(config.rateLimits, counters, (limit, caller) => {
      metrics.rateLimitHit(limit); // every hit counts; audit rows are throttled
      auditHit(limit, caller);
    }),
    conversations: new ConversationsService(jobs, audit),
    debates: new DebatesService(jobs, audit),
    compression: new CompressionService(jobs, audit, config.compression),
    auth: new AuthService(tokens, config.jwt, audit, revocations, (reason) => metrics.authFailure(reason)),
    users: new UsersService(audit, revocations),
    agents: new AgentsService(audit),
    agentStats: new AgentStatsKeeper(orm, log.child({ component: 'agent-stats' })),
    breakers,
    circuits,
    database,
    ollama,
  };
}
