// A fake Ollama server for tests and for trying Parley without a GPU (`npm run fake-ollama`). It speaks
// the real HTTP protocol of /api/chat, /api/generate, /api/tags and /api/version (field names, NDJSON
// streaming, `{"error": …}` bodies), with knobs for latency, errors and mid-stream failures. Not used by
// the app itself; it lives under src/ so that the build can compile scripts/fake-ollama.ts.
import { createHash } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleInference, sendJson } from './fake-ollama-inference.js';
import type {
  FakeOllama,
  FakeOllamaBehaviour,
  FakeOllamaModelBehaviour,
  FakeOllamaOptions,
  RecordedDisconnect,
  RecordedRequest,
} from './fake-ollama-types.js';

export type * from './fake-ollama-types.js';
export { SERVER_BUSY } from './fake-ollama-inference.js';

const DEFAULT_BEHAVIOUR: FakeOllamaBehaviour = {
  models: ['llama3.2:3b', 'qwen2.5:7b'],
  version: '0.12.6',
  loadDelayMs: 0,
  tokenDelayMs: 0,
  replyTokens: 12,
  perModel: {},
};

/** Ollama treats a name without a tag as `:latest`. */
export function canonicalModelName(name: string): string {
  return name.split('/').at(-1)!.includes(':') ? name : `${name}:latest`;
}

/** The model as /api/tags lists it, with details derived from its name (family, size from the tag). */
function listedModel(name: string) {
  const base = name.split('/').at(-1)!.split(':')[0]!;
  const tag = name.split(':').at(-1) ?? '';
  const family = base.replace(/[\d.]+$/, '') || base;
  const billions = Number(/(\d+(?:\.\d+)?)b\b/i.exec(tag)?.[1] ?? '7');
  return {
    name,
    model: name,
    modified_at: '2025-01-01T00:00:00Z',
    size: Math.round(billions * 0.6e9),
    digest: createHash('sha256').update(name).digest('hex'),
    details: {
      parent_model: '',
      format: 'gguf',
      family,
      families: [family],
      parameter_size: `${billions.toFixed(1)}B`,
      quantization_level: 'Q4_K_M',
    },
  };
}

function copyBehaviour(behaviour: FakeOllamaBehaviour): FakeOllamaBehaviour {
  const perModel = Object.fromEntries(Object.entries(behaviour.perModel).map(([k, v]) => [k, { ...v }]));
  return { ...behaviour, models: [...behaviour.models], perModel };
}

function mergeBehaviour(
  current: FakeOllamaBehaviour,
  partial: Partial<FakeOllamaBehaviour>,
): FakeOllamaBehaviour {
  const { perModel, ...rest } = partial;
  const merged = copyBehaviour({ ...current, ...rest });
  for (const [model, knobs] of Object.entries(perModel ?? {})) {
    merged.perModel[model] = { ...merged.perModel[model], ...knobs };
  }
  return merged;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

const ROUTES: Record<string, string[]> = {
  '/': ['GET', 'HEAD'],
  '/api/version': ['GET', 'HEAD'],
  '/api/tags': ['GET', 'HEAD'],
  '/api/chat': ['POST'],
  '/api/generate': ['POST'],
};

export async function startFakeOllama(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
  const { port = 0, host = '127.0.0.1', ...initialKnobs } = options;
  const initial = mergeBehaviour(DEFAULT_BEHAVIOUR, initialKnobs);
  let behaviour = copyBehaviour(initial);
  const requests: RecordedRequest[] = [];
  const disconnects: RecordedDisconnect[] = [];
  /** Failures handed out under `failTimes`, per scope ('*' or a model with its own `failTimes`). */
  const failures = new Map<string, number>();
  const open = new Set<AbortController>();
  let closing = false;

  const isKnown = (model: string) =>
    behaviour.models.some((name) => canonicalModelName(name) === canonicalModelName(model));

  function knobsFor(model: string): FakeOllamaModelBehaviour {
    const { models: _m, version: _v, scriptedReplies: _s, perModel, ...global } = behaviour;
    const specific = perModel[model] ?? perModel[canonicalModelName(model)] ?? {};
    const knobs: FakeOllamaModelBehaviour = { ...global, ...specific };
    if (knobs.failTimes === undefined) return knobs;
    const scope = specific.failTimes !== undefined ? `model:${canonicalModelName(model)}` : '*';
    const used = failures.get(scope) ?? 0;
    if (used >= knobs.failTimes) {
      return {
        ...knobs,
        status: undefined,
        failAfterTokens: undefined,
        dropAfterTokens: undefined,
        hang: false,
      };
    }
    failures.set(scope, used + 1);
    const failing =
      knobs.status !== undefined ||
      knobs.failAfterTokens !== undefined ||
      knobs.dropAfterTokens !== undefined ||
      knobs.hang === true;
    return failing ? knobs : { ...knobs, status: 503 };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    let body: unknown = raw === '' ? undefined : raw;
    let parseError: string | undefined;
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
      } catch (error) {
        parseError = (error as Error).message;
      }
    }
    requests.push({ method, path, body, headers: req.headers, receivedAt: new Date() });

    const allowed = ROUTES[path];
    if (!allowed) return sendText(res, 404, '404 page not found');
    if (!allowed.includes(method)) return sendText(res, 405, '405 method not allowed');
    if (path === '/') return sendText(res, 200, 'Ollama is running');
    if (path === '/api/version') return sendJson(res, 200, { version: behaviour.version });
    if (path === '/api/tags') return sendJson(res, 200, { models: behaviour.models.map(listedModel) });

    if (parseError !== undefined || typeof body !== 'object' || body === null) {
      return sendJson(res, 400, {
        error: body === undefined ? 'missing request body' : (parseError ?? 'bad body'),
      });
    }
    const model = (body as Record<string, unknown>).model;
    if (typeof model !== 'string' || model === '') return sendJson(res, 400, { error: 'model is required' });
    if (!isKnown(model)) {
      return sendJson(res, 404, { error: `model "${model}" not found, try pulling it first` });
    }

    const controller = new AbortController();
    open.add(controller);
    res.on('close', () => {
      controller.abort();
      open.delete(controller);
    });
    await handleInference(
      {
        path: path as '/api/chat' | '/api/generate',
        body,
        behaviour,
        knobs: knobsFor(model),
        signal: controller.signal,
        onDisconnect: (record) => {
          if (!closing) disconnects.push(record);
        },
      },
      res,
    );
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(error) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${actualPort}`,
    port: actualPort,
    requests,
    disconnects,
    get behaviour() {
      return behaviour;
    },
    setBehaviour(partial) {
      behaviour = mergeBehaviour(behaviour, partial);
      failures.clear();
    },
    reset() {
      behaviour = copyBehaviour(initial);
      failures.clear();
      requests.length = 0;
      disconnects.length = 0;
    },
    async close() {
      closing = true;
      for (const controller of open) controller.abort();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
