import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Logger } from '../observability/logger.js';
import { EPHEMERAL_CHANNEL, EVENTS_CHANNEL, JOBS_CHANNEL } from './event-log.js';

export type ListenerState = 'connecting' | 'listening' | 'reconnecting' | 'stopped';

export interface ListenerEvents {
  notification: [stream: string, seq: number];
  ephemeral: [event: { stream: string; type: string; entityId?: string; payload: Record<string, unknown> }];
  /** A job was enqueued somewhere (payload: its kind). */
  job: [kind: string];
  /** After a (re)connect: anything committed while we were away must be read from the table. */
  listening: [reconnected: boolean];
}

/**
 * The process's one dedicated LISTEN connection (events, ephemeral events and the jobs doorbell) (outside the ORM pool: a pooled connection would be
 * handed to other queries and its LISTEN lost). It reconnects with capped exponential backoff and
 * jitter, and says when it is listening again so the hub can catch up from the table.
 */
export class EventListener extends EventEmitter<ListenerEvents> {
  private client: pg.Client | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private connectedOnce = false;
  state: ListenerState = 'connecting';
  lastError: string | undefined;
  reconnects = 0;

  constructor(
    private readonly connectionString: string,
    private readonly log: Logger,
    private readonly backoff = { initialMs: 100, maxMs: 5_000 },
  ) {
    super();
  }

  /** Resolves once listening for the first time (or rejects if the first connect fails). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, keepAlive: true });
    this.client = client;
    client.on('notification', (message) => {
      if (message.channel === JOBS_CHANNEL) {
        this.emit('job', message.payload ?? '');
        return;
      }
      if (message.channel === EPHEMERAL_CHANNEL && message.payload) {
        try {
          this.emit('ephemeral', JSON.parse(message.payload));
        } catch (err) {
          this.log.warn({ err }, 'ignoring a malformed ephemeral event');
        }
        return;
      }
      if (message.channel !== EVENTS_CHANNEL || !message.payload) return;
      const separator = message.payload.lastIndexOf(':');
      const seq = Number(message.payload.slice(separator + 1));
      if (separator > 0 && Number.isSafeInteger(seq))
        this.emit('notification', message.payload.slice(0, separator), seq);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    await client.connect();
    await client.query(`listen ${EVENTS_CHANNEL}; listen ${EPHEMERAL_CHANNEL}; listen ${JOBS_CHANNEL}`);
    if (this.client !== client) return; // stopped meanwhile
    const reconnected = this.connectedOnce;
    this.connectedOnce = true;
    this.attempt = 0;
    this.state = 'listening';
    this.lastError = undefined;
    if (reconnected) this.log.info({ reconnects: this.reconnects }, 'event listener is listening again');
    this.emit('listening', reconnected);
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.client !== client || this.state === 'stopped') return;
    this.client = undefined;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    this.state = 'reconnecting';
    this.lastError = error.message;
    this.log.warn({ err: error }, 'event listener lost its connection; reconnecting');
    this.schedule();
  }

  private schedule(): void {
    const ceiling = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** this.attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempt += 1;
    this.timer = setTimeout(() => {
      this.reconnects += 1;
      this.connect().catch((error: Error) => {
        const failed = this.client;
        this.client = undefined;
        failed?.end().catch(() => undefined);
        if (this.state === 'stopped') return;
        this.lastError = error.message;
        this.schedule();
      });
    }, delay);
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
