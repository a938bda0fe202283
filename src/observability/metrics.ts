import type { RequestHandler } from 'express';
import type { GraphQLFormattedError } from 'graphql';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ServiceUnavailableError } from '../common/errors.js';
import type { CompressionResult } from '../compression/task.js';
import type { ChatResult } from '../llm/ollama.provider.js';
import { CircuitState, isTransient, type CircuitSnapshot, type Transition } from '../resilience/circuit.js';

/**
 * Prometheus metrics for one app instance: its own registry (tests run several apps in one process), every
 * metric created here, handed to call sites through `Services`. Names are catalogued in docs/METRICS.md;
 * dashboards and alerts depend on them, so keep them stable.
 */

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const FANOUT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const OLLAMA_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const FIRST_TOKEN_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const TOKEN_RATE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900];
const CODEC_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300];
const THROUGHPUT_BUCKETS = [1e6, 5e6, 1e7, 2.5e7, 5e7, 1e8, 2.5e8, 5e8, 1e9, 2e9];

/** Stream kinds always exported (0 when idle); others appear when seen. Prefixes of the modules' stream names. */
const KNOWN_STREAM_KINDS = [
  'agents',
  'breakers',
  'conversation',
  'debate',
  'compression-run',
  'compression-suite',
];
const DEBATE_STATUSES = ['PENDING', 'RUNNING', 'PAUSED', 'CONCLUDED', 'CANCELLED', 'FAILED'];
const BREAKER_STATES: Record<CircuitState, string> = {
  [CircuitState.CLOSED]: 'closed',
  [CircuitState.HALF_OPEN]: 'half_open',
  [CircuitState.OPEN]: 'open',
};
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** Distinct operation names kept per instance; clients choose names, so beyond this they are `__other`. */
const MAX_OPERATION_NAMES = 500;
/** A scrape never waits longer than this for the database. */
const SCRAPE_QUERY_TIMEOUT_MS = 2_000;

import type { AuthFailureReason } from '../common/errors.js';

export type { AuthFailureReason };
export type JobOutcome = 'succeeded' | 'failed' | 'waiting' | 'stopped';

/** What the scrape reads from the running app; bound once the pieces exist (`Metrics.watch`). */
export interface MetricSources {
  /** Runs one SQL statement on the ORM's pool. */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** The database's breaker is open: do not even try. */
  databaseUnavailable(): boolean;
  jobKinds(): string[];
  breakers(): CircuitSnapshot[];
  subscribers(): { stream: string; all: number; graphql: number }[];
  webSocketConnections(): number;
  listener(): { listening: boolean; reconnects: number };
}

/** `debate:1234` → `debate`. */
export const streamKind = (stream: string): string => {
  const colon = stream.indexOf(':');
  return colon < 0 ? stream : stream.slice(0, colon);
};

/** Caches `.labels()` children: the hot paths (fan-out, HTTP) look a child up by one string. */
function bound<T>(make: (key: string) => T): (key: string) => T {
  const children = new Map<string, T>();
  return (key) => {
    let child = children.get(key);
    if (!child) children.set(key, (child = make(key)));
    return child;
  };
}

const SCRAPE_SQL = `
select 'job' as source, kind as name,
       count(*) filter (where status = 'QUEUED' and run_after <= now())::int as ready,
       count(*) filter (where status = 'QUEUED' and run_after > now())::int as scheduled,
       count(*) filter (where status = 'RUNNING')::int as running,
       coalesce(extract(epoch from now() - min(run_after)
         filter (where status = 'QUEUED' and run_after <= now())), 0)::float8 as oldest
  from jobs where status in ('QUEUED', 'RUNNING') group by kind
union all
select 'debate', status::text, count(*)::int, 0, 0, 0 from debates group by status`;

interface ScrapeRow {
  source: 'job' | 'debate';
  name: string;
  ready: number;
  scheduled: number;
  running: number;
  oldest: number;
}

export function createMetrics(options: { version: string }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const sources: Partial<MetricSources> = {};

  new Gauge({
    name: 'parley_build_info',
    help: 'Always 1; the running version in the label.',
    labelNames: ['version'],
    registers,
  }).set({ version: options.version }, 1);

  // HTTP and GraphQL
  const httpDuration = new Histogram({
    name: 'parley_http_request_duration_seconds',
    help: 'HTTP request duration by method, matched route and status code.',
    labelNames: ['method', 'route', 'status'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const httpChild = bound((key) => {
    const [method, route, status] = key.split(' ');
    return httpDuration.labels({ method, route, status });
  });
  const operationDuration = new Histogram({
    name: 'parley_graphql_operation_duration_seconds',
    help: 'GraphQL operation duration by operation name and type (subscriptions: setup time).',
    labelNames: ['operation_name', 'operation_type'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const operationNames = new Set<string>();
  const graphqlErrors = new Counter({
    name: 'parley_graphql_errors_total',
    help: 'GraphQL errors sent to clients, by extensions.code and operation type.',
    labelNames: ['code', 'operation_type'],
    registers,
  });

  // WebSocket and subscriptions
  new Gauge({
    name: 'parley_websocket_connections',
    help: 'Open WebSocket connections on /graphql.',
    registers,
    collect() {
      this.set(sources.webSocketConnections?.() ?? 0);
    },
  });
  const seenKinds = new Set(KNOWN_STREAM_KINDS);
  /** Subscribers by stream kind: `all` of them, and those a GraphQL subscription reads. */
  const subscribersByKind = (which: 'all' | 'graphql'): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const kind of seenKinds) counts.set(kind, 0);
    for (const stream of sources.subscribers?.() ?? []) {
      const kind = streamKind(stream.stream);
      seenKinds.add(kind);
      counts.set(kind, (counts.get(kind) ?? 0) + stream[which]);
    }
    return counts;
  };
  new Gauge({
    name: 'parley_graphql_subscriptions_active',
    help: 'Active GraphQL subscriptions by event stream kind.',
    labelNames: ['stream_kind'],
    registers,
    collect() {
      for (const [kind, count] of subscribersByKind('graphql')) this.set({ stream_kind: kind }, count);
    },
  });
  new Gauge({
    name: 'parley_event_hub_subscribers',
    help: 'Event hub subscribers (GraphQL subscriptions and internal followers) by stream kind.',
    labelNames: ['stream_kind'],
    registers,
    collect() {
      for (const [kind, count] of subscribersByKind('all')) this.set({ stream_kind: kind }, count);
    },
  });

  // Realtime
  const fanoutDelay = new Histogram({
    name: 'parley_event_fanout_delay_seconds',
    help: 'Time from an event being written (from="created") or announced by NOTIFY (from="notify") to its delivery to local subscribers.',
    labelNames: ['stream_kind', 'from'],
    buckets: FANOUT_BUCKETS,
    registers,
  });
  const fanoutCreated = bound((kind) => fanoutDelay.labels({ stream_kind: kind, from: 'created' }));
  const fanoutNotify = bound((kind) => fanoutDelay.labels({ stream_kind: kind, from: 'notify' }));
  new Counter({
    name: 'parley_event_listener_reconnects_total',
    help: 'Reconnect attempts of the LISTEN connection.',
    registers,
    collect() {
      // The listener keeps the count; mirror it (it only grows).
      this.reset();
      this.inc(sources.listener?.().reconnects ?? 0);
    },
  });
  new Gauge({
    name: 'parley_event_listener_up',
    help: '1 while the LISTEN connection is listening.',
    registers,
    collect() {
      this.set(sources.listener?.().listening ? 1 : 0);
    },
  });

  // Jobs and debates (one SQL statement per scrape)
  const jobDepth = new Gauge({
    name: 'parley_job_queue_depth',
    help: 'Jobs by kind and state (ready, scheduled, running), cluster-wide.',
    labelNames: ['kind', 'state'],
    registers,
  });
  const jobOldest = new Gauge({
    name: 'parley_job_queue_oldest_age_seconds',
    help: 'How long the oldest due, unclaimed job of each kind has been waiting.',
    labelNames: ['kind'],
    registers,
  });
  const jobDuration = new Histogram({
    name: 'parley_job_duration_seconds',
    help: 'Time spent running a claimed job in this process, by kind and outcome.',
    labelNames: ['kind', 'outcome'],
    buckets: JOB_BUCKETS,
    registers,
  });
  const debates = new Gauge({
    name: 'parley_debates',
    help: 'Debates by status, cluster-wide.',
    labelNames: ['status'],
    registers,
  });
  const databaseUp = new Gauge({
    name: 'parley_scrape_database_up',
    help: '1 when the scrape-time SQL statement succeeded; 0 when the job and debate gauges kept old values.',
    registers,
  });

  // Breakers
  new Gauge({
    name: 'parley_breaker_state',
    help: 'Circuit breaker state, one-hot by state label (closed, half_open, open).',
    labelNames: ['breaker', 'state'],
    registers,
    collect() {
      this.reset();
      for (const { name, state } of sources.breakers?.() ?? []) {
        for (const [each, label] of Object.entries(BREAKER_STATES))
          this.set({ breaker: name, state: label }, each === state ? 1 : 0);
      }
    },
  });
  const breakerTransitions = new Counter({
    name: 'parley_breaker_transitions_total',
    help: 'Circuit breaker state changes.',
    labelNames: ['breaker', 'from', 'to'],
    registers,
  });

  // Ollama
  const ollamaDuration = new Histogram({
    name: 'parley_ollama_request_duration_seconds',
    help: 'Ollama calls through the circuit (retries included) by model, operation and outcome.',
    labelNames: ['model', 'operation', 'outcome'],
    buckets: OLLAMA_BUCKETS,
    registers,
  });
  const firstToken = new Histogram({
    name: 'parley_ollama_time_to_first_token_seconds',
    help: 'Time from a chat request to its first token.',
    labelNames: ['model'],
    buckets: FIRST_TOKEN_BUCKETS,
    registers,
  });
  const tokenRate = new Histogram({
    name: 'parley_ollama_tokens_per_second',
    help: 'Generation speed per chat reply (completion tokens / eval duration).',
    labelNames: ['model'],
    buckets: TOKEN_RATE_BUCKETS,
    registers,
  });
  const tokens = new Counter({
    name: 'parley_ollama_tokens_total',
    help: 'Tokens reported by Ollama for finished chats, by model and type (prompt, completion).',
    labelNames: ['model', 'type'],
    registers,
  });
  const ollamaErrors = new Counter({
    name: 'parley_ollama_errors_total',
    help: 'Failed Ollama calls by model and kind.',
    labelNames: ['model', 'kind'],
    registers,
  });

  // Security
  const rateLimitHits = new Counter({
    name: 'parley_rate_limit_hits_total',
    help: 'Requests refused by a rate limit, by limit name and caller tier.',
    labelNames: ['limit', 'tier'],
    registers,
  });
  const authFailures = new Counter({
    name: 'parley_auth_failures_total',
    help: 'Refused authentication attempts by reason.',
    labelNames: ['reason'],
    registers,
  });

  // Compression
  const compressionRuns = new Counter({
    name: 'parley_compression_runs_total',
    help: 'Compression runs finished here, by algorithm and outcome.',
    labelNames: ['algorithm', 'outcome'],
    registers,
  });
  const compressionInput = new Counter({
    name: 'parley_compression_input_bytes_total',
    help: 'Uncompressed bytes of runs that completed a round trip.',
    labelNames: ['algorithm'],
    registers,
  });
  const compressionOutput = new Counter({
    name: 'parley_compression_output_bytes_total',
    help: 'Compressed bytes produced by runs that completed a round trip.',
    labelNames: ['algorithm'],
    registers,
  });
  const codecDuration = new Histogram({
    name: 'parley_compression_duration_seconds',
    help: 'Codec time per run by algorithm and phase (compress, decompress).',
    labelNames: ['algorithm', 'phase'],
    buckets: CODEC_BUCKETS,
    registers,
  });
  const codecThroughput = new Histogram({
    name: 'parley_compression_throughput_bytes_per_second',
    help: 'Per-run codec throughput (input bytes / phase time) by algorithm and phase.',
    labelNames: ['algorithm', 'phase'],
    buckets: THROUGHPUT_BUCKETS,
    registers,
  });

  let inFlight: Promise<void> | undefined;
  /** Refreshes the SQL-backed gauges; on failure they keep their last values and `databaseUp` says so. */
  const refreshFromDatabase = (): Promise<void> =>
    (inFlight ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        if (!sources.query || sources.databaseUnavailable?.()) throw new Error('database unavailable');
        const rows = (await Promise.race([
          sources.query(SCRAPE_SQL),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('scrape query timed out')), SCRAPE_QUERY_TIMEOUT_MS);
          }),
        ])) as unknown as ScrapeRow[];
        jobDepth.reset();
        jobOldest.reset();
        debates.reset();
        for (const kind of sources.jobKinds?.() ?? []) {
          for (const state of ['ready', 'scheduled', 'running']) jobDepth.set({ kind, state }, 0);
          jobOldest.set({ kind }, 0);
        }
        for (const status of DEBATE_STATUSES) debates.set({ status }, 0);
        for (const row of rows) {
          if (row.source === 'debate') {
            debates.set({ status: row.name }, Number(row.ready));
            continue;
          }
          jobDepth.set({ kind: row.name, state: 'ready' }, Number(row.ready));
          jobDepth.set({ kind: row.name, state: 'scheduled' }, Number(row.scheduled));
          jobDepth.set({ kind: row.name, state: 'running' }, Number(row.running));
          jobOldest.set({ kind: row.name }, Number(row.oldest));
        }
        databaseUp.set(1);
      } catch {
        databaseUp.set(0);
      } finally {
        clearTimeout(timer);
        inFlight = undefined;
      }
    })());

  return {
    registry,
    /** Binds the scrape to the running app's pieces (called as they are created). */
    watch(more: Partial<MetricSources>): void {
      Object.assign(sources, more);
    },
    /** The exposition text; never fails because the database is away. */
    async scrape(): Promise<{ contentType: string; body: string }> {
      await refreshFromDatabase();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },

    /**
     * Express middleware timing every request (install first). `mounts` are the paths mounted with
     * `app.use(path, …)`: a request refused by an app-level error handler (413 from the body parser) has
     * left its mount by the time it finishes, so it is matched to one by its path.
     */
    httpMiddleware(mounts: string[] = []): RequestHandler {
      return (req, res, next) => {
        const started = performance.now();
        res.once('finish', () => {
          const method = HTTP_METHODS.has(req.method) ? req.method : 'other';
          const path = req.originalUrl.split('?')[0]!;
          // The matched route, never the raw URL: unmatched paths would be unbounded label values.
          const route = req.route
            ? `${req.baseUrl}${String((req.route as { path: unknown }).path)}`
            : (mounts.find((mount) => path === mount || path.startsWith(`${mount}/`)) ??
              (req.baseUrl || 'unmatched'));
          httpChild(`${method} ${route} ${res.statusCode}`).observe((performance.now() - started) / 1e3);
        });
        next();
      };
    },
    graphqlOperation(name: string | null | undefined, type: string, seconds: number): void {
      let label = name ?? 'anonymous';
      if (type === 'unknown') label = 'unknown';
      else if (!operationNames.has(label)) {
        if (operationNames.size >= MAX_OPERATION_NAMES) label = '__other';
        else operationNames.add(label);
      }
      operationDuration.observe({ operation_name: label, operation_type: type }, seconds);
    },
    /** Formatted errors as sent to the client. */
    graphqlErrors(type: string, errors: readonly GraphQLFormattedError[] | undefined): void {
      for (const error of errors ?? []) {
        const code = typeof error.extensions?.code === 'string' ? error.extensions.code : 'UNKNOWN';
        graphqlErrors.inc({ code, operation_type: type });
      }
    },

    /** An event was handed to a stream's local subscribers. */
    fannedOut(stream: string, createdAt: Date, notifiedAt: number | undefined): void {
      const kind = streamKind(stream);
      fanoutCreated(kind).observe(Math.max(0, Date.now() - createdAt.getTime()) / 1e3);
      if (notifiedAt !== undefined) fanoutNotify(kind).observe((performance.now() - notifiedAt) / 1e3);
    },

    jobFinished(kind: string, outcome: JobOutcome, seconds: number): void {
      jobDuration.observe({ kind, outcome }, seconds);
    },

    breakerTransition({ previous, snapshot }: Transition): void {
      breakerTransitions.inc({
        breaker: snapshot.name,
        from: BREAKER_STATES[previous],
        to: BREAKER_STATES[snapshot.state],
      });
    },

    /** Starts timing one Ollama call; tell the result with `ok` or `failed`. */
    ollamaCall(operation: 'chat' | 'list', model = '') {
      const started = performance.now();
      const observe = (outcome: string) =>
        ollamaDuration.observe({ model, operation, outcome }, (performance.now() - started) / 1e3);
      return {
        ok(result?: unknown): void {
          observe('ok');
          if (operation !== 'chat' || !result) return;
          const chat = result as ChatResult;
          tokens.inc({ model, type: 'prompt' }, chat.promptTokens);
          tokens.inc({ model, type: 'completion' }, chat.completionTokens);
          const seconds = (chat.evalMs || performance.now() - started) / 1e3;
          if (chat.completionTokens > 0 && seconds > 0)
            tokenRate.observe({ model }, chat.completionTokens / seconds);
        },
        failed(error: unknown): void {
          observe('error');
          ollamaErrors.inc({ model, kind: ollamaErrorKind(error) });
        },
        firstToken(sinceAttemptStartMs: number): void {
          firstToken.observe({ model }, sinceAttemptStartMs / 1e3);
        },
      };
    },

    /**
     * A request refused by a rate limit. Takes RateLimiter's `onLimited` names as they are
     * (`operations:<TIER>`, or a field limit such as `loginPerAccount`, whose tier is `any`).
     */
    rateLimitHit(limit: string, tier?: string): void {
      const colon = limit.indexOf(':');
      if (tier === undefined && colon > 0) [limit, tier] = [limit.slice(0, colon), limit.slice(colon + 1)];
      rateLimitHits.inc({ limit, tier: tier ?? 'any' });
    },
    authFailure(reason: AuthFailureReason): void {
      authFailures.inc({ reason });
    },

    /** A run ended (status SUCCEEDED, FAILED or CANCELLED); `result` when it got as far as a round trip. */
    compressionRunEnded(algorithm: string, status: string, result: CompressionResult | undefined): void {
      compressionRuns.inc({ algorithm, outcome: status.toLowerCase() });
      if (!result) return;
      compressionInput.inc({ algorithm }, result.inputBytes);
      compressionOutput.inc({ algorithm }, result.outputBytes);
      for (const [phase, ms] of [
        ['compress', result.compressMs],
        ['decompress', result.decompressMs],
      ] as const) {
        codecDuration.observe({ algorithm, phase }, ms / 1e3);
        if (ms > 0) codecThroughput.observe({ algorithm, phase }, result.inputBytes / (ms / 1e3));
      }
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
export type OllamaCallTimer = ReturnType<Metrics['ollamaCall']>;

/** Mirrors OllamaProvider.guard's classification. */
function ollamaErrorKind(error: unknown): string {
  const status = (error as { status_code?: number }).status_code;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof ServiceUnavailableError)
    return error.details.circuitState !== undefined ? 'circuit_open' : 'unavailable';
  if ((error as Error | undefined)?.name === 'AbortError') return 'aborted';
  if (status === 404 && /model/i.test(message)) return 'model_not_found';
  return isTransient(error) ? 'unavailable' : 'refused';
}
