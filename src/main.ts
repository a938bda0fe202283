import 'reflect-metadata';
import path from 'node:path';
import { createApp, type ParleyApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { withLocalSecrets } from './config/local-secrets.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded-postgres.js';
import { createLogger } from './observability/logger.js';

/** `npm start`: config → (embedded Postgres) → app → listen; SIGINT/SIGTERM unwind it in reverse. */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }

  const log = createLogger({ level: config.logLevel });
  const local = await withLocalSecrets(config);
  config = local.config;

  // Filled in as start-up proceeds; shutdown stops whatever got started, in reverse order.
  const started: { embedded?: EmbeddedPostgres; app?: ParleyApp } = {};
  let stopping = false;

  const shutdown = async (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5_000);
    force.unref();
    try {
      await started.app?.close();
      await started.embedded?.stop();
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  if (!config.databaseUrl) {
    started.embedded = await startEmbeddedPostgres({
      dataDir: path.join(config.dataDir, 'pg'),
      port: config.embeddedPgPort,
      password: local.secrets!.embeddedPostgresPassword,
      database: 'parley',
      log,
    });
    config = { ...config, databaseUrl: started.embedded.url };
  }
  const { embedded } = started;

  const app = (started.app = await createApp(config));
  const em = app.orm.em.fork();
  const admin = config.admin ?? local.demoAdmin;
  let adminState: string | undefined;
  if (admin) adminState = await app.services.users.ensureAdmin(em, admin.email, admin.password);

  const address = await app.listen();
  const url = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${address.port}/graphql`;
  log.info({ url, embeddedDatabase: Boolean(embedded), env: config.env }, 'parley is listening');

  if (!config.isProduction) {
    const lines = [
      '',
      `  Parley is running: ${url}  (open it in a browser for Apollo Sandbox)`,
      embedded
        ? `  Database: embedded PostgreSQL in ${path.join(config.dataDir, 'pg')}`
        : '  Database: DATABASE_URL',
    ];
    if (local.demoAdmin) {
      lines.push(
        `  Demo admin${adminState === 'created' ? ' (created now)' : ''}: ${local.demoAdmin.email} / ${local.demoAdmin.password}`,
        `  Try: mutation { login(email: "${local.demoAdmin.email}", password: "${local.demoAdmin.password}") { accessToken } }`,
      );
    }
    lines.push(
      `  Ollama: ${config.ollama.host}  (no GPU? \`npm run fake-ollama\` serves a fake one on http://127.0.0.1:11434)`,
      '  Next, in another terminal: `npm run seed` (demo data), then `npm run example:debate`, `example:chat` or',
      '  `example:compression` (README, "Examples")',
    );
    process.stderr.write(`${lines.join('\n')}\n\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`parley failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
