// Child process of bench/llm.ts: the fake Ollama (src/testing/fake-ollama.ts) at a set pace, in a process
// of its own, recording when each request arrived and when each token and the final line were written.
// The fake itself records only request arrivals (as Dates), so this process wraps node:http (it serves
// nothing else) to timestamp, on the same clock as the other processes, every NDJSON line it writes.
import http from 'node:http';
import { startFakeOllama } from '../src/testing/fake-ollama.js';
import {
  conversationOfMessage,
  cpuPercent,
  now,
  replyText,
  type FakeGeneration,
  type FakeReport,
} from './llm-shared.js';

const LINE_TOKEN = /"content":" c(\d+)t(\d+)"/;

const generations = new Map<number, FakeGeneration>();
const arrivals = new WeakMap<http.ServerResponse, number>();
const generationOf = new WeakMap<http.ServerResponse, FakeGeneration>();

const createServer = http.createServer as (...args: unknown[]) => http.Server;
http.createServer = ((...args: unknown[]) => {
  const server = createServer(...args);
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) =>
    arrivals.set(res, now()),
  );
  return server;
}) as typeof http.createServer;

const write = http.ServerResponse.prototype.write as (
  this: http.ServerResponse,
  ...args: unknown[]
) => boolean;
http.ServerResponse.prototype.write = function (
  this: http.ServerResponse,
  chunk: unknown,
  ...rest: unknown[]
) {
  if (typeof chunk === 'string') record(this, chunk, now());
  return write.call(this, chunk, ...rest);
} as typeof http.ServerResponse.prototype.write;

function record(res: http.ServerResponse, line: string, at: number): void {
  const token = LINE_TOKEN.exec(line);
  if (token) {
    let generation = generationOf.get(res);
    if (!generation) {
      // A new stream for this conversation (a retried attempt starts over): it replaces the earlier one.
      const conversation = Number(token[1]);
      generation = { conversation, arrivedAt: arrivals.get(res) ?? at, tokenAt: [], doneAt: null };
      generations.set(conversation, generation);
      generationOf.set(res, generation);
    }
    generation.tokenAt[Number(token[2])] = at;
  } else if (line.includes('"done":true')) {
    const generation = generationOf.get(res);
    if (generation) generation.doneAt = at;
  }
}

const replyTokens = Number(process.env.LLM_REPLY_TOKENS);
const fake = await startFakeOllama({
  tokenDelayMs: Number(process.env.LLM_TOKEN_DELAY_MS),
  loadDelayMs: Number(process.env.LLM_LOAD_DELAY_MS),
  replyTokens,
  scriptedReplies: (request) => {
    const conversation = conversationOfMessage(request.lastUserMessage);
    return conversation === undefined ? undefined : replyText(conversation, replyTokens);
  },
});

let cpuAtStart = process.cpuUsage();
let measuringSince = performance.now();
process.on('message', (message: { type: string }) => {
  if (message.type === 'measure') {
    cpuAtStart = process.cpuUsage();
    measuringSince = performance.now();
    process.send!({ type: 'measure' });
  } else if (message.type === 'report') {
    const report: FakeReport = {
      generations: [...generations.values()],
      cpuPercent: cpuPercent(cpuAtStart, performance.now() - measuringSince),
      chatRequests: fake.requests.filter((request) => request.path === '/api/chat').length,
      disconnects: fake.disconnects.length,
    };
    process.send!({ type: 'report', ...report });
  } else if (message.type === 'stop') {
    void fake.close().then(() => process.exit(0));
  }
});
process.send!({ type: 'ready', url: fake.url });
