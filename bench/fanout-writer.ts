// Child process of bench/fanout.ts: a second Parley replica's service layer writing agent updates at a
// fixed rate, so the measured server only fans out (as a replica serving dashboards would), and the
// write rate does not bend to how busy that server is.
import 'reflect-metadata';
import { loadConfig } from '../src/config/config.js';
import { initOrm } from '../src/db/orm.js';
import { createServices } from '../src/modules/services.js';
import { createLogger } from '../src/observability/logger.js';

const { WRITER_DATABASE_URL, WRITER_AGENT_ID, WRITER_OPERATOR } = process.env;
const rate = Number(process.env.WRITER_RATE);
const total = Number(process.env.WRITER_TOTAL);
const config = loadConfig({ ...process.env, NODE_ENV: 'test', DATABASE_URL: WRITER_DATABASE_URL });
const log = createLogger({ level: 'warn' });
const orm = await initOrm({ clientUrl: WRITER_DATABASE_URL!, log });
const services = await createServices(orm, config, log);
const operator = JSON.parse(WRITER_OPERATOR!);

const [{ last_seq: head }] = await orm.em
  .getConnection()
  .execute(`select last_seq from event_streams where stream = 'agents'`);
const first = Number(head) + 1; // only this loop writes to the stream from here on
const commitTimes: number[] = [];
const started = performance.now();
for (let i = 0; i < total; i++) {
  const due = started + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  // Updates of one agent serialise on its row lock anyway; awaiting keeps seq = first + i.
  await services.agents.update(orm.em.fork(), operator, WRITER_AGENT_ID!, { description: `tick ${i}` });
  commitTimes.push(performance.timeOrigin + performance.now()); // COMMIT acknowledged
}
const seconds = (performance.now() - started) / 1000;
process.send!({ type: 'written', first, commitTimes, achievedRate: total / seconds });
await orm.close();
process.exit(0);
