// npm run bench:fanout -- [--subscribers 1000] [--rate 20] [--seconds 15]
// N graphql-ws subscribers (a child process) on the agents stream of a real server (this process);
// agent updates committed at a set rate by another process (a writing replica); reports latency from COMMIT acknowledged to receipt by the client, server RSS per idle
// subscribed connection, and events lost (must be 0).
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { arg, startBenchServer } from './support/harness.js';

const subscribers = arg('subscribers', 1000);
const rate = arg('rate', 20);
const seconds = arg('seconds', 15);
const gc = (globalThis as { gc?: () => void }).gc;

function rssAfterGc(): number {
  for (let i = 0; i < 3; i++) gc?.();
  return process.memoryUsage().rss;
}

const server = await startBenchServer({ WS_MAX_BUFFERED_BYTES: String(64 * 1024 * 1024) });
const em = server.app.orm.em.fork();
const operator = await server.app.services.auth.verifyAccessToken(server.tokens.operator);
const agent = await server.app.services.agents.create(em, operator, { name: 'fanout', model: 'llama3.2:3b' });

await new Promise((resolve) => setTimeout(resolve, 500));
const rssBefore = rssAfterGc();
const child = fork(fileURLToPath(new URL('./fanout-clients.js', import.meta.url)), {
  env: {
    ...process.env,
    FANOUT_URL: server.wsUrl,
    FANOUT_TOKEN: server.tokens.viewer,
    FANOUT_SUBSCRIBERS: String(subscribers),
  },
});
const fromChild = <T>(type: string) =>
  new Promise<T>((resolve) => {
    const listener = (message: { type: string } & T) => {
      if (message.type !== type) return;
      child.off('message', listener);
      resolve(message);
    };
    child.on('message', listener);
  });

const connectStarted = performance.now();
await fromChild('connected');
while (server.app.realtime.hub.subscriberCount < subscribers)
  await new Promise((resolve) => setTimeout(resolve, 50));
const connectSeconds = (performance.now() - connectStarted) / 1000;
await new Promise((resolve) => setTimeout(resolve, 1_000));
const rssIdle = rssAfterGc();

const total = rate * seconds;
const writer = fork(fileURLToPath(new URL('./fanout-writer.js', import.meta.url)), {
  env: {
    ...process.env,
    WRITER_DATABASE_URL: server.app.config.databaseUrl,
    WRITER_AGENT_ID: agent.id,
    WRITER_OPERATOR: JSON.stringify(operator),
    WRITER_RATE: String(rate),
    WRITER_TOTAL: String(total),
    JWT_PRIVATE_KEY: server.app.config.jwt.privateKeyPem,
    JWT_PUBLIC_KEY: server.app.config.jwt.publicKeyPem,
  },
});
const written = await new Promise<{ first: number; commitTimes: number[]; achievedRate: number }>(
  (resolve, reject) => {
    writer.on(
      'message',
      (message: { type: string; first: number; commitTimes: number[]; achievedRate: number }) => {
        if (message.type === 'written') resolve(message);
      },
    );
    writer.on('exit', (code) => reject(new Error(`writer exited with ${code} before reporting`)));
  },
);
const { first, commitTimes, achievedRate } = written;
await new Promise((resolve) => setTimeout(resolve, 3_000)); // let the tail arrive

const reportPromise = fromChild<Record<string, number>>('report');
child.send({ type: 'report', first, commitTimes });
const report = await reportPromise;
child.send({ type: 'stop' });

const kb = (bytes: number) => Math.round(bytes / 1024);
console.log(
  JSON.stringify(
    {
      bench: 'fanout',
      subscribers,
      eventsWritten: total,
      targetRatePerSecond: rate,
      achievedRatePerSecond: Math.round(achievedRate * 10) / 10,
      connectSeconds: Math.round(connectSeconds * 10) / 10,
      latencyMs: { p50: report.p50, p95: report.p95, p99: report.p99, max: report.max },
      deliveries: report.received,
      expectedDeliveries: total * subscribers,
      eventsLost: report.lost,
      duplicated: report.duplicated,
      outOfOrder: report.outOfOrder,
      closedUnexpectedly: report.closedUnexpectedly,
      serverRssKbBefore: kb(rssBefore),
      serverRssKbIdleSubscribed: kb(rssIdle),
      rssKbPerIdleConnection: Math.round(((rssIdle - rssBefore) / subscribers / 1024) * 10) / 10,
      gcExposed: Boolean(gc),
    },
    null,
    2,
  ),
);
await server.stop();
process.exit(0);
