import type { Socket } from 'node:net';
import { GRAPHQL_TRANSPORT_WS_PROTOCOL, MessageType } from 'graphql-ws';
import WebSocket from 'ws';

/** One graphql-transport-ws message as it travels (the fields tests look at). */
export interface WireMessage {
  type: string;
  id?: string;
  payload?: unknown;
}

export interface CloseEvent {
  code: number;
  reason: string;
}

/**
 * A WebSocket that speaks graphql-transport-ws by hand, for what the graphql-ws client would hide or
 * refuse to send: malformed frames, protocol violations, a reader that stops reading. It records every
 * frame the server sends and how the server closed the socket.
 */
export class RawWsClient {
  readonly socket: WebSocket;
  readonly messages: WireMessage[] = [];
  /** Frames that were not JSON (the server should never send one). */
  readonly unparsable: string[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<CloseEvent>;
  private readonly listeners = new Set<() => void>();
  private closeEvent: CloseEvent | undefined;

  constructor(url: string) {
    this.socket = new WebSocket(url, GRAPHQL_TRANSPORT_WS_PROTOCOL);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
    this.opened.catch(() => undefined); // a test that never awaits it must not see an unhandled rejection
    this.closed = new Promise((resolve) =>
      this.socket.once('close', (code, reason) => {
        this.closeEvent = { code, reason: reason.toString() };
        resolve(this.closeEvent);
        this.notify();
      }),
    );
    this.socket.on('message', (data) => {
      const text = String(data);
      try {
        this.messages.push(JSON.parse(text) as WireMessage);
      } catch {
        this.unparsable.push(text);
      }
      this.notify();
    });
  }

  /** Sends a message object, or any string as it is (to send malformed frames). */
  send(message: WireMessage | string): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Opens the connection as a client would: `connection_init` (with the token), then waits for the ack. */
  async init(token?: string): Promise<void> {
    await this.opened;
    this.send({
      type: MessageType.ConnectionInit,
      payload: token ? { authorization: `Bearer ${token}` } : {},
    });
    await this.waitFor((message) => message.type === MessageType.ConnectionAck, 'connection_ack');
  }

  /** Sends the messages in one write, so the server reads them together (before it can answer the first). */
  sendTogether(messages: WireMessage[]): void {
    const raw = (this.socket as unknown as { _socket: Socket })._socket;
    raw.cork();
    for (const message of messages) this.send(message);
    raw.uncork();
  }

  subscribe(id: string, query: string, variables: Record<string, unknown> = {}): void {
    this.send({ id, type: MessageType.Subscribe, payload: { query, variables } });
  }

  /** The `next` payloads the server sent for one operation, in order. */
  nexts<TData>(id: string): { data?: TData; errors?: unknown[] }[] {
    return this.messages
      .filter((message) => message.id === id && message.type === MessageType.Next)
      .map((message) => message.payload as { data?: TData; errors?: unknown[] });
  }

  /** Resolves with the first message passing `predicate` (already received or still to come). */
  waitFor(
    predicate: (message: WireMessage) => boolean,
    what: string,
    timeoutMs = 5_000,
  ): Promise<WireMessage> {
    return this.until(() => this.messages.find(predicate), what, timeoutMs);
  }

  /** Resolves once `probe` returns a value; rejects when the socket closes first or time runs out. */
  until<T>(probe: () => T | undefined, what: string, timeoutMs = 5_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`no ${what} within ${timeoutMs} ms; got ${this.describe()}`));
      }, timeoutMs);
      const check = () => {
        const value = probe();
        if (value === undefined && !this.closeEvent) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        if (value !== undefined) resolve(value);
        else reject(new Error(`socket closed before ${what}: ${this.describe()}`));
      };
      this.listeners.add(check);
      check();
    });
  }

  /** The close the server made, or a clear failure if the socket is still open after `timeoutMs`. */
  closedWithin(timeoutMs: number): Promise<CloseEvent> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`socket still open after ${timeoutMs} ms; got ${this.describe()}`)),
        timeoutMs,
      );
    });
    return Promise.race([this.closed, timeout]).finally(() => clearTimeout(timer));
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  dispose(): void {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.terminate();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private describe(): string {
    const types = this.messages
      .slice(-5)
      .map((message) => `${message.type}${message.id ? `(${message.id})` : ''}`);
    const close = this.closeEvent ? `closed ${this.closeEvent.code} ${this.closeEvent.reason}` : 'open';
    return `${this.messages.length} messages [… ${types.join(', ')}], ${close}`;
  }
}
