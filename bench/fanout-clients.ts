// Child process of bench/fanout.ts: N graphql-ws subscribers on the agents stream. Kept out of the
// server's process so the server's RSS and event loop are its own.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { percentile } from './support/harness.js';

const url = process.env.FANOUT_URL!;
const token = process.env.FANOUT_TOKEN!;
const count = Number(process.env.FANOUT_SUBSCRIBERS);
const query = `subscription { agentEvents { seq type agentId occurredAt agent { id name model status owner { email } } } }`;

interface Tally {
  seqs: number[];
}
const tallies: Tally[] = [];
const latencies: number[] = [];
let closedUnexpectedly = 0;
const now = () => performance.timeOrigin + performance.now();

async function open(index: number): Promise<void> {
  const tally: Tally = { seqs: [] };
  tallies[index] = tally;
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${token}` },
    on: { closed: () => (closedUnexpectedly += stopping ? 0 : 1) },
  });
  await new Promise<void>((resolve, reject) => {
    client.on('connected', () => resolve());
    client.on('error', reject);
  });
  client.subscribe<{ agentEvents: { seq: number; occurredAt: string } }>(
    { query },
    {
      next: ({ data }) => {
        if (!data) return;
        tally.seqs.push(data.agentEvents.seq);
        latencies.push(now() - Date.parse(data.agentEvents.occurredAt));
      },
      error: () => (closedUnexpectedly += 1),
      complete: () => undefined,
    },
  );
  clients.push(client);
}

const clients: ReturnType<typeof createClient>[] = [];
let stopping = false;

process.on('message', (message: { type: string; first?: number; last?: number }) => {
  if (message.type === 'report') {
    const { first = 0, last = 0 } = message;
    const expected = last - first + 1;
    let lost = 0;
    let duplicated = 0;
    let outOfOrder = 0;
    for (const tally of tallies) {
      const seen = new Set(tally.seqs);
      duplicated += tally.seqs.length - seen.size;
      for (let seq = first; seq <= last; seq++) if (!seen.has(seq)) lost += 1;
      for (let i = 1; i < tally.seqs.length; i++) if (tally.seqs[i]! <= tally.seqs[i - 1]!) outOfOrder += 1;
    }
    latencies.sort((a, b) => a - b);
    process.send!({
      type: 'report',
      expectedPerSubscriber: expected,
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
    for (const client of clients) void client.dispose();
    setTimeout(() => process.exit(0), 500);
  }
});

const batch = 250;
for (let start = 0; start < count; start += batch) {
  await Promise.all(Array.from({ length: Math.min(batch, count - start) }, (_, i) => open(start + i)));
}
process.send!({ type: 'connected' });
