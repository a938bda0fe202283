import { ValidationError } from '../common/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { Channel } from './channel.js';
import { readEvents, readHead, type EventReader, type StoredEvent } from './event-log.js';
import type { EventListener } from './listener.js';

export interface SubscribeOptions {
  /** Replay stored events after this seq, then continue live. Omitted: live from now. */
  afterSeq?: number | null;
  /** Only events passing this are delivered (the cursor still advances past the others). */
  filter?: (event: StoredEvent) => boolean;
}

interface Subscriber {
  channel: Channel<StoredEvent>;
  lastSeq: number;
  replaying: boolean;
  buffer: StoredEvent[];
  filter?: (event: StoredEvent) => boolean;
}

interface StreamState {
  /** Highest seq this process has read and fanned out. */
  fetchedSeq: number;
  /** Highest seq a notification announced. */
  targetSeq: number;
  fetching: boolean;
  /** When the first NOTIFY not yet served arrived (performance.now()), for the fan-out metric. */
  notifiedAt?: number;
  ready: Promise<void>;
  subscribers: Set<Subscriber>;
  retry?: NodeJS.Timeout;
}

const FETCH_PAGE = 1_000;
const REPLAY_PAGE = 500;
const REPLAY_HIGH_WATER = 2_000;
/** A replay that cannot send for this long means the client stopped reading. */
const REPLAY_STALL_MS = 5_000;

/**
 * Fans the event log out to this process's subscribers. Each stream with local subscribers is read once
 * per process, in seq order, from the last seq read (so a missed notification is never a missed event);
 * streams nobody here watches are ignored. Subscribers never query per event.
 */
export class EventHub {
  private readonly streams = new Map<string, StreamState>();

  constructor(
    private readonly reader: EventReader,
    private readonly listener: EventListener,
    private readonly log: Logger,
    private readonly metrics?: Metrics,
  ) {
    listener.on('notification', (stream, seq) => this.announce(stream, seq));
    listener.on('ephemeral', (event) => this.deliverEphemeral(event));
    // Whatever was committed while the listener was away is in the table: read it.
    listener.on('listening', (reconnected) => {
      if (reconnected) for (const stream of this.streams.keys()) this.pull(stream);
    });
  }

  /** Subscribers per stream, for metrics and tests. */
  get subscriberCount(): number {
    let count = 0;
    for (const state of this.streams.values()) count += state.subscribers.size;
    return count;
  }

  /** Subscribers per stream, and how many of them are GraphQL subscriptions (metrics, at scrape time). */
  subscriberCounts(): { stream: string; all: number; graphql: number }[] {
    return [...this.streams].map(([stream, { subscribers }]) => {
      let graphql = 0;
      for (const subscriber of subscribers) if (subscriber.channel.graphql) graphql += 1;
      return { stream, all: subscribers.size, graphql };
    });
  }

  async subscribe(
    stream: string,
    options: SubscribeOptions = {},
  ): Promise<AsyncIterableIterator<StoredEvent>> {
    const afterSeq = options.afterSeq ?? undefined;
    if (afterSeq !== undefined) await this.checkCursor(stream, afterSeq);
    const state = await this.ensureStream(stream);

    const subscriber: Subscriber = {
      channel: new Channel<StoredEvent>(() => this.remove(stream, subscriber)),
      lastSeq: afterSeq ?? state.fetchedSeq,
      replaying: afterSeq !== undefined,
      buffer: [],
      filter: options.filter,
    };
    state.subscribers.add(subscriber);
    if (subscriber.replaying) {
      this.replay(stream, subscriber).catch((error: Error) => {
        this.log.error({ err: error, stream }, 'replay failed');
        subscriber.channel.fail(error);
      });
    }
    return subscriber.channel;
  }

  private async checkCursor(stream: string, afterSeq: number): Promise<void> {
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
      throw ValidationError.field('afterSeq', 'must be a whole number of at least 0');
    }
    const head = await readHead(this.reader, stream);
    if (afterSeq > head.lastSeq) {
      throw new ValidationError([
        { field: 'afterSeq', message: `is ahead of the stream: its last event is ${head.lastSeq}` },
      ]);
    }
    if (afterSeq < head.prunedThrough) {
      throw new ValidationError([
        {
          field: 'afterSeq',
          message: `points to pruned events: the oldest event kept is ${head.prunedThrough + 1}; resubscribe without afterSeq`,
        },
      ]);
    }
  }

  /**
   * A replay can wait for the client (live events cannot), so it never fills the socket; a client that
   * stops reading altogether is handed to the consumer's `stalled` (the WebSocket closes it).
   */
  private async waitForRoom(subscriber: Subscriber): Promise<boolean> {
    const since = Date.now();
    while (subscriber.channel.backedUp(REPLAY_HIGH_WATER)) {
      if (Date.now() - since > REPLAY_STALL_MS) {
        subscriber.channel.stalled();
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return true;
  }

  /** Stored events after the cursor, page by page, then the live buffer. */
  private async replay(stream: string, subscriber: Subscriber): Promise<void> {
    for (;;) {
      if (!(await this.waitForRoom(subscriber))) return;
      const page = await readEvents(this.reader, stream, subscriber.lastSeq, REPLAY_PAGE);
      for (const event of page) {
        if (!(await this.waitForRoom(subscriber))) return;
        this.send(subscriber, event);
      }
      if (page.length < REPLAY_PAGE) break;
    }
    for (const event of subscriber.buffer) this.send(subscriber, event);
    subscriber.buffer = [];
    subscriber.replaying = false;
  }

  /** Ephemeral events go to live subscribers only: never buffered, replayed or counted in the cursor. */
  private deliverEphemeral(event: {
    stream: string;
    type: string;
    entityId?: string;
    payload: Record<string, unknown>;
  }) {
    const state = this.streams.get(event.stream);
    if (!state) return;
    const shared: StoredEvent = {
      stream: event.stream,
      seq: state.fetchedSeq,
      ephemeral: true,
      type: event.type,
      entityId: event.entityId ?? null,
      payload: event.payload,
      correlationId: null,
      createdAt: new Date(),
    };
    for (const subscriber of state.subscribers) {
      if (!subscriber.replaying && (!subscriber.filter || subscriber.filter(shared)))
        subscriber.channel.push(shared);
    }
  }

  private send(subscriber: Subscriber, event: StoredEvent): void {
    if (event.seq <= subscriber.lastSeq) return; // seen in the replay already
    subscriber.lastSeq = event.seq;
    if (!subscriber.filter || subscriber.filter(event)) subscriber.channel.push(event);
  }

  private ensureStream(stream: string): Promise<StreamState> {
    const existing = this.streams.get(stream);
    if (existing) return existing.ready.then(() => existing);
    const state: StreamState = {
      fetchedSeq: 0,
      targetSeq: 0,
      fetching: false,
      subscribers: new Set(),
      ready: Promise.resolve(),
    };
    state.ready = readHead(this.reader, stream).then(
      (head) => {
        state.fetchedSeq = head.lastSeq;
        if (state.targetSeq > state.fetchedSeq) this.pull(stream);
      },
      (error: unknown) => {
        this.streams.delete(stream);
        throw error;
      },
    );
    this.streams.set(stream, state);
    return state.ready.then(() => state);
  }

  private remove(stream: string, subscriber: Subscriber): void {
    const state = this.streams.get(stream);
    if (!state) return;
    state.subscribers.delete(subscriber);
    if (state.subscribers.size === 0) {
      clearTimeout(state.retry);
      this.streams.delete(stream);
    }
  }

  private announce(stream: string, seq: number): void {
    const state = this.streams.get(stream);
    if (!state) return; // nobody here watches it
    if (seq > state.targetSeq) state.targetSeq = seq;
    if (seq <= state.fetchedSeq) return;
    state.notifiedAt ??= performance.now();
    void state.ready.then(() => this.pull(stream));
  }

  /** Reads everything after `fetchedSeq` and fans it out; one reader per stream at a time. */
  private pull(stream: string): void {
    const state = this.streams.get(stream);
    if (!state || state.fetching) return;
    state.fetching = true;
    void (async () => {
      let failed = false;
      try {
        let announced = 0;
        for (;;) {
          announced = state.targetSeq;
          const notifiedAt = state.notifiedAt;
          state.notifiedAt = undefined;
          const events = await readEvents(this.reader, stream, state.fetchedSeq, FETCH_PAGE);
          for (const event of events) {
            state.fetchedSeq = event.seq;
            for (const subscriber of state.subscribers) {
              if (subscriber.replaying) subscriber.buffer.push(event);
              else this.send(subscriber, event);
            }
            this.metrics?.fannedOut(stream, event.createdAt, notifiedAt);
          }
          if (events.length < FETCH_PAGE) break;
        }
        // Announced before our last read yet not there: cannot happen with commit-time NOTIFY; never spin on it.
        if (announced > state.fetchedSeq && state.targetSeq === announced) state.targetSeq = state.fetchedSeq;
      } catch (error) {
        // The database is away: try again shortly; the listener's reconnect also triggers a pull.
        failed = true;
        this.log.warn({ err: error, stream }, 'reading new events failed; retrying');
        clearTimeout(state.retry);
        state.retry = setTimeout(() => {
          state.retry = undefined;
          this.pull(stream);
        }, 1_000);
      } finally {
        state.fetching = false;
      }
      // A notification that came in while we were reading may announce more.
      if (!failed && state.targetSeq > state.fetchedSeq && this.streams.get(stream) === state)
        this.pull(stream);
    })();
  }
}
