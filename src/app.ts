import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import type { MikroORM } from '@mikro-orm/postgresql';
import express from 'express';
import type { Config } from './config/config.js';
import { initOrm, migrate, projectRoot } from './db/orm.js';
import { buildContext, type ContextFactoryDeps, type GraphQLContext } from './graphql/context.js';
import { createErrorFormatter } from './graphql/error-formatting.js';
import { operationLogPlugin } from './graphql/plugins/operation-log.plugin.js';
import { databaseGuardPlugin } from './graphql/plugins/database-guard.plugin.js';
import { buildServedSchema } from './graphql/schema.js';
import { startWsServer } from './graphql/ws-server.js';
import { healthRouter } from './http/health.js';
import { bodyErrorHandler, cors, securityHeaders } from './http/middleware.js';
import { costLimitPlugin } from './graphql/plugins/cost-limit.plugin.js';
import { documentLimitRules } from './security/document-limits.js';
import { callerGuard, callerOf, clientAddress, documentGuard } from './security/http-guards.js';
import { registerReplyWorker } from './modules/conversations/reply.worker.js';
import { registerDebateWorker } from './modules/debates/debate.worker.js';
import { registerCompressionWorker } from './modules/compression/compression.worker.js';
import { createCompressionPool } from './compression/pool.js';
import { createServices, type Services } from './modules/services.js';
import { correlationMiddleware } from './observability/correlation.js';
import { createRealtime, type Realtime } from './realtime/index.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { metricsPlugin } from './graphql/plugins/metrics.plugin.js';

export interface AppOptions {
  /** Where log lines go (tests read them back); stdout by default. */
  logStream?: NodeJS.WritableStream;
  /** Apply pending migrations before serving (default true). */
  migrate?: boolean;
}

export interface ParleyApp {
  config: Config;
  orm: MikroORM;
  services: Services;
  log: Logger;
  httpServer: http.Server;
  realtime: Realtime;
  /** Starts listening; resolves with the bound address (port 0 picks a free port). */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** Drains HTTP, closes WebSockets, closes the ORM. Safe to call twice. */
  close(): Promise<void>;
}

const version = (
  JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }
).version;

/** Builds a whole Parley instance. No globals: tests start several side by side. */
export async function createApp(config: Config, options: AppOptions = {}): Promise<ParleyApp> {
  if (!config.databaseUrl)
    throw new Error('createApp needs config.databaseUrl (main.ts starts the embedded one)');
  const log = createLogger({ level: config.logLevel, stream: options.logStream });
  const orm = await initOrm({ clientUrl: config.databaseUrl, poolMax: config.dbPoolMax, log });
  try {
    if (options.migrate !== false) {
      const applied = await migrate(orm);
      if (applied.length > 0) log.info({ migrations: applied }, 'applied database migrations');
    }
    return await assemble(config, orm, log);
  } catch (error) {
    await orm.close(true);
    throw error;
  }
}

async function assemble(config: Config, orm: MikroORM, log: Logger): Promise<ParleyApp> {
  const metrics = createMetrics({ version });
  const services = await createServices(orm, config, log, metrics);
  const realtime = createRealtime(orm, config, log, metrics);
  await realtime.start();
  await services.circuits.followResets(realtime.hub);
  await services.auth.revocations.follow(realtime.hub, realtime.reader);
  registerReplyWorker({
    orm,
    jobs: services.jobs,
    ollama: services.ollama,
    agentStats: services.agentStats,
    hub: realtime.hub,
    ephemeral: realtime.ephemeral,
    log: log.child({ component: 'replies' }),
  });
  registerDebateWorker({
    orm,
    jobs: services.jobs,
    ollama: services.ollama,
    agentStats: services.agentStats,
    hub: realtime.hub,
    ephemeral: realtime.ephemeral,
    log: log.child({ component: 'debates' }),
  });
  // Compression runs on worker threads, never on this event loop.
  const compressionPool = createCompressionPool({ threads: config.compression.workers });
  registerCompressionWorker({
    orm,
    jobs: services.jobs,
    pool: compressionPool,
    hub: realtime.hub,
    ephemeral: realtime.ephemeral,
    log: log.child({ component: 'compression' }),
    metrics,
  });
  services.jobs.start(realtime.listener);
  const schema = await buildServedSchema();
  const deps: ContextFactoryDeps = { orm, services, realtime: realtime.hub, log };
  const formatError = createErrorFormatter({ development: config.env === 'development', log });

  const expressApp = express();
  expressApp.disable('x-powered-by');
  expressApp.set('trust proxy', config.trustProxy);
  // GraphQL answers are not cached by validators; hashing every response body for an ETag is waste.
  expressApp.set('etag', false);
  const httpServer = http.createServer(expressApp);
  const ws = startWsServer({
    httpServer,
    schema,
    deps,
    formatError,
    connectionInitWaitTimeoutMs: config.realtime.connectionInitTimeoutMs,
    maxBufferedBytes: config.realtime.maxBufferedBytes,
    documentLimits: config.documentLimits,
    introspection: config.introspection,
    maxPayloadBytes: config.bodyLimitBytes,
    trustProxy: expressApp.get('trust proxy fn') as (address: string, hop: number) => boolean,
    log,
  });
  metrics.watch({
    query: (sql) => orm.em.getConnection().execute(sql),
    databaseUnavailable: () => services.database.isOpen,
    jobKinds: () => services.jobs.kinds,
    breakers: () => services.circuits.snapshots(),
    subscribers: () => realtime.hub.subscriberCounts(),
    webSocketConnections: () => ws.wss.clients.size,
    listener: () => ({
      listening: realtime.listener.state === 'listening',
      reconnects: realtime.listener.reconnects,
    }),
  });

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: config.introspection,
    // Without introspection, "Did you mean …?" hints would spell the schema out field by field.
    hideSchemaDetailsFromClientErrors: !config.introspection,
    csrfPrevention: true,
    // No client of ours sends persisted queries; off, such a request is PERSISTED_QUERY_NOT_SUPPORTED.
    persistedQueries: false,
    includeStacktraceInErrorResponses: false,
    formatError,
    // Depth, aliases and directives: checked with the document's validation (and cached with it).
    validationRules: documentLimitRules(config.documentLimits),
    allowBatchedHttpRequests: config.documentLimits.maxBatch > 1,
    // A backstop: documentGuard refuses longer documents before Apollo sees them.
    parseOptions: { maxTokens: config.documentLimits.maxTokens },
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { serverWillStart: async () => ({ drainServer: ws.dispose }) },
      // Nothing here sets cache hints; left on, it wraps every field resolver of every request.
      ApolloServerPluginCacheControlDisabled(),
      operationLogPlugin(),
      metricsPlugin(metrics),
      databaseGuardPlugin(services.database),
      costLimitPlugin(config.documentLimits),
      !config.landingPage
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({
            embed: { endpointIsEditable: false },
            document: 'query Me {\n  me {\n    id\n    email\n    role\n  }\n}\n',
            includeCookies: false,
          }),
    ],
  });
  await apollo.start();

  expressApp.use(metrics.httpMiddleware(['/graphql']));
  expressApp.use(correlationMiddleware);
  expressApp.use(securityHeaders({ production: config.isProduction, landingPage: config.landingPage }));
  // Scraped inside the cluster; the Ingress must not route it (docs/METRICS.md).
  expressApp.get('/metrics', (_req, res, next) => {
    metrics.scrape().then(({ contentType, body }) => res.set('Content-Type', contentType).send(body), next);
  });
  expressApp.use(
    healthRouter({
      orm,
      listener: realtime.listener,
      ollama: services.ollama,
      databaseCircuit: services.database,
      startedAt: new Date(),
      version,
    }),
  );
  expressApp.use(
    '/graphql',
    cors(config.corsOrigins, config.isProduction),
    callerGuard(services),
    express.json({ limit: config.bodyLimitBytes }),
    documentGuard(config.documentLimits),
    expressMiddleware(apollo, {
      context: ({ req, res }) =>
        Promise.resolve(
          buildContext(deps, callerOf(res), res.locals.correlationId as string, clientAddress(req)),
        ),
    }),
  );
  expressApp.use(bodyErrorHandler(log, config.bodyLimitBytes));

  let closing: Promise<void> | undefined;
  return {
    config,
    orm,
    services,
    log,
    httpServer,
    realtime,
    listen: (port = config.port, host = config.host) =>
      new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          resolve(httpServer.address() as AddressInfo);
        });
      }),
    close: () =>
      (closing ??= (async () => {
        await apollo.stop(); // drains HTTP (and, through the hook above, the WebSockets)
        await services.jobs.stop();
        services.agentStats.stop();
        await compressionPool.destroy(); // running runs stop; their jobs are taken up again
        await services.rateLimits.close();
        await services.auth.revocations.stop();
        await services.circuits.dispose();
        await realtime.stop();
        await orm.close();
        log.info('parley stopped');
      })()),
  };
}
