// POST /api/chat and /api/generate, shaped like Ollama's server/routes.go: errors before any output are a
// status with `{"error": …}`; errors after output are a 200 NDJSON line `{"error": …}` and the stream ends
// without a `done` line; stream headers leave with the first token (gin writes them on the first flush).
import type { ServerResponse } from 'node:http';
import {
  jsonTokens,
  plainJsonValue,
  promptTokenCount,
  randomFrom,
  seedOf,
  sentenceTokens,
  textTokens,
  valueForSchema,
  type JsonSchema,
} from './fake-ollama-content.js';
import type {
  FakeOllamaBehaviour,
  FakeOllamaInferenceRequest,
  FakeOllamaModelBehaviour,
  RecordedDisconnect,
} from './fake-ollama-types.js';

/** Ollama's ErrMaxQueue text (server/sched.go), two spaces included. */
export const SERVER_BUSY = 'server busy, please try again.  maximum pending requests exceeded';
const RUNNER_FAILED = 'llama runner process has terminated: exit status 2';
const MID_STREAM_FAILED = 'an error was encountered while running the model: unexpected EOF';
const JSON_TYPE = 'application/json; charset=utf-8';

export interface InferenceContext {
  path: '/api/chat' | '/api/generate';
  body: unknown;
  behaviour: FakeOllamaBehaviour;
  /** Effective knobs for this model, failure knobs already dropped when `failTimes` is used up. */
  knobs: FakeOllamaModelBehaviour;
  /** Aborted when the client goes away or the server closes. */
  signal: AbortSignal;
  onDisconnect(record: RecordedDisconnect): void;
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    // A zero delay still yields, so that a client's abort is seen between tokens.
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener('abort', done, { once: true });
  });
}

function asText(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function describeRequest(
  path: InferenceContext['path'],
  body: Record<string, unknown>,
): FakeOllamaInferenceRequest {
  const messages: { role: string; content: string }[] = [];
  if (path === '/api/chat') {
    for (const message of Array.isArray(body.messages) ? body.messages : []) {
      const { role, content } = (message ?? {}) as Record<string, unknown>;
      messages.push({ role: asText(role), content: asText(content) });
    }
  } else {
    if (asText(body.system)) messages.push({ role: 'system', content: asText(body.system) });
    messages.push({ role: 'user', content: asText(body.prompt) });
  }
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
  return {
    path,
    model: asText(body.model),
    messages,
    lastUserMessage: messages.filter((m) => m.role === 'user').at(-1)?.content ?? '',
    system: system.length > 0 ? system.join('\n') : undefined,
    format: body.format,
    options: (body.options ?? {}) as Record<string, unknown>,
    stream: body.stream !== false,
    body,
  };
}

/** The reply as tokens: scripted if a script answers, else derived from model, system, last user message, format. */
function replyTokens(
  request: FakeOllamaInferenceRequest,
  behaviour: FakeOllamaBehaviour,
  count: number,
): string[] {
  const scripted = behaviour.scriptedReplies?.(request);
  if (typeof scripted === 'string') return textTokens(scripted);
  if (scripted !== undefined) return jsonTokens(JSON.stringify(scripted));
  const seed = seedOf(
    request.model,
    request.system ?? '',
    request.lastUserMessage,
    JSON.stringify(request.format ?? null),
  );
  const format = request.format;
  if (format && typeof format === 'object') {
    return jsonTokens(JSON.stringify(valueForSchema(format as JsonSchema, randomFrom(seed))));
  }
  if (format === 'json') return jsonTokens(JSON.stringify(plainJsonValue(seed)));
  return sentenceTokens(seed, count);
}

const ns = (fromNs: bigint) => Number(process.hrtime.bigint() - fromNs);

export async function handleInference(ctx: InferenceContext, res: ServerResponse): Promise<void> {
  const startedNs = process.hrtime.bigint();
  const body = ctx.body as Record<string, unknown>;
  const request = describeRequest(ctx.path, body);
  const { knobs, signal } = ctx;
  const isChat = ctx.path === '/api/chat';
  let tokensSent = 0;
  let finished = false;
  let dropped = false;

  res.on('close', () => {
    if (finished || dropped || res.writableFinished) return;
    ctx.onDisconnect({
      path: ctx.path,
      model: request.model,
      at: new Date(),
      tokensSent,
      stream: request.stream,
    });
  });
  const finish = (status: number, value: unknown) => {
    finished = true;
    sendJson(res, status, value);
  };

  await sleep(knobs.loadDelayMs, signal);
  if (signal.aborted) return;
  const loadNs = ns(startedNs);

  if (knobs.hang) {
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    return;
  }
  if (knobs.status !== undefined) {
    const fallback = knobs.status === 503 ? SERVER_BUSY : RUNNER_FAILED;
    return finish(knobs.status, { error: knobs.errorMessage ?? fallback });
  }

  let tokens = replyTokens(request, ctx.behaviour, knobs.replyTokens);
  let doneReason = 'stop';
  const numPredict = request.options.num_predict;
  if (typeof numPredict === 'number' && numPredict >= 0 && numPredict < tokens.length) {
    tokens = tokens.slice(0, numPredict);
    doneReason = 'length';
  }
  const failAt = knobs.failAfterTokens === undefined ? -1 : Math.min(knobs.failAfterTokens, tokens.length);
  const dropAt = knobs.dropAfterTokens === undefined ? -1 : Math.min(knobs.dropAfterTokens, tokens.length);
  const evalStartNs = process.hrtime.bigint();
  const chunk = (content: string) => ({
    model: request.model,
    created_at: new Date().toISOString(),
    ...(isChat ? { message: { role: 'assistant', content } } : { response: content }),
    done: false,
  });
  const writeLine = (value: unknown) => {
    if (!res.headersSent) {
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    }
    res.write(`${JSON.stringify(value)}\n`);
  };

  for (let i = 0; i <= tokens.length; i++) {
    if (i === dropAt) {
      // Once the tokens already written have left, so the client sees exactly N before the socket dies.
      dropped = true;
      res.socket?.destroySoon();
      return;
    }
    if (i === failAt) {
      const error = knobs.errorMessage ?? MID_STREAM_FAILED;
      if (!request.stream || !res.headersSent) return finish(500, { error });
      finished = true;
      writeLine({ error });
      res.end();
      return;
    }
    if (i === tokens.length) break;
    await sleep(knobs.tokenDelayMs, signal);
    if (signal.aborted || res.destroyed) return;
    if (request.stream) writeLine(chunk(tokens[i]!));
    tokensSent++;
  }

  const promptEvalCount = promptTokenCount(request.messages.map((m) => m.content));
  const content = tokens.join('');
  const final = {
    model: request.model,
    created_at: new Date().toISOString(),
    ...(isChat
      ? { message: { role: 'assistant', content: request.stream ? '' : content } }
      : { response: request.stream ? '' : content }),
    done_reason: doneReason,
    done: true,
    ...(isChat
      ? {}
      : { context: Array.from({ length: promptEvalCount + tokens.length }, (_, i) => 1000 + i) }),
    total_duration: ns(startedNs),
    load_duration: Math.max(1, loadNs),
    prompt_eval_count: promptEvalCount,
    prompt_eval_duration: promptEvalCount * 50_000,
    eval_count: tokens.length,
    eval_duration: Math.max(1, ns(evalStartNs)),
  };
  if (!request.stream) return finish(200, final);
  finished = true;
  writeLine(final);
  res.end();
}
