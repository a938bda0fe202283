import type { Logger } from '../observability/logger.js';
import type { EventHub } from './event-hub.js';
import type { EphemeralPublisher } from './event-log.js';

/**
 * Live output of something being generated (a reply, a debate turn): ephemeral events on its stream,
 * in order (the process's one publisher sends batches one after another: two NOTIFYs in flight on
 * different pool connections could arrive in either order), with text deltas coalesced every `flushMs`
 * and never more than one delta of this output waiting for the database.
 */
export class LiveOutput {
  private chain: Promise<void> = Promise.resolve();
  private pending = '';
  private inFlight = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly options: {
      publisher: EphemeralPublisher;
      stream: string;
      deltaType: string;
      /** Added to every event's payload (which reply, which turn). */
      context: Record<string, unknown>;
      log: Logger;
      flushMs?: number;
    },
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 50);
  }

  /** Queues text for the next delta. */
  write(text: string): void {
    this.pending += text;
  }

  /** Drops unsent text and tells subscribers to drop what they have (e.g. `REPLY_RESTARTED`). */
  restart(type: string): Promise<void> {
    this.pending = '';
    return this.publish(type, {});
  }

  /** Publishes what is pending; resolves when everything queued so far is out. */
  flush(): Promise<void> {
    if (!this.pending) return this.chain;
    // While the last delta still waits for the database, more text joins the next one instead of queueing.
    if (this.inFlight) return this.chain.then(() => this.flush());
    const delta = this.pending;
    this.pending = '';
    return this.publish(this.options.deltaType, { delta });
  }

  /** Flushes and stops the timer. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private publish(type: string, payload: Record<string, unknown>): Promise<void> {
    const { publisher, stream, context, log } = this.options;
    this.inFlight += 1;
    this.chain = publisher
      .publish({ stream, type, payload: { ...context, ...payload } })
      .catch((err: unknown) => log.warn({ err, type, stream }, 'could not publish a live event'))
      .finally(() => void (this.inFlight -= 1));
    return this.chain;
  }
}

/**
 * Aborts when an event on `stream` matching `stops` arrives, replayed from `afterSeq` (when the work
 * was queued) so a stop sent before the worker started listening still counts. Close with `dispose`.
 */
export async function watchForStop(
  hub: EventHub,
  stream: string,
  options: {
    afterSeq: number | undefined;
    stops: (event: { type: string; payload: Record<string, unknown> }) => string | undefined;
    signal: AbortSignal;
  },
): Promise<{ signal: AbortSignal; dispose(): Promise<void> }> {
  const controller = new AbortController();
  options.signal.addEventListener('abort', () => controller.abort(options.signal.reason), { once: true });
  const filter = (event: { type: string; payload: Record<string, unknown> }) =>
    options.stops(event) !== undefined;
  const events = await hub
    .subscribe(stream, { afterSeq: options.afterSeq, filter })
    .catch(() => hub.subscribe(stream, { filter })); // that history was pruned: listen from now
  void (async () => {
    for await (const event of events) controller.abort(new Error(options.stops(event)));
  })();
  return { signal: controller.signal, dispose: async () => void (await events.return?.()) };
}
