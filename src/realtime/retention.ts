import type { Logger } from '../observability/logger.js';
import type { EventReader } from './event-log.js';

/**
 * Removes events older than the retention age. Per stream it cuts at one seq (the newest event older
 * than the cutoff) and deletes everything up to it, so what stays is always a contiguous tail and
 * `event_streams.pruned_through` tells a resuming client exactly where history starts.
 * One replica prunes at a time (transaction-scoped advisory lock).
 */
export class EventRetention {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: EventReader & { transaction<T>(work: (tx: EventReader) => Promise<T>): Promise<T> },
    private readonly retentionHours: number,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.pruneOnce().catch((err: unknown) => this.log.warn({ err }, 'event retention failed'));
    }, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Returns how many events were removed (0 when another replica holds the lock). */
  async pruneOnce(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const [lock] = await tx.execute<{ locked: boolean }>(
        `select pg_try_advisory_xact_lock(hashtext('parley.event_retention')) as locked`,
        [],
      );
      if (!lock?.locked) return 0;
      const rows = await tx.execute<{ removed: string }>(
        `with cut as (
           select stream, max(seq) as seq from events
            where created_at < now() - make_interval(hours => ?)
            group by stream
         ), removed as (
           delete from events e using cut where e.stream = cut.stream and e.seq <= cut.seq
           returning e.stream
         ), marked as (
           update event_streams s set pruned_through = greatest(s.pruned_through, cut.seq)
             from cut where s.stream = cut.stream
         )
         select count(*) as removed from removed`,
        [this.retentionHours],
      );
      const removed = Number(rows[0]?.removed ?? 0);
      if (removed > 0) this.log.info({ removed, retentionHours: this.retentionHours }, 'pruned old events');
      return removed;
    });
  }
}
