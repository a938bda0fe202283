// `npm run seed`: demo agents, a concluded debate and compression runs in the database `npm start` uses
// (DATABASE_URL, else the embedded PostgreSQL, running or not), after applying pending migrations. They
// belong to the admin `npm start` makes (ADMIN_EMAIL, else the demo admin). Idempotent: what is already
// there (recognised by name; see seed-content.ts) is kept and not added again.
import 'reflect-metadata';
import pg from 'pg';
import { loadConfig } from '../src/config/config.js';
import { withLocalSecrets } from '../src/config/local-secrets.js';
import { initOrm, migrate } from '../src/db/orm.js';
import { AgentStatsKeeper } from '../src/modules/agents/agent-stats.js';
import { AgentsService } from '../src/modules/agents/agents.service.js';
import { AuditService } from '../src/modules/audit/audit.service.js';
import { SessionRevocations } from '../src/modules/auth/revocations.js';
import { Role } from '../src/modules/users/role.js';
import { User } from '../src/modules/users/user.entity.js';
import { normaliseEmail, UsersService } from '../src/modules/users/users.service.js';
import { createLogger } from '../src/observability/logger.js';
import { SEED_AGENT_RUN, SEED_AGENTS, SEED_DEBATE, SEED_SUITE } from './seed-content.js';
import { openSeedDatabase } from './seed-database.js';
import { seedDebate } from './seed-debate.js';
import { seedAgents, seedCompression, type SeedContext } from './seed-writers.js';

const { config, secrets, demoAdmin } = await withLocalSecrets(loadConfig());
const admin = config.admin ?? demoAdmin;
if (!admin) {
  console.error('npm run seed: no admin to own the demo data. Set ADMIN_EMAIL and ADMIN_PASSWORD.');
  process.exit(1);
}
// Warnings only: the seed reports in plain lines below, not in the server's JSON log.
const log = createLogger({ level: 'warn' });
const database = await openSeedDatabase(config, secrets, log);
console.log(`Seeding ${database.description}`);

const mib = (bytes: number) => `${bytes / 1024 / 1024} MiB`;
const line = (what: string, text: string) => console.log(`  ${what.padEnd(12)} ${text}`);

try {
  const orm = await initOrm({ clientUrl: database.url, log });
  // Two seeds at once would both find nothing and both write: the second waits for the first.
  const lock = new pg.Client({ connectionString: database.url });
  try {
    await migrate(orm);
    await lock.connect();
    await lock.query(`select pg_advisory_lock(hashtext('parley.seed'))`);
    const audit = new AuditService(orm.em, log);
    const users = new UsersService(audit, new SessionRevocations(config.jwt.accessTtlSeconds * 1000, log));
    await users.ensureAdmin(orm.em.fork(), admin.email, admin.password);
    const owner = await orm.em.fork().findOneOrFail(User, { email: normaliseEmail(admin.email) });
    const context: SeedContext = {
      orm,
      audit,
      agentsService: new AgentsService(audit),
      agentStats: new AgentStatsKeeper(orm, log),
      actor: { id: owner.id, email: owner.email, role: Role.ADMIN },
    };

    const agents = await seedAgents(context);
    if (agents.created.length > 0) line('agents', `created ${agents.created.join(', ')}`);
    if (agents.kept.length > 0) line('agents', `already there: ${agents.kept.join(', ')}`);

    const debate = await seedDebate(context, agents.agents);
    const rounds = debate.consensus.map((score) => score.toFixed(2)).join(' → ');
    line(
      'debate',
      `${debate.created ? 'created' : 'already there:'} "${SEED_DEBATE.topic}" ` +
        `(${debate.status}, ${debate.conclusionReason ?? 'not concluded'}; consensus by round ${rounds}) id ${debate.id}`,
    );

    const compression = await seedCompression(context, agents.agents);
    const { suite, agentRun } = compression;
    const best = suite.best
      ? `; best ratio ${suite.best.algorithm} ${suite.best.level}: ${suite.best.ratio.toFixed(1)}×`
      : '';
    line(
      'compression',
      `${suite.created ? 'created' : 'already there:'} a suite of ${SEED_SUITE.runs.length} runs on ` +
        `${mib(SEED_SUITE.corpus.sizeBytes)} of ${SEED_SUITE.corpus.kind}${best} (id ${suite.id})`,
    );
    line(
      'compression',
      `${agentRun.created ? 'created' : 'already there:'} ${SEED_AGENT_RUN.algorithm} ${SEED_AGENT_RUN.level} ` +
        `on ${mib(SEED_AGENT_RUN.corpus.sizeBytes)} of ${SEED_AGENT_RUN.corpus.kind}, run by ` +
        `${SEED_AGENTS[SEED_AGENT_RUN.agent].name}${agentRun.ratio ? `: ${agentRun.ratio.toFixed(1)}×` : ''} (id ${agentRun.id})`,
    );
    console.log(`Owned by ${owner.email}. Running the seed again adds nothing twice.`);
  } finally {
    await lock.end().catch(() => undefined); // ending the session releases the lock
    await orm.close();
  }
} catch (error) {
  console.error(`npm run seed failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await database.close();
}
