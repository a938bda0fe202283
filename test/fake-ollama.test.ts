// The fake Ollama server, exercised through the real `ollama` client (0.6.4) the app uses, so that what
// passes here is what the app's provider will see from a real Ollama.
import { Ollama, type ChatResponse } from 'ollama';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from './support/eventually.js';
import { SERVER_BUSY, startFakeOllama, type FakeOllama } from './support/fake-ollama.js';

const MODEL = 'llama3.2:3b';
let fake: FakeOllama;
let client: Ollama;

beforeAll(async () => {
  fake = await startFakeOllama();
  client = new Ollama({ host: fake.url });
});
afterAll(() => fake?.close());
beforeEach(() => fake.reset());

const ask = (content: string) => [{ role: 'user', content }];

/** Streams a chat and collects its chunks; rethrows the client's error with the chunks seen so far. */
async function streamChat(content: string, extra: { format?: string | object; model?: string } = {}) {
  const stream = await client.chat({ model: MODEL, messages: ask(content), stream: true, ...extra });
  const chunks: ChatResponse[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk);
  } catch (error) {
    throw Object.assign(error as Error, { chunks });
  }
  return chunks;
}

async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

describe('chat', () => {
  it('streams tokens, then a done chunk with token counts and durations', async () => {
    const chunks = await streamChat('Why is the sky blue?');
    const tokens = chunks.slice(0, -1);
    const done = chunks.at(-1)!;
    expect(tokens).toHaveLength(12);
    for (const chunk of tokens) {
      expect(chunk).toMatchObject({ model: MODEL, done: false, message: { role: 'assistant' } });
      expect(chunk.message.content).not.toBe('');
      expect(Number.isNaN(Date.parse(String(chunk.created_at)))).toBe(false);
    }
    expect(done).toMatchObject({
      done: true,
      done_reason: 'stop',
      message: { role: 'assistant', content: '' },
    });
    expect(done.eval_count).toBe(12);
    expect(done.prompt_eval_count).toBeGreaterThan(0);
    for (const field of [
      'total_duration',
      'load_duration',
      'prompt_eval_duration',
      'eval_duration',
    ] as const) {
      expect(done[field]).toBeGreaterThan(0);
    }
  });

  it('answers a non-streamed chat with the whole message, the same text the stream carried', async () => {
    const streamed = (await streamChat('Why is the sky blue?')).map((c) => c.message.content).join('');
    const reply = await client.chat({ model: MODEL, messages: ask('Why is the sky blue?') });
    expect(reply).toMatchObject({ model: MODEL, done: true, done_reason: 'stop', eval_count: 12 });
    expect(reply.message).toEqual({ role: 'assistant', content: streamed });
  });

  it('gives identical content for identical input and different content for a different question', async () => {
    const text = async (content: string) =>
      (await client.chat({ model: MODEL, messages: ask(content) })).message.content;
    expect(await text('Is zstd better than gzip?')).toBe(await text('Is zstd better than gzip?'));
    expect(await text('Is zstd better than gzip?')).not.toBe(await text('Is brotli better than gzip?'));
  });

  it('speaks NDJSON over HTTP with the real content types', async () => {
    const post = (stream: boolean) =>
      fetch(`${fake.url}/api/chat`, {
        method: 'POST',
        body: JSON.stringify({ model: MODEL, messages: ask('hi'), stream }),
      });
    const streamed = await post(true);
    expect(streamed.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await streamed.text()).trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line).done)).toEqual([...Array(12).fill(false), true]);
    expect((await post(false)).headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('stops at options.num_predict with done_reason "length"', async () => {
    const reply = await client.chat({ model: MODEL, messages: ask('hi'), options: { num_predict: 4 } });
    expect(reply).toMatchObject({ done_reason: 'length', eval_count: 4 });
  });

  it('records each request as the client sent it', async () => {
    await client.chat({ model: MODEL, messages: ask('hi'), keep_alive: '5m', options: { temperature: 0.2 } });
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/api/chat' });
    // The client sends stream: false when the caller leaves it out (Ollama itself defaults to true).
    expect(request!.body).toEqual({
      model: MODEL,
      messages: ask('hi'),
      stream: false,
      keep_alive: '5m',
      options: { temperature: 0.2 },
    });
    expect(request!.receivedAt).toBeInstanceOf(Date);
  });
});

describe('structured output', () => {
  const schema = {
    type: 'object',
    properties: {
      position: { type: 'string', minLength: 5 },
      confidence: { type: 'number', minimum: 0, maximum: 1 },
      stance: { type: 'string', enum: ['for', 'against', 'neutral'] },
      round: { type: 'integer', minimum: 1, maximum: 5 },
      concede: { type: 'boolean' },
      evidence: { type: 'array', items: { type: 'string' }, minItems: 1 },
      detail: { type: 'object', properties: { source: { type: 'string' } }, required: ['source'] },
    },
    required: ['position', 'confidence', 'stance', 'round', 'concede', 'evidence', 'detail'],
  };

  it('streams, token by token, a JSON document that conforms to the format schema', async () => {
    const chunks = await streamChat('Should we adopt zstd?', { format: schema });
    expect(chunks.length).toBeGreaterThan(10);
    const answer = JSON.parse(chunks.map((c) => c.message.content).join(''));
    expect(Object.keys(answer).sort()).toEqual([...schema.required].sort());
    expect(answer.position.length).toBeGreaterThanOrEqual(5);
    expect(answer.confidence).toBeGreaterThanOrEqual(0);
    expect(answer.confidence).toBeLessThanOrEqual(1);
    expect(schema.properties.stance.enum).toContain(answer.stance);
    expect(Number.isInteger(answer.round) && answer.round >= 1 && answer.round <= 5).toBe(true);
    expect(typeof answer.concede).toBe('boolean');
    expect(answer.evidence.length).toBeGreaterThanOrEqual(1);
    expect(typeof answer.detail.source).toBe('string');
  });

  it('answers format "json" with a JSON object', async () => {
    const reply = await client.chat({ model: MODEL, messages: ask('hi'), format: 'json' });
    expect(JSON.parse(reply.message.content)).toBeTypeOf('object');
  });

  it('lets a test script the reply, as text or as an object', async () => {
    fake.setBehaviour({
      scriptedReplies: (request) =>
        request.format ? { position: `on ${request.lastUserMessage}`, confidence: 0.9 } : 'I agree.',
    });
    const structured = await client.chat({ model: MODEL, messages: ask('tabs'), format: schema });
    expect(JSON.parse(structured.message.content)).toEqual({ position: 'on tabs', confidence: 0.9 });
    const chunks = await streamChat('tabs');
    expect(chunks.map((c) => c.message.content)).toEqual(['I', ' agree.', '']);
  });
});

describe('generate, tags, version', () => {
  it('generates with a "response" field, streamed and not', async () => {
    const stream = await client.generate({ model: MODEL, prompt: 'Say hi', stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.at(-1)).toMatchObject({ done: true, done_reason: 'stop', response: '', eval_count: 12 });
    expect(chunks.at(-1)!.context.length).toBeGreaterThan(0);
    const whole = await client.generate({ model: MODEL, prompt: 'Say hi' });
    expect(whole.response).toBe(chunks.map((c) => c.response).join(''));
  });

  it('lists the configured models as /api/tags does', async () => {
    fake.setBehaviour({ models: ['llama3.2:3b', 'qwen2.5:7b', 'mistral:7b'] });
    const { models } = await client.list();
    expect(models.map((m) => m.name)).toEqual(['llama3.2:3b', 'qwen2.5:7b', 'mistral:7b']);
    expect(models[1]).toMatchObject({
      model: 'qwen2.5:7b',
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
      details: { format: 'gguf', parameter_size: '7.0B', quantization_level: 'Q4_K_M' },
    });
    expect(models[1]!.size).toBeGreaterThan(0);
  });

  it('answers /api/version and / like Ollama', async () => {
    expect((await client.version()).version).toMatch(/^\d+\.\d+\.\d+/);
    expect(await (await fetch(fake.url)).text()).toBe('Ollama is running');
  });
});

describe('errors', () => {
  it('rejects an unknown model with a 404 that names it', async () => {
    const error = await rejection(client.chat({ model: 'nope:1b', messages: ask('hi') }));
    expect(error.name).toBe('ResponseError');
    expect(error.status_code).toBe(404);
    expect(error.message).toBe('model "nope:1b" not found, try pulling it first');
  });

  it('answers with the configured status and an {"error"} body', async () => {
    fake.setBehaviour({ status: 503 });
    const error = await rejection(streamChat('hi'));
    expect(error).toMatchObject({ name: 'ResponseError', status_code: 503, message: SERVER_BUSY });
    fake.setBehaviour({ status: 500, errorMessage: 'out of memory' });
    expect(await rejection(streamChat('hi'))).toMatchObject({ status_code: 500, message: 'out of memory' });
  });

  it('fails only the first failTimes requests, then succeeds', async () => {
    fake.setBehaviour({ failTimes: 2 });
    expect((await rejection(streamChat('hi'))).status_code).toBe(503);
    expect((await rejection(streamChat('hi'))).status_code).toBe(503);
    expect((await streamChat('hi')).at(-1)!.done).toBe(true);
  });

  it('fails mid-stream with a 200 error line: the iterator throws after yielding tokens', async () => {
    fake.setBehaviour({ failAfterTokens: 3, errorMessage: 'runner crashed' });
    const error = await rejection(streamChat('hi'));
    // A plain Error (no status_code): the HTTP status was already 200.
    expect(error.message).toBe('runner crashed');
    expect(error.status_code).toBeUndefined();
    expect((error.chunks as ChatResponse[]).map((c) => c.done)).toEqual([false, false, false]);
    // Not streamed, the same failure is a 500.
    expect((await rejection(client.chat({ model: MODEL, messages: ask('hi') }))).status_code).toBe(500);
  });

  it('drops the connection after N tokens: the stream ends in a socket error', async () => {
    fake.setBehaviour({ dropAfterTokens: 2 });
    const error = await rejection(streamChat('hi'));
    expect(error.message).toBe('terminated');
    expect(error.chunks).toHaveLength(2);
    expect(fake.disconnects).toEqual([]);
  });
});

describe('aborts and disconnects', () => {
  beforeEach(() => fake.setBehaviour({ tokenDelayMs: 20, replyTokens: 200 }));

  it('records a disconnect when the client aborts the stream', async () => {
    const stream = await client.chat({ model: MODEL, messages: ask('hi'), stream: true });
    let seen = 0;
    const error = await rejection(
      (async () => {
        for await (const _chunk of stream) if (++seen === 3) stream.abort();
      })(),
    );
    expect(error.name).toBe('AbortError');
    const [disconnect] = await eventually(() => (fake.disconnects.length ? fake.disconnects : undefined));
    expect(disconnect).toMatchObject({ path: '/api/chat', model: MODEL, stream: true });
    expect(disconnect!.tokensSent).toBeGreaterThanOrEqual(3);
    expect(disconnect!.tokensSent).toBeLessThan(200);
  });

  it('does not close the request when the loop is merely left; client.abort() does', async () => {
    const stream = await client.chat({ model: MODEL, messages: ask('hi'), stream: true });
    for await (const _chunk of stream) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(fake.disconnects).toEqual([]);
    client.abort();
    await eventually(() => (fake.disconnects.length === 1 ? true : undefined));
  });

  it('can abort while the model loads only through a fetch with a signal', async () => {
    fake.setBehaviour({ loadDelayMs: 300 });
    const controller = new AbortController();
    const abortable = new Ollama({
      host: fake.url,
      fetch: (input, init) => fetch(input, { ...init, signal: controller.signal }),
    });
    const pending = abortable.chat({ model: MODEL, messages: ask('hi'), stream: true });
    await eventually(() => (fake.requests.length ? true : undefined));
    abortable.abort(); // nothing to abort yet: the client tracks a stream only once headers arrive
    controller.abort();
    expect((await rejection(pending)).name).toBe('AbortError');
    const [disconnect] = await eventually(() => (fake.disconnects.length ? fake.disconnects : undefined));
    expect(disconnect!.tokensSent).toBe(0);
  });

  it('hangs until the client gives up', async () => {
    fake.setBehaviour({ hang: true });
    const patient = new Ollama({
      host: fake.url,
      fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(150) }),
    });
    expect((await rejection(patient.chat({ model: MODEL, messages: ask('hi') }))).name).toBe('TimeoutError');
    await eventually(() => (fake.disconnects.length === 1 ? true : undefined));
  });
});

describe('latency knobs', () => {
  it('waits loadDelayMs before the first token and tokenDelayMs between tokens', async () => {
    fake.setBehaviour({ loadDelayMs: 150, tokenDelayMs: 15, replyTokens: 10 });
    const started = performance.now();
    const stream = await client.chat({ model: MODEL, messages: ask('hi'), stream: true });
    const arrivals: number[] = [];
    for await (const _chunk of stream) arrivals.push(performance.now() - started);
    expect(arrivals[0]).toBeGreaterThanOrEqual(145);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(9 * 15 - 10);
  });

  it('applies perModel knobs to that model only', async () => {
    fake.setBehaviour({ perModel: { 'qwen2.5:7b': { loadDelayMs: 200 } } });
    const timed = async (model: string) => {
      const started = performance.now();
      await client.chat({ model, messages: ask('hi') });
      return performance.now() - started;
    };
    expect(await timed('qwen2.5:7b')).toBeGreaterThanOrEqual(195);
    expect(await timed(MODEL)).toBeLessThan(200);
  });
});
