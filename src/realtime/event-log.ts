import type { EntityManager } from '@mikro-orm/postgresql';
import { currentCorrelationId } from '../observability/correlation.js';

export const EVENTS_CHANNEL = 'parley_events';
/** New durable jobs: the payload is the job kind (see jobs/job-queue.ts). */
export const JOBS_CHANNEL = 'parley_jobs';
/** Ephemeral events (token deltas): the body rides in the NOTIFY, is never stored and never replayed. */
export const EPHEMERAL_CHANNEL = 'parley_ephemeral';
/** NOTIFY payloads stop at 8000 bytes; deltas are coalesced well below that. */
export const EPHEMERAL_MAX_BYTES = 7_000;

export interface StoredEvent<P = Record<string, unknown>> {
  stream: string;
  /** For ephemeral events: the seq of the last stored event before it (they do not advance the stream). */
  seq: number;
  ephemeral?: boolean;
  type: string;
  entityId: string | null;
  payload: P;
  correlationId: string | null;
  createdAt: Date;
}

export interface NewEvent {
  stream: string;
  type: string;
  entityId?: string;
  payload: Record<string, unknown>;
}

interface EventRow {
  stream: string;
  seq: string;
  type: string;
  entity_id: string | null;
  payload: Record<string, unknown>;
  correlation_id: string | null;
  created_at: Date | string;
}

const columns = 'stream, seq, type, entity_id, payload, correlation_id, created_at';

export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    stream: row.stream,
    seq: Number(row.seq),
    type: row.type,
    entityId: row.entity_id,
    payload: row.payload,
    correlationId: row.correlation_id,
    createdAt: new Date(row.created_at),
  };
}

/**
 * Appends an event inside the caller's transaction (`em` must be transactional) and rings the doorbell:
 * NOTIFY carries only `stream:seq`, never the body, and is delivered at commit, in commit order.
 */
export async function appendEvent(em: EntityManager, event: NewEvent): Promise<number> {
  if (!em.isInTransaction())
    throw new Error('appendEvent must run inside the transaction that makes the change');
  const rows: { seq: string }[] = await em.execute(
    `with head as (
       insert into event_streams (stream, last_seq) values (?, 1)
       on conflict (stream) do update set last_seq = event_streams.last_seq + 1
       returning last_seq
     ), stored as (
       insert into events (stream, seq, type, entity_id, payload, correlation_id)
       select ?, last_seq, ?, ?, ?::jsonb, ? from head
       returning seq
     )
     select seq, pg_notify('${EVENTS_CHANNEL}', ? || ':' || seq) from stored`,
    [
      event.stream,
      event.stream,
      event.type,
      event.entityId ?? null,
      JSON.stringify(event.payload),
      currentCorrelationId() ?? null,
      event.stream,
    ],
  );
  return Number(rows[0]!.seq);
}

export interface EventReader {
  execute<T>(sql: string, params: unknown[]): Promise<T[]>;
}

export async function readEvents(
  reader: EventReader,
  stream: string,
  afterSeq: number,
  limit: number,
): Promise<StoredEvent[]> {
  const rows = await reader.execute<EventRow>(
    `select ${columns} from events where stream = ? and seq > ? order by seq limit ?`,
    [stream, afterSeq, limit],
  );
  return rows.map(toStoredEvent);
}

export interface StreamHead {
  lastSeq: number;
  prunedThrough: number;
}

export async function readHead(reader: EventReader, stream: string): Promise<StreamHead> {
  const rows = await reader.execute<{ last_seq: string; pruned_through: string }>(
    'select last_seq, pruned_through from event_streams where stream = ?',
    [stream],
  );
  const row = rows[0];
  return row
    ? { lastSeq: Number(row.last_seq), prunedThrough: Number(row.pruned_through) }
    : { lastSeq: 0, prunedThrough: 0 };
}

export interface EphemeralEvent {
  stream: string;
  type: string;
  entityId?: string;
  payload: Record<string, unknown>;
}

/**
 * Ephemeral events (token deltas) leave this process in batches: everything queued while the previous
 * batch was in flight goes out in one statement, in the order it was queued. Under load that is one
 * round trip per batch instead of one per delta per reply (and a busy database makes batches bigger,
 * not queues longer); idle, an event waits only for the current tick.
 */
export class EphemeralPublisher {
  private queue: { body: string; done: () => void }[] = [];
  private flushing = false;

  constructor(
    private readonly reader: EventReader,
    private readonly onError: (err: unknown, events: number) => void,
  ) {}

  /** Resolves once the event has been handed to Postgres (or dropped after an error, which is reported). */
  publish(event: EphemeralEvent): Promise<void> {
    const body = JSON.stringify(event);
    if (Buffer.byteLength(body) > EPHEMERAL_MAX_BYTES)
      return Promise.reject(new Error('ephemeral event too large for NOTIFY'));
    return new Promise((resolve) => {
      this.queue.push({ body, done: resolve });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.reader.execute(
          `select pg_notify('${EPHEMERAL_CHANNEL}', body)
             from json_array_elements_text(?::json) with ordinality as batch(body, n) order by n`,
          // One JSON array parameter: knex would spread a JS array into a list of parameters.
          [JSON.stringify(batch.map((event) => event.body))],
        );
      } catch (err) {
        this.onError(err, batch.length); // live-only events: a lost batch is a gap in a live view, nothing more
      }
      for (const event of batch) event.done();
    }
    this.flushing = false;
  }
}
