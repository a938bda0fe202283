// The clients of bench/debate.ts: one WebSocket per debate speaking graphql-transport-ws directly (a lean
// load generator, as in bench/llm-clients.ts) with the SDK's DebateEvents document, and the debate
// started over HTTP with the SDK's StartDebate document.
import { print } from 'graphql';
import WebSocket from 'ws';
import {
  DebateEventsDocument,
  StartDebateDocument,
  type DebateEventsSubscription,
} from '../src/sdk/generated/graphql.js';
import { execute } from './support/graphql.js';
import { now } from './support/metrics.js';

type DebateEvent = DebateEventsSubscription['debateEvents'];
const subscription = print(DebateEventsDocument);

export interface ReceivedEvent {
  at: number;
  seq: number;
  type: string;
  round: number | null;
  seat: number | null;
}

export interface WatchedDebate {
  index: number;
  id: string;
  /** Just before the startDebate request left; when its answer came. */
  startSentAt: number;
  startAnsweredAt: number;
  /** Stored events (everything but TURN_DELTA and TURN_RESTARTED), as received. */
  events: ReceivedEvent[];
  deltas: { at: number; text: string }[];
  restarts: number;
  turns: { round: number; seat: number; content: string; valid: boolean; repaired: boolean }[];
  concludedAt: number | null;
  conclusionReason: string | null;
  /** FAILED, CANCELLED or PAUSED, a GraphQL error, or the socket closing before CONCLUDED. */
  failure: string | null;
  /** Resolves when the debate concluded or failed. */
  settled: Promise<void>;
}

export interface DebateWatcher {
  debate: WatchedDebate;
  start(url: string, token: string): Promise<void>;
  close(): void;
}

/** Connects, subscribes to the debate's events, and resolves once the server acknowledged the connection. */
export function watchDebate(wsUrl: string, token: string, index: number, id: string): Promise<DebateWatcher> {
  let settle!: () => void;
  const debate: WatchedDebate = {
    index,
    id,
    startSentAt: Number.NaN,
    startAnsweredAt: Number.NaN,
    events: [],
    deltas: [],
    restarts: 0,
    turns: [],
    concludedAt: null,
    conclusionReason: null,
    failure: null,
    settled: new Promise<void>((resolve) => (settle = resolve)),
  };
  const fail = (failure: string) => {
    if (debate.concludedAt !== null || debate.failure !== null) return;
    debate.failure = failure;
    settle();
  };
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  let closing = false;

  const onEvent = (at: number, event: DebateEvent) => {
    if (event.type === 'TURN_DELTA') {
      debate.deltas.push({ at, text: event.delta ?? '' });
      return;
    }
    if (event.type === 'TURN_RESTARTED') {
      debate.restarts += 1;
      return;
    }
    debate.events.push({ at, seq: event.seq, type: event.type, round: event.round, seat: event.seat });
    if (event.type === 'TURN_COMPLETED' && event.turn) {
      const { round, seat, content, valid, repaired } = event.turn;
      debate.turns.push({ round, seat, content, valid, repaired });
    } else if (event.type === 'CONCLUDED') {
      debate.concludedAt = at;
      debate.conclusionReason = event.conclusionReason;
      settle();
    } else if (event.type === 'STATUS_CHANGED' && event.status !== 'RUNNING') {
      fail(`debate ${event.status}: ${event.reason ?? 'no reason given'}`);
    }
  };

  return new Promise<DebateWatcher>((resolve, reject) => {
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    );
    socket.on('message', (data: Buffer) => {
      const at = now();
      const message = JSON.parse(data.toString()) as {
        type: string;
        payload?: { data?: { debateEvents: DebateEvent }; errors?: unknown };
      };
      if (message.type === 'next') {
        if (message.payload?.errors) fail(`GraphQL errors: ${JSON.stringify(message.payload.errors)}`);
        else if (message.payload?.data) onEvent(at, message.payload.data.debateEvents);
      } else if (message.type === 'connection_ack') {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: subscription, variables: { debateId: id } },
          }),
        );
        resolve({
          debate,
          start: async (url, token) => {
            debate.startSentAt = now();
            await execute(url, StartDebateDocument, { id }, token);
            debate.startAnsweredAt = now();
          },
          close: () => {
            closing = true;
            socket.close(1000);
          },
        });
      } else if (message.type === 'ping') {
        socket.send('{"type":"pong"}');
      } else if (message.type === 'error') {
        fail(`subscription error: ${JSON.stringify(message.payload)}`);
      } else if (message.type === 'complete') {
        fail('the server completed the subscription');
      }
    });
    socket.on('close', (code, reason) => {
      if (!closing) fail(`socket closed: ${code} ${reason.toString()}`);
    });
    socket.on('error', (error) => {
      fail(`socket error: ${error.message}`);
      reject(error);
    });
  });
}
