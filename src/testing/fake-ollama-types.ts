import type { IncomingHttpHeaders } from 'node:http';

/** Knobs that can differ per model (`perModel`) as well as for the whole server. */
export interface FakeOllamaModelBehaviour {
  /** Delay before anything is answered (model cold start). Headers of a stream leave with the first token. */
  loadDelayMs: number;
  /** Delay before each token. */
  tokenDelayMs: number;
  /** Tokens in a default (free text) reply. */
  replyTokens: number;
  /** Answer inference requests with this HTTP status and `{"error": …}` (after `loadDelayMs`). */
  status?: number;
  /** Text of the error for `status` and `failAfterTokens`; each has a realistic default. */
  errorMessage?: string;
  /**
   * After this many tokens, end a stream with a 200 line `{"error": …}` and no `done` line, as Ollama
   * does when the runner fails mid-generation. Non-streamed requests get a 500 instead, as from Ollama.
   */
  failAfterTokens?: number;
  /** After this many tokens, destroy the socket (no error line, no `done`). */
  dropAfterTokens?: number;
  /** Never answer; the request stays open until the client gives up or the server closes. */
  hang?: boolean;
  /**
   * Apply the failure knobs above (`status`, `failAfterTokens`, `dropAfterTokens`, `hang`) to the first
   * N inference requests only, then succeed. With no failure knob set, those N requests get a 503
   * "server busy". Counters restart on every `setBehaviour` and `reset`.
   */
  failTimes?: number;
}

/** What a scripted reply sees of the request. */
export interface FakeOllamaInferenceRequest {
  path: '/api/chat' | '/api/generate';
  model: string;
  /** The chat messages; for /api/generate, the system prompt (if any) and the prompt as a user message. */
  messages: { role: string; content: string }[];
  lastUserMessage: string;
  system: string | undefined;
  format: unknown;
  options: Record<string, unknown>;
  stream: boolean;
  body: Record<string, unknown>;
}

/** Returns the reply text (or an object, sent as JSON), or undefined for the default reply. */
export type ScriptedReplies = (request: FakeOllamaInferenceRequest) => string | object | undefined;

export interface FakeOllamaBehaviour extends FakeOllamaModelBehaviour {
  /** Models the server has "pulled": listed by /api/tags; any other model gets a 404. */
  models: string[];
  /** What /api/version answers. */
  version: string;
  scriptedReplies?: ScriptedReplies;
  /** Overrides per model name, e.g. `{ 'qwen2.5:7b': { loadDelayMs: 2000 } }`. */
  perModel: Record<string, Partial<FakeOllamaModelBehaviour>>;
}

export interface FakeOllamaOptions extends Partial<FakeOllamaBehaviour> {
  /** 0 (the default) lets the OS pick a free port. */
  port?: number;
  host?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** The parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
  headers: IncomingHttpHeaders;
  receivedAt: Date;
}

/** A client that closed an inference request before the server finished it. */
export interface RecordedDisconnect {
  path: string;
  model: string | undefined;
  at: Date;
  /** Tokens written to the stream before the client left (for a non-streamed request: tokens generated). */
  tokensSent: number;
  stream: boolean;
}

export interface FakeOllama {
  /** http://127.0.0.1:<port>, for `new Ollama({ host })` or OLLAMA_HOST. */
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  readonly disconnects: RecordedDisconnect[];
  /** The behaviour in force now. */
  readonly behaviour: Readonly<FakeOllamaBehaviour>;
  /** Merges knobs into the current behaviour (`perModel` merges per model); `undefined` clears a knob. */
  setBehaviour(partial: Partial<FakeOllamaBehaviour>): void;
  /** Back to the behaviour given at start; forgets recorded requests and disconnects. */
  reset(): void;
  /** Ends open requests (hanging ones too) and stops listening. */
  close(): Promise<void>;
}
