import type {} from 'vitest';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { loadConfig } from '../../src/config/config.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded-postgres.js';
import { initOrm, migrate } from '../../src/db/orm.js';
import { createLogger } from '../../src/observability/logger.js';
import { freePort } from '../../src/testing/ports.js';
import { countLoggedLines, findLoggedSecrets } from './secrets-audit.js';

/**
 * One PostgreSQL server for the run: TEST_DATABASE_URL's, or an embedded one in a temporary folder.
 * A template database is migrated once; each test file clones it (CREATE DATABASE … TEMPLATE), so files
 * are isolated and none pays for migrations.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
    templateDatabase: string;
    secretsAuditDir: string;
  }
}

export default async function setup(project: TestProject) {
  const config = loadConfig({ ...process.env, NODE_ENV: 'test' });
  const log = createLogger({ level: 'warn' });
  let embedded: EmbeddedPostgres | undefined;
  let tempDir: string | undefined;
  let adminUrl = config.testDatabaseUrl;

  if (!adminUrl) {
    tempDir = await mkdtemp(path.join(os.tmpdir(), 'parley-test-pg-'));
    await chmod(tempDir, 0o755); // as root, PostgreSQL runs as "postgres" and must reach its data folder
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(tempDir, 'pg'),
      port: await freePort(),
      password: randomBytes(12).toString('hex'),
      database: 'postgres',
      log,
      durable: false,
    });
    adminUrl = embedded.url;
  }

  const templateDatabase = `parley_template_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${admin.escapeIdentifier(templateDatabase)}`);
  await admin.end();

  const orm = await initOrm({ clientUrl: withDatabase(adminUrl, templateDatabase), log });
  await migrate(orm);
  await orm.close(true);

  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', templateDatabase);
  const secretsAuditDir = await mkdtemp(path.join(os.tmpdir(), 'parley-test-logs-'));
  project.provide('secretsAuditDir', secretsAuditDir);

  return async () => {
    // The whole run's logs against every password and token the tests used (support/secrets-audit.ts).
    const leaked = findLoggedSecrets(secretsAuditDir);
    const { lines, secrets } = countLoggedLines(secretsAuditDir);
    await rm(secretsAuditDir, { recursive: true, force: true });
    if (leaked.length > 0) {
      // A throw here is only printed by vitest; the exit code is what CI reads.
      process.exitCode = 1;
      console.error(
        `FAIL secrets audit: found in the logs of this run: ${leaked
          .map(({ secret, file }) => `${secret.slice(0, 4)}… in ${file}`)
          .join(', ')}`,
      );
    } else {
      console.log(`secrets audit: ${secrets} passwords and tokens, none in ${lines} log lines`);
    }
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await client.query(`drop database if exists ${client.escapeIdentifier(templateDatabase)} with (force)`);
    await client.end();
    await embedded?.stop();
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
