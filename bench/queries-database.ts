// bench/queries.ts's database: a fresh embedded PostgreSQL in a temporary folder (or BENCH_DATABASE_URL's
// database, which may be wiped), with pg_stat_statements loaded so that SQL statements can be counted by
// PostgreSQL itself; migrated and seeded with bench/seed-data.ts.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { initOrm, migrate } from '../src/db/orm.js';
import type { Logger } from '../src/observability/logger.js';
import { freePort } from '../src/testing/ports.js';
import { postmasterPid } from './queries-cpu.js';
import { seedDataset, type SeedCounts, type SeedResult } from './seed-data.js';

export interface BenchDatabase {
  url: string;
  /** The embedded server's postmaster (for its CPU time); undefined for BENCH_DATABASE_URL. */
  postmasterPid: number | undefined;
  /** A connection of the benchmark's own, for seeding and statement counts. */
  client: pg.Client;
  seed: SeedResult;
  /** Whether pg_stat_statements is loaded and installed in the database. */
  statementsAvailable: boolean;
  stop(): Promise<void>;
}

export async function prepareDatabase(log: Logger, counts: SeedCounts): Promise<BenchDatabase> {
  let embedded: EmbeddedPostgres | undefined;
  let tempDir: string | undefined;
  let url = process.env.BENCH_DATABASE_URL;
  let pid: number | undefined;
  if (!url) {
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'parley-bench-queries-'));
    await chmod(tempDir, 0o755);
    const options = {
      dataDir: path.join(tempDir, 'pg'),
      port: await freePort(),
      password: randomBytes(12).toString('hex'),
      database: 'parley_bench',
      log,
    };
    embedded = await startEmbeddedPostgres(options);
    // src/db/embedded-postgres.ts takes no server flags: preload the extension through the config file
    // (postgresql.auto.conf), which needs a restart.
    const admin = new pg.Client({ connectionString: embedded.url });
    await admin.connect();
    await admin.query(`alter system set shared_preload_libraries = 'pg_stat_statements'`);
    await admin.query(`alter system set pg_stat_statements.track = 'none'`);
    await admin.end();
    await embedded.stop();
    embedded = await startEmbeddedPostgres(options);
    url = embedded.url;
    pid = postmasterPid(options.dataDir);
  }

  const orm = await initOrm({ clientUrl: url, log });
  try {
    await migrate(orm);
  } finally {
    await orm.close();
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const seed = await seedDataset(client, counts);
  let statementsAvailable = true;
  try {
    await client.query('create extension if not exists pg_stat_statements');
    await client.query('select pg_stat_statements_reset()');
  } catch (error) {
    log.warn({ err: error }, 'pg_stat_statements is not available: SQL statements will not be counted');
    statementsAvailable = false;
  }
  return {
    url,
    postmasterPid: pid,
    client,
    seed,
    statementsAvailable,
    stop: async () => {
      await client.end();
      await embedded?.stop();
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
    },
  };
}

/**
 * Turns pg_stat_statements' tracking on (top-level statements) or off: off while throughput is measured,
 * so its bookkeeping is not in PostgreSQL's CPU figures. Needs a superuser (the embedded server's).
 */
export async function trackStatements(client: pg.Client, on: boolean): Promise<void> {
  await client.query(`alter system set pg_stat_statements.track = '${on ? 'top' : 'none'}'`);
  await client.query('select pg_reload_conf()');
  // Backends re-read the configuration between statements; give the idle ones a moment.
  await new Promise((resolve) => setTimeout(resolve, 300));
}

export interface StatementCount {
  calls: number;
  query: string;
}

/** Forgets every statement counted so far. */
export async function resetStatements(client: pg.Client): Promise<void> {
  await client.query('select pg_stat_statements_reset()');
}

/** Statements run in this database since the last reset, most frequent first (the benchmark's own left out). */
export async function countedStatements(client: pg.Client): Promise<StatementCount[]> {
  const { rows } = await client.query<{ calls: string; query: string }>(
    `select calls, query from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database())
        and query not like '%pg_stat_statements%' and query not like '%pg_reload_conf%'
      order by calls desc, query`,
  );
  return rows.map((row) => ({ calls: Number(row.calls), query: row.query.replace(/\s+/g, ' ') }));
}
