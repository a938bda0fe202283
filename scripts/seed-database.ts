// Which database `npm run seed` writes to: the one `npm start` would use. DATABASE_URL when it is set;
// otherwise the embedded PostgreSQL in PARLEY_DATA_DIR, reached where it already runs (an `npm start` in
// another terminal) or started for the seed and stopped after it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../src/config/config.js';
import type { LocalSecrets } from '../src/config/local-secrets.js';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.js';
import type { Logger } from '../src/observability/logger.js';

export interface SeedDatabase {
  url: string;
  /** Said to the user: which database this is. */
  description: string;
  close(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, run by another user (postgres)
  }
}

/**
 * The port of a PostgreSQL already running on `dataDir`, or undefined. Starting the embedded server a
 * second time would stop the running one first (it looks like an orphan), pulling the database out from
 * under the server that uses it: postmaster.pid (its first line the pid, its fourth the port) says
 * whether one runs.
 */
async function runningPort(dataDir: string): Promise<number | undefined> {
  let lines: string[];
  try {
    lines = (await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  return Number.isInteger(pid) && Number.isInteger(port) && isAlive(pid) ? port : undefined;
}

export async function openSeedDatabase(
  config: Config,
  secrets: LocalSecrets | undefined,
  log: Logger,
): Promise<SeedDatabase> {
  if (config.databaseUrl) {
    return { url: config.databaseUrl, description: 'DATABASE_URL', close: async () => {} };
  }
  if (!secrets) throw new Error('DATABASE_URL is not set (production never starts an embedded database)');
  const dataDir = path.join(config.dataDir, 'pg');
  const port = await runningPort(dataDir);
  if (port !== undefined) {
    const password = encodeURIComponent(secrets.embeddedPostgresPassword);
    return {
      url: `postgresql://parley:${password}@127.0.0.1:${port}/parley`,
      description: `the embedded PostgreSQL already running in ${dataDir}`,
      close: async () => {},
    };
  }
  const embedded = await startEmbeddedPostgres({
    dataDir,
    port: config.embeddedPgPort,
    password: secrets.embeddedPostgresPassword,
    database: 'parley',
    log,
  });
  return {
    url: embedded.url,
    description: `the embedded PostgreSQL in ${dataDir} (started for the seed, stopped after it)`,
    close: () => embedded.stop(),
  };
}
