// The clients of bench/llm.ts: one WebSocket per conversation speaking graphql-transport-ws directly (a
// lean load generator, as in bench/fanout-clients.ts) with the SDK's ConversationEvents document, and the
// message sent over HTTP with the SDK's SendMessage document.
import { print } from 'graphql';
import WebSocket from 'ws';
import {
  ConversationEventsDocument,
  SendMessageDocument,
  type ConversationEventsSubscription,
} from '../src/sdk/generated/graphql.js';
import { benchMessage } from './llm-shared.js';
import { now } from './support/metrics.js';
import { execute } from './support/graphql.js';

type ConversationEvent = ConversationEventsSubscription['conversationEvents'];
const subscription = print(ConversationEventsDocument);

export interface Conversation {
  index: number;
  id: string;
  /** Just before the sendMessage request left; when its answer came. */
  sentAt: number;
  sendAnsweredAt: number;
  deltas: { at: number; text: string }[];
  restarts: number;
  completedAt: number | null;
  content: string | null;
  /** REPLY_FAILED, a GraphQL error, or the socket closing before the reply was complete. */
  failure: string | null;
  /** Resolves when the reply completed or failed. */
  settled: Promise<void>;
}

export interface Watcher {
  conversation: Conversation;
  send(url: string, token: string): Promise<void>;
  close(): void;
}

/** Connects, subscribes to the conversation's events, and resolves once the server acknowledged the connection. */
export function watch(wsUrl: string, token: string, index: number, id: string): Promise<Watcher> {
  let settle!: () => void;
  const conversation: Conversation = {
    index,
    id,
    sentAt: Number.NaN,
    sendAnsweredAt: Number.NaN,
    deltas: [],
    restarts: 0,
    completedAt: null,
    content: null,
    failure: null,
    settled: new Promise<void>((resolve) => (settle = resolve)),
  };
  const fail = (failure: string) => {
    if (conversation.completedAt !== null || conversation.failure !== null) return;
    conversation.failure = failure;
    settle();
  };
  const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
  let closing = false;

  const onEvent = (at: number, event: ConversationEvent) => {
    switch (event.type) {
      case 'REPLY_DELTA':
        conversation.deltas.push({ at, text: event.delta ?? '' });
        break;
      case 'REPLY_RESTARTED':
        conversation.restarts += 1;
        conversation.deltas = [];
        break;
      case 'REPLY_COMPLETED':
        conversation.completedAt = at;
        conversation.content = event.message?.content ?? '';
        settle();
        break;
      case 'REPLY_FAILED':
        fail(`REPLY_FAILED: ${event.message?.error ?? 'no error given'}`);
        break;
    }
  };

  return new Promise<Watcher>((resolve, reject) => {
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    );
    socket.on('message', (data: Buffer) => {
      const at = now();
      const message = JSON.parse(data.toString()) as {
        type: string;
        payload?: { data?: { conversationEvents: ConversationEvent }; errors?: unknown };
      };
      if (message.type === 'next') {
        if (message.payload?.errors) fail(`GraphQL errors: ${JSON.stringify(message.payload.errors)}`);
        else if (message.payload?.data) onEvent(at, message.payload.data.conversationEvents);
      } else if (message.type === 'connection_ack') {
        socket.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: subscription, variables: { conversationId: id } },
          }),
        );
        resolve({
          conversation,
          send: async (url, token) => {
            conversation.sentAt = now();
            await execute(
              url,
              SendMessageDocument,
              { conversationId: id, content: benchMessage(index) },
              token,
            );
            conversation.sendAnsweredAt = now();
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
