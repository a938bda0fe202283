import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { createApp, type ParleyApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { generateJwtKeyPair } from '../../src/config/local-secrets.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded-postgres.js';
import { Role } from '../../src/modules/users/role.js';
import { createLogger } from '../../src/observability/logger.js';
import { freePort } from '../../src/testing/ports.js';

export interface BenchServer {
  app: ParleyApp;
  url: string;
  wsUrl: string;
  tokens: Record<'viewer' | 'operator', string>;
  stop(): Promise<void>;
}

/**
 * The real server in this process on a fresh database: BENCH_DATABASE_URL's (a database that may be
 * wiped), or an embedded PostgreSQL in a temporary folder.
 */
export async function startBenchServer(env: Record<string, string> = {}): Promise<BenchServer> {
  const log = createLogger({ level: 'warn' });
  let embedded: EmbeddedPostgres | undefined;
  let tempDir: string | undefined;
  let databaseUrl = process.env.BENCH_DATABASE_URL;
  if (!databaseUrl) {
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'parley-bench-'));
    await chmod(tempDir, 0o755);
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(tempDir, 'pg'),
      port: await freePort(),
      password: randomBytes(12).toString('hex'),
      database: 'parley_bench',
      log,
    });
    databaseUrl = embedded.url;
  }
  const keys = generateJwtKeyPair();
  const config = loadConfig({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'warn',
    JWT_PRIVATE_KEY: keys.privateKeyPem,
    JWT_PUBLIC_KEY: keys.publicKeyPem,
    // Limits stay in the path (their cost is measured) but never refuse the load generator.
    RATE_LIMIT_VIEWER: '1000000,1000000',
    RATE_LIMIT_OPERATOR: '1000000,1000000',
    RATE_LIMIT_ANONYMOUS: '1000000,1000000',
    ...env,
  });
  const app = await createApp(config);
  const { port } = await app.listen(0, '127.0.0.1');
  const em = app.orm.em.fork();
  const tokens = {} as Record<'viewer' | 'operator', string>;
  for (const [name, role] of [
    ['viewer', Role.VIEWER],
    ['operator', Role.OPERATOR],
  ] as const) {
    const email = `bench-${name}-${randomBytes(3).toString('hex')}@example.test`;
    const password = randomBytes(12).toString('hex');
    await app.services.users.create(em, null, { email, password, role });
    tokens[name] = (await app.services.auth.login(em, email, password)).accessToken;
  }
  return {
    app,
    url: `http://127.0.0.1:${port}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    tokens,
    stop: async () => {
      await app.close();
      await embedded?.stop();
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

/** A `--name value` option's text, or `fallback`. */
export function textArg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}
