// Child process of bench/debate.ts: the fake Ollama (src/testing/fake-ollama.ts) answering every debate
// turn with a scripted JSON turn of a fixed token count (bench/debate-shared.ts) at a set pace, in a
// process of its own, recording when each request arrived and when each token and the final line were
// written (bench/support/timed-http.ts). The argument's words name their turn, so each stream is
// attributed to its (debate, round, seat) from what it writes.
import type http from 'node:http';
import { startFakeOllama } from '../src/testing/fake-ollama.js';
import {
  argumentWords,
  turnKey,
  turnOfRequest,
  turnReply,
  type FakeGeneration,
  type FakeReport,
} from './debate-shared.js';
import { serveParent } from './support/child.js';
import { timeResponseWrites } from './support/timed-http.js';

interface Stream {
  arrivedAt: number;
  wordAt: number[];
  generation?: FakeGeneration;
}

const generations = new Map<string, FakeGeneration>();
const streams = new WeakMap<http.ServerResponse, Stream>();
let repeatedGenerations = 0;
let unattributed = 0;

timeResponseWrites((res, line, at, arrivedAt) => {
  let stream = streams.get(res);
  if (!stream) {
    stream = { arrivedAt, wordAt: [] };
    streams.set(res, stream);
  }
  const words = argumentWords(line);
  for (const word of words) stream.wordAt[word.word] = at;
  if (!stream.generation && words.length > 0) {
    const { debate, round, seat } = words[0]!;
    stream.generation = {
      debate,
      round,
      seat,
      arrivedAt: stream.arrivedAt,
      wordAt: stream.wordAt,
      doneAt: null,
    };
    const key = turnKey(stream.generation);
    if (generations.has(key)) repeatedGenerations += 1;
    generations.set(key, stream.generation);
  }
  if (line.includes('"done":true')) {
    if (stream.generation) stream.generation.doneAt = at;
    else unattributed += 1;
  }
});

const replyTokens = Number(process.env.DEBATE_TURN_TOKENS);
const fake = await startFakeOllama({
  tokenDelayMs: Number(process.env.DEBATE_TOKEN_DELAY_MS),
  replyTokens,
  scriptedReplies: (request) => {
    const turn = turnOfRequest(request);
    return turn && turnReply(turn, replyTokens);
  },
});

serveParent({
  ready: { url: fake.url },
  report: (): Omit<FakeReport, 'cpuPercent'> => ({
    generations: [...generations.values()],
    repeatedGenerations,
    unattributed,
    chatRequests: fake.requests.filter((request) => request.path === '/api/chat').length,
    disconnects: fake.disconnects.length,
  }),
  stop: () => fake.close(),
});
