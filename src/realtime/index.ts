import type { MikroORM } from '@mikro-orm/postgresql';
import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { EphemeralPublisher, type EventReader } from './event-log.js';
import { EventHub } from './event-hub.js';
import { EventListener } from './listener.js';
import { EventRetention } from './retention.js';

export { appendEvent, type StoredEvent } from './event-log.js';
export type { EventHub } from './event-hub.js';

export interface Realtime {
  hub: EventHub;
  /** Reads on the ORM pool. */
  reader: EventReader;
  /** Live-only events (token deltas), batched: see `EphemeralPublisher`. */
  ephemeral: EphemeralPublisher;
  listener: EventListener;
  retention: EventRetention;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The event log's read side for this process: one LISTEN connection, one hub, the retention timer. */
export function createRealtime(orm: MikroORM, config: Config, log: Logger, metrics?: Metrics): Realtime {
  const reader: EventReader = {
    execute: (sql, params) => orm.em.getConnection().execute(sql, params as never[]),
  };
  const listener = new EventListener(config.databaseUrl!, log.child({ component: 'event-listener' }));
  const hub = new EventHub(reader, listener, log.child({ component: 'event-hub' }), metrics);
  const retention = new EventRetention(
    {
      ...reader,
      transaction: (work) =>
        orm.em
          .fork()
          .transactional((em) => work({ execute: (sql, params) => em.execute(sql, params as never[]) })),
    },
    config.realtime.retentionHours,
    config.realtime.pruneIntervalMs,
    log.child({ component: 'event-retention' }),
  );
  const ephemeral = new EphemeralPublisher(reader, (err, events) =>
    log.warn({ err, events }, 'could not publish live events'),
  );
  return {
    hub,
    reader,
    ephemeral,
    listener,
    retention,
    start: async () => {
      await listener.start();
      retention.start();
    },
    stop: async () => {
      retention.stop();
      await listener.stop();
    },
  };
}
