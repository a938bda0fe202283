import { Ollama, type ChatRequest, type ChatResponse, type ModelResponse } from 'ollama';
import { ServiceUnavailableError, ValidationError } from '../common/errors.js';
import { isTransient, type GuardedCircuit } from '../resilience/circuit.js';
import type { Metrics, OllamaCallTimer } from '../observability/metrics.js';

export interface ChatResult {
  content: string;
  promptTokens: number;
  completionTokens: number;
  /** Ollama's own durations, in milliseconds. */
  totalMs: number;
  loadMs: number;
  evalMs: number;
}

export interface ChatOptions {
  /** Each token as it arrives. */
  onDelta?: (delta: string) => void;
  /** A transient failure restarted the reply: drop what `onDelta` delivered so far. */
  onRestart?: () => void;
  /** Aborting closes the HTTP request (Ollama has no cancel endpoint). */
  signal?: AbortSignal;
}

const nsToMs = (ns: number | undefined) => (ns ?? 0) / 1e6;

/**
 * Ollama through the `ollama` client, every call through the host's circuit: a model that does not exist
 * is BAD_USER_INPUT naming it; an unreachable or failing Ollama is SERVICE_UNAVAILABLE.
 */
export class OllamaProvider {
  private readonly client: Ollama;

  constructor(
    readonly host: string,
    readonly circuit: GuardedCircuit,
    private readonly metrics?: Metrics,
  ) {
    this.client = new Ollama({ host });
  }

  async listModels(): Promise<ModelResponse[]> {
    return this.guard(async () => (await this.client.list()).models, this.metrics?.ollamaCall('list'));
  }

  /** Streams a chat reply; retried attempts start the reply over (see `onRestart`). */
  async chat(request: Omit<ChatRequest, 'stream'>, options: ChatOptions = {}): Promise<ChatResult> {
    // mollitia's timeout does not cancel a timed-out attempt: the newest attempt closes older streams,
    // and only its own tokens reach the caller.
    let current = 0;
    let previous: { abort(): void } | undefined;
    const timer = this.metrics?.ollamaCall('chat', request.model);
    return this.guard(async (attempt) => {
      const attemptStarted = performance.now();
      current = attempt;
      previous?.abort();
      if (attempt > 1) options.onRestart?.();
      const stream = await this.client.chat({ ...request, stream: true });
      previous = stream;
      if (current !== attempt) {
        stream.abort();
        throw new Error('superseded by a newer attempt');
      }
      const abort = () => stream.abort();
      options.signal?.addEventListener('abort', abort, { once: true });
      try {
        let content = '';
        let last: ChatResponse | undefined;
        for await (const chunk of stream) {
          if (current !== attempt) throw new Error('superseded by a newer attempt');
          const delta = chunk.message?.content ?? '';
          if (delta) {
            if (!content) timer?.firstToken(performance.now() - attemptStarted);
            content += delta;
            options.onDelta?.(delta);
          }
          last = chunk;
        }
        return {
          content,
          promptTokens: last?.prompt_eval_count ?? 0,
          completionTokens: last?.eval_count ?? 0,
          totalMs: nsToMs(last?.total_duration),
          loadMs: nsToMs(last?.load_duration),
          evalMs: nsToMs(last?.eval_duration),
        };
      } finally {
        options.signal?.removeEventListener('abort', abort);
      }
    }, timer);
  }

  /** A cheap reachability check for /health/ollama; not counted by the breaker. */
  async ping(timeoutMs: number): Promise<string> {
    const response = await fetch(`${this.host}/api/version`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return ((await response.json()) as { version: string }).version;
  }

  private async guard<T>(work: (attempt: number) => Promise<T>, timer?: OllamaCallTimer): Promise<T> {
    try {
      const result = await this.circuit.execute(work);
      timer?.ok(result);
      return result;
    } catch (error) {
      timer?.failed(error);
      const status = (error as { status_code?: number }).status_code;
      const message = error instanceof Error ? error.message : String(error);
      if (status === 404 && /model/i.test(message)) {
        throw ValidationError.field('model', message);
      }
      if (error instanceof ServiceUnavailableError || (error as Error).name === 'AbortError') throw error;
      // Only what may pass by itself is "unavailable" (jobs wait on it); Ollama refusing the request is not.
      if (!isTransient(error))
        throw new Error(`Ollama at ${this.host} refused the request: ${message}`, { cause: error });
      throw new ServiceUnavailableError(`Ollama at ${this.host} failed: ${message}`, {
        circuit: this.circuit.name,
      });
    }
  }
}
