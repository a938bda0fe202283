// Child process of bench/llm.ts: the fake Ollama (src/testing/fake-ollama.ts) at a set pace, in a process
// of its own, recording when each request arrived and when each token and the final line were written
// (bench/support/timed-http.ts).
import type http from 'node:http';
import { startFakeOllama } from '../src/testing/fake-ollama.js';
import { conversationOfMessage, replyText, type FakeGeneration, type FakeReport } from './llm-shared.js';
import { serveParent } from './support/child.js';
import { timeResponseWrites } from './support/timed-http.js';

const LINE_TOKEN = /"content":" c(\d+)t(\d+)"/;

const generations = new Map<number, FakeGeneration>();
const generationOf = new WeakMap<http.ServerResponse, FakeGeneration>();

timeResponseWrites((res, line, at, arrivedAt) => {
  const token = LINE_TOKEN.exec(line);
  if (token) {
    let generation = generationOf.get(res);
    if (!generation) {
      // A new stream for this conversation (a retried attempt starts over): it replaces the earlier one.
      const conversation = Number(token[1]);
      generation = { conversation, arrivedAt, tokenAt: [], doneAt: null };
      generations.set(conversation, generation);
      generationOf.set(res, generation);
    }
    generation.tokenAt[Number(token[2])] = at;
  } else if (line.includes('"done":true')) {
    const generation = generationOf.get(res);
    if (generation) generation.doneAt = at;
  }
});

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

serveParent({
  ready: { url: fake.url },
  report: (): Omit<FakeReport, 'cpuPercent'> => ({
    generations: [...generations.values()],
    chatRequests: fake.requests.filter((request) => request.path === '/api/chat').length,
    disconnects: fake.disconnects.length,
  }),
  stop: () => fake.close(),
});
