// Child process of bench/fanout.ts: N subscribers on the agents stream, each its own WebSocket speaking
// the graphql-transport-ws protocol directly (a lean load generator, so that what is measured is the
// server, not a heavy client library), each recording when every event arrived.
import WebSocket from 'ws';
import { percentile } from './support/harness.js';

const url = process.env.FANOUT_URL!;
const token = process.env.FANOUT_TOKEN!;
const count = Number(process.env.FANOUT_SUBSCRIBERS);
const query = `subscription { agentEvents { seq type agentId occurredAt agent { id name model status owner { email } } } }`;
const now = () => performance.timeOrigin + performance.now();

interface Subscriber {
  seqs: number[];
  receivedAt: number[];
}
const subscribers: Subscriber[] = [];
const sockets: WebSocket[] = [];
let closedUnexpectedly = 0;
let stopping = false;

function open(): Promise<void> {
  return new Promise((resolve, reject) => {
    const subscriber: Subscriber = { seqs: [], receivedAt: [] };
    subscribers.push(subscriber);
    const socket = new WebSocket(url, 'graphql-transport-ws');
    sockets.push(socket);
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    );
    socket.on('message', (data: Buffer) => {
      const at = now();
      const message = JSON.parse(data.toString()) as {
        type: string;
        payload?: { data?: { agentEvents: { seq: number } } };
      };
      if (message.type === 'next') {
        const seq = message.payload?.data?.agentEvents.seq;
        if (seq !== undefined) {
          subscriber.seqs.push(seq);
          subscriber.receivedAt.push(at);
        }
      } else if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
        resolve();
      } else if (message.type === 'ping') {
        socket.send('{"type":"pong"}');
      } else if (message.type === 'error') {
        reject(new Error(JSON.stringify(message.payload)));
      }
    });
    socket.on('close', () => {
      if (!stopping) closedUnexpectedly += 1;
    });
    socket.on('error', reject);
  });
}

process.on('message', (message: { type: string; first?: number; commitTimes?: number[] }) => {
  if (message.type === 'report') {
    const first = message.first!;
    const commitTimes = message.commitTimes!;
    const last = first + commitTimes.length - 1;
    const latencies: number[] = [];
    let lost = 0;
    let duplicated = 0;
    let outOfOrder = 0;
    for (const subscriber of subscribers) {
      const seen = new Set<number>();
      subscriber.seqs.forEach((seq, index) => {
        if (seen.has(seq)) duplicated += 1;
        seen.add(seq);
        if (index > 0 && seq <= subscriber.seqs[index - 1]!) outOfOrder += 1;
        if (seq >= first && seq <= last)
          latencies.push(subscriber.receivedAt[index]! - commitTimes[seq - first]!);
      });
      for (let seq = first; seq <= last; seq++) if (!seen.has(seq)) lost += 1;
    }
    latencies.sort((a, b) => a - b);
    process.send!({
      type: 'report',
      received: latencies.length,
      lost,
      duplicated,
      outOfOrder,
      closedUnexpectedly,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? Number.NaN,
    });
  } else if (message.type === 'stop') {
    stopping = true;
    for (const socket of sockets) socket.close(1000);
    setTimeout(() => process.exit(0), 500);
  }
});

const batch = 250;
for (let start = 0; start < count; start += batch) {
  await Promise.all(Array.from({ length: Math.min(batch, count - start) }, () => open()));
}
process.send!({ type: 'connected' });
