import { Writable } from 'node:stream';
import { createApp, type ParleyApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { generateJwtKeyPair } from '../../src/config/local-secrets.js';
import { createTestDatabase, dropTestDatabase } from './database.js';
import { recordLogLine } from './secrets-audit.js';

export interface LogRecord {
  level: number;
  msg: string;
  correlationId?: string;
  [key: string]: unknown;
}

export interface TestServer {
  app: ParleyApp;
  url: string;
  wsUrl: string;
  databaseUrl: string;
  /** Every log line the app wrote, parsed. */
  logs: LogRecord[];
  close(): Promise<void>;
}

/** The signing keys every test server of this process uses (tests forge tokens with them). */
export const testJwtKeys = generateJwtKeyPair();

export interface TestServerOptions {
  /** Share a database between instances (two replicas); by default each server gets its own. */
  databaseUrl?: string;
  env?: Record<string, string>;
}

/** A real Parley instance over a real database, listening on a free port of 127.0.0.1. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const ownsDatabase = !options.databaseUrl;
  const databaseUrl = options.databaseUrl ?? (await createTestDatabase());
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'info',
    JWT_PRIVATE_KEY: testJwtKeys.privateKeyPem,
    JWT_PUBLIC_KEY: testJwtKeys.publicKeyPem,
    DB_POOL_MAX: '5',
    // Suites make many calls quickly from one address; rate-limit tests set their own, tight limits.
    RATE_LIMIT_ANONYMOUS: '10000,10000',
    RATE_LIMIT_VIEWER: '10000,10000',
    RATE_LIMIT_ANALYST: '10000,10000',
    RATE_LIMIT_OPERATOR: '10000,10000',
    RATE_LIMIT_ADMIN: '10000,10000',
    LOGIN_LIMIT_PER_ACCOUNT: '10000,60',
    LOGIN_LIMIT_PER_ADDRESS: '10000,60',
    REFRESH_LIMIT_PER_ADDRESS: '10000,60',
    ...options.env,
  });
  const logs: LogRecord[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        logs.push(JSON.parse(line));
        recordLogLine(line);
      }
      done();
    },
  });
  const app = await createApp(config, { logStream, migrate: false });
  const { port } = await app.listen(0, '127.0.0.1');
  return {
    app,
    url: `http://127.0.0.1:${port}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    databaseUrl,
    logs,
    close: async () => {
      await app.close();
      if (ownsDatabase) await dropTestDatabase(databaseUrl);
    },
  };
}
