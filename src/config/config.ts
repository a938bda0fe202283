import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { CircuitPolicy } from '../resilience/circuit.js';
import type { DocumentLimits } from '../security/document-limits.js';
import type { RateLimitSettings } from '../security/rate-limits.js';

/**
 * The one place that reads the environment. Everything else takes a `Config`.
 * Every problem is reported at once (see `ConfigError`) so an operator fixes them in one go.
 */

const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value));

const postgresUrl = optionalString.refine(
  (value) => value === undefined || /^postgres(ql)?:\/\//.test(value),
  'must be a postgres:// or postgresql:// URL',
);

const csv = optionalString.transform((value) =>
  value
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
    : [],
);

/** `"<per second>,<burst>"`: a token bucket. */
const bucket = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const [perSecond, burst] = value.split(',').map((part) => Number(part.trim()));
      if (!(perSecond > 0) || !(burst >= 1) || !Number.isFinite(perSecond + burst)) {
        ctx.addIssue({ code: 'custom', message: 'must be "<operations per second>,<burst>", e.g. "10,50"' });
        return z.NEVER;
      }
      return { perSecond, burst };
    });

/** `"<max>,<window seconds>"`: at most max calls in any window. */
const window = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const [max, seconds] = value.split(',').map((part) => Number(part.trim()));
      if (!Number.isInteger(max) || max < 1 || !(seconds > 0)) {
        ctx.addIssue({ code: 'custom', message: 'must be "<max calls>,<window seconds>", e.g. "10,300"' });
        return z.NEVER;
      }
      return { max, windowMs: Math.round(seconds * 1000) };
    });

const positiveInt = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  DATABASE_URL: postgresUrl,
  TEST_DATABASE_URL: postgresUrl,
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  COMPRESSION_INLINE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(8 * 1024 * 1024),
  COMPRESSION_CORPUS_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(256 * 1024 * 1024),
  COMPRESSION_MAX_ACTIVE_PER_USER: z.coerce.number().int().min(1).default(4),
  COMPRESSION_WORKERS: z.coerce.number().int().min(1).max(64).optional(),
  DB_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  DB_BREAKER_WINDOW: z.coerce.number().int().min(1).default(20),
  DB_BREAKER_MIN_CALLS: z.coerce.number().int().min(1).default(5),
  DB_BREAKER_FAILURE_RATE: z.coerce.number().min(1).max(100).default(50),
  DB_BREAKER_OPEN_MS: z.coerce.number().int().min(10).default(5_000),
  PARLEY_DATA_DIR: z.string().default('.parley'),
  EMBEDDED_PG_PORT: z.coerce
    .number()
    .int()
    .min(1024)
    .max(65535)
    .refine((port) => port !== 5432, 'must not be 5432 (that port belongs to a system PostgreSQL)')
    .default(54329),
  REDIS_URL: optionalString.refine(
    (value) => value === undefined || /^rediss?:\/\//.test(value),
    'must be a redis:// or rediss:// URL',
  ),
  OLLAMA_HOST: z.string().url().default('http://127.0.0.1:11434'),
  JWT_PRIVATE_KEY: optionalString,
  JWT_PUBLIC_KEY: optionalString,
  JWT_ISSUER: z.string().min(1).default('parley'),
  JWT_AUDIENCE: z.string().min(1).default('parley-api'),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(900),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(90 * 86_400)
    .default(30 * 86_400),
  LOG_LEVEL: z.enum(logLevels).default('info'),
  CORS_ORIGINS: csv,
  ADMIN_EMAIL: optionalString.refine((value) => value === undefined || z.email().safeParse(value).success, {
    message: 'must be an email address',
  }),
  ADMIN_PASSWORD: optionalString.refine((value) => value === undefined || value.length >= 12, {
    message: 'must be at least 12 characters',
  }),
  // Room for an 8 MiB inline compression input sent as base64 (4/3 of it) inside a JSON body.
  BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(12 * 1024 * 1024),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  GRAPHQL_INTROSPECTION: z.enum(['true', 'false']).optional(),
  GRAPHQL_LANDING_PAGE: z.enum(['true', 'false']).optional(),
  GRAPHQL_MAX_CHARACTERS: positiveInt(20_000),
  GRAPHQL_MAX_TOKENS: positiveInt(2_000),
  GRAPHQL_MAX_DEPTH: positiveInt(12),
  GRAPHQL_MAX_ALIASES: positiveInt(30),
  GRAPHQL_MAX_DIRECTIVES: positiveInt(50),
  GRAPHQL_MAX_COST: positiveInt(50_000),
  GRAPHQL_DEFAULT_LIST_SIZE: positiveInt(10),
  GRAPHQL_MAX_BATCH: positiveInt(1),
  RATE_LIMITS_ENABLED: z.enum(['true', 'false']).default('true'),
  RATE_LIMIT_ANONYMOUS: bucket('5,30'),
  RATE_LIMIT_VIEWER: bucket('10,60'),
  RATE_LIMIT_ANALYST: bucket('20,100'),
  RATE_LIMIT_OPERATOR: bucket('20,100'),
  RATE_LIMIT_ADMIN: bucket('50,200'),
  LOGIN_LIMIT_PER_ACCOUNT: window('10,300'),
  LOGIN_LIMIT_PER_ADDRESS: window('30,300'),
  REFRESH_LIMIT_PER_ADDRESS: window('60,300'),
  REDIS_TIMEOUT_MS: z.coerce.number().int().min(10).default(250),
  REDIS_BREAKER_OPEN_MS: z.coerce.number().int().min(10).default(5_000),
  TRUST_PROXY: optionalString,
  EVENT_RETENTION_HOURS: z.coerce.number().positive().default(168),
  EVENT_PRUNE_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(3_600),
  WS_MAX_BUFFERED_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  WS_CONNECTION_INIT_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  REPLICA_ID: z.string().min(1).max(100).optional(),
  JOB_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
  JOB_LEASE_MS: z.coerce.number().int().min(1000).default(8_000),
  JOB_POLL_MS: z.coerce.number().int().min(50).default(1_000),
  OLLAMA_TIMEOUT_MS: z.coerce.number().int().min(100).default(120_000),
  OLLAMA_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
  OLLAMA_RETRY_BASE_MS: z.coerce.number().int().min(1).default(250),
  OLLAMA_BREAKER_WINDOW: z.coerce.number().int().min(1).default(20),
  OLLAMA_BREAKER_MIN_CALLS: z.coerce.number().int().min(1).default(5),
  OLLAMA_BREAKER_FAILURE_RATE: z.coerce.number().min(1).max(100).default(50),
  OLLAMA_BREAKER_OPEN_MS: z.coerce.number().int().min(10).default(30_000),
  OLLAMA_BREAKER_HALF_OPEN_CALLS: z.coerce.number().int().min(1).default(2),
});

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env['NODE_ENV'];
  isProduction: boolean;
  host: string;
  port: number;
  /** Undefined means "start the embedded PostgreSQL". */
  databaseUrl: string | undefined;
  testDatabaseUrl: string | undefined;
  dbPoolMax: number;
  dataDir: string;
  embeddedPgPort: number;
  redisUrl: string | undefined;
  ollamaHost: string;
  jwt: {
    privateKeyPem: string | undefined;
    publicKeyPem: string | undefined;
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
  };
  logLevel: Env['LOG_LEVEL'];
  corsOrigins: string[];
  admin: { email: string; password: string } | undefined;
  bodyLimitBytes: number;
  shutdownTimeoutMs: number;
  introspection: boolean;
  /** Apollo Sandbox on GET /graphql. */
  landingPage: boolean;
  /** Express's `trust proxy` (hops, addresses or subnets): which X-Forwarded-For entries name the client. */
  trustProxy: boolean | number | string[];
  /** Limits every GraphQL document must stay within (src/security/document-limits.ts). */
  documentLimits: DocumentLimits;
  rateLimits: RateLimitSettings;
  /** Redis's circuit: counters fall back to this process's own while it is open. */
  redis: { policy: CircuitPolicy };
  /** Names this process in breaker states and logs; stable per pod in Kubernetes (the pod name). */
  replicaId: string;
  /** Durable jobs: how many run at once here, how long a claim lasts without renewal, how often to look. */
  jobs: { concurrency: number; leaseMs: number; pollMs: number };
  ollama: { host: string; policy: CircuitPolicy };
  /** Compression runs: input limits, runs a user may have queued or running at once, worker threads. */
  compression: { inlineMaxBytes: number; corpusMaxBytes: number; maxActivePerUser: number; workers: number };
  /** The database's circuit: background work (job claims, leases) fails fast while Postgres is away. */
  database: { policy: CircuitPolicy };
  realtime: {
    retentionHours: number;
    pruneIntervalMs: number;
    /** A socket whose unsent data grows past this is closed (slow consumer). */
    maxBufferedBytes: number;
    connectionInitTimeoutMs: number;
  };
}

/** `TRUST_PROXY`: unset/false, true, a hop count, or a comma-separated list of addresses and subnets. */
function parseTrustProxy(value: string | undefined): boolean | number | string[] {
  if (!value || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; throws a `ConfigError` listing every problem. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(source);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);

  // Checks across variables run on the raw values, so they are reported together with the rest.
  const given = (name: string) => Boolean(source[name]?.trim());
  if (source.NODE_ENV === 'production') {
    // Production never invents secrets or databases: a missing one is an operator error.
    if (!given('DATABASE_URL')) problems.push('DATABASE_URL: required in production');
    if (!given('JWT_PRIVATE_KEY'))
      problems.push('JWT_PRIVATE_KEY: required in production (Ed25519 PKCS#8 PEM)');
    if (!given('JWT_PUBLIC_KEY')) problems.push('JWT_PUBLIC_KEY: required in production (Ed25519 SPKI PEM)');
  }
  if (given('JWT_PRIVATE_KEY') !== given('JWT_PUBLIC_KEY')) {
    problems.push('JWT_PRIVATE_KEY and JWT_PUBLIC_KEY: set both or neither');
  }
  if (given('ADMIN_EMAIL') !== given('ADMIN_PASSWORD')) {
    problems.push('ADMIN_EMAIL and ADMIN_PASSWORD: set both or neither');
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const env = parsed.data;
  const isProduction = env.NODE_ENV === 'production';

  return {
    env: env.NODE_ENV,
    isProduction,
    host: env.HOST,
    port: env.PORT,
    databaseUrl: env.DATABASE_URL,
    testDatabaseUrl: env.TEST_DATABASE_URL,
    dbPoolMax: env.DB_POOL_MAX,
    dataDir: path.resolve(env.PARLEY_DATA_DIR),
    embeddedPgPort: env.EMBEDDED_PG_PORT,
    redisUrl: env.REDIS_URL,
    ollamaHost: env.OLLAMA_HOST,
    jwt: {
      privateKeyPem: env.JWT_PRIVATE_KEY?.replace(/\\n/g, '\n'),
      publicKeyPem: env.JWT_PUBLIC_KEY?.replace(/\\n/g, '\n'),
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      accessTtlSeconds: env.ACCESS_TOKEN_TTL_SECONDS,
      refreshTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
    },
    logLevel: env.LOG_LEVEL,
    corsOrigins: env.CORS_ORIGINS,
    admin:
      env.ADMIN_EMAIL && env.ADMIN_PASSWORD
        ? { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }
        : undefined,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    introspection: env.GRAPHQL_INTROSPECTION ? env.GRAPHQL_INTROSPECTION === 'true' : !isProduction,
    landingPage: env.GRAPHQL_LANDING_PAGE ? env.GRAPHQL_LANDING_PAGE === 'true' : !isProduction,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    documentLimits: {
      maxCharacters: env.GRAPHQL_MAX_CHARACTERS,
      maxTokens: env.GRAPHQL_MAX_TOKENS,
      maxDepth: env.GRAPHQL_MAX_DEPTH,
      maxAliases: env.GRAPHQL_MAX_ALIASES,
      maxDirectives: env.GRAPHQL_MAX_DIRECTIVES,
      maxCost: env.GRAPHQL_MAX_COST,
      defaultListSize: env.GRAPHQL_DEFAULT_LIST_SIZE,
      maxBatch: env.GRAPHQL_MAX_BATCH,
    },
    rateLimits: {
      enabled: env.RATE_LIMITS_ENABLED === 'true',
      tiers: {
        ANONYMOUS: env.RATE_LIMIT_ANONYMOUS,
        VIEWER: env.RATE_LIMIT_VIEWER,
        ANALYST: env.RATE_LIMIT_ANALYST,
        OPERATOR: env.RATE_LIMIT_OPERATOR,
        ADMIN: env.RATE_LIMIT_ADMIN,
      },
      loginPerAccount: env.LOGIN_LIMIT_PER_ACCOUNT,
      loginPerAddress: env.LOGIN_LIMIT_PER_ADDRESS,
      refreshPerAddress: env.REFRESH_LIMIT_PER_ADDRESS,
    },
    redis: {
      policy: {
        timeoutMs: env.REDIS_TIMEOUT_MS,
        retries: 0, // a counter falls back to this process's own at once instead
        retryBaseMs: 1,
        retryMaxMs: 1,
        windowSize: 20,
        minimumCalls: 5,
        failureRatePercent: 50,
        openMs: env.REDIS_BREAKER_OPEN_MS,
        halfOpenCalls: 1,
        isFailure: () => true,
      },
    },
    replicaId: env.REPLICA_ID ?? `${os.hostname()}-${process.pid}`,
    jobs: { concurrency: env.JOB_CONCURRENCY, leaseMs: env.JOB_LEASE_MS, pollMs: env.JOB_POLL_MS },
    ollama: {
      host: env.OLLAMA_HOST.replace(/\/+$/, ''),
      policy: {
        timeoutMs: env.OLLAMA_TIMEOUT_MS,
        retries: env.OLLAMA_RETRIES,
        retryBaseMs: env.OLLAMA_RETRY_BASE_MS,
        retryMaxMs: Math.max(env.OLLAMA_RETRY_BASE_MS, 5_000),
        windowSize: env.OLLAMA_BREAKER_WINDOW,
        minimumCalls: env.OLLAMA_BREAKER_MIN_CALLS,
        failureRatePercent: env.OLLAMA_BREAKER_FAILURE_RATE,
        openMs: env.OLLAMA_BREAKER_OPEN_MS,
        halfOpenCalls: env.OLLAMA_BREAKER_HALF_OPEN_CALLS,
      },
    },
    compression: {
      inlineMaxBytes: env.COMPRESSION_INLINE_MAX_BYTES,
      corpusMaxBytes: env.COMPRESSION_CORPUS_MAX_BYTES,
      maxActivePerUser: env.COMPRESSION_MAX_ACTIVE_PER_USER,
      // One core left to the event loop (and PostgreSQL): on 2 cores, one worker thread by default.
      workers: env.COMPRESSION_WORKERS ?? Math.max(1, os.availableParallelism() - 1),
    },
    database: {
      policy: {
        timeoutMs: env.DB_TIMEOUT_MS,
        retries: 0, // writes are not idempotent; jobs and pollers try again on their own schedule
        retryBaseMs: 1,
        retryMaxMs: 1,
        windowSize: env.DB_BREAKER_WINDOW,
        minimumCalls: env.DB_BREAKER_MIN_CALLS,
        failureRatePercent: env.DB_BREAKER_FAILURE_RATE,
        openMs: env.DB_BREAKER_OPEN_MS,
        halfOpenCalls: 1,
      },
    },
    realtime: {
      retentionHours: env.EVENT_RETENTION_HOURS,
      pruneIntervalMs: env.EVENT_PRUNE_INTERVAL_SECONDS * 1000,
      maxBufferedBytes: env.WS_MAX_BUFFERED_BYTES,
      connectionInitTimeoutMs: env.WS_CONNECTION_INIT_TIMEOUT_MS,
    },
  };
}
