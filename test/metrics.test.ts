import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promqlMetrics, withoutGrafanaVariables } from '../scripts/promql.js';
import { Role } from '../src/modules/users/role.js';
import {
  CircuitBreakersDocument,
  CompressionRunDocument,
  ConversationEventsDocument,
  CreateAgentDocument,
  CreateCompressionRunDocument,
  CreateDebateDocument,
  LoginDocument,
  ModelsDocument,
  SendMessageDocument,
  StartConversationDocument,
  type ConversationEventsSubscription,
} from '../src/sdk/generated/graphql.js';
import { createActor, type Actor } from './support/actors.js';
import { codes, execute } from './support/client.js';
import { query } from './support/database.js';
import { eventually } from './support/eventually.js';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.js';
import { startTestServer, type TestServer } from './support/server.js';
import { connectWs, subscribe, type WsClient } from './support/ws.js';

/*
 * One workload (sign-in, queries, a failing query, a subscription receiving events, a reply from the fake
 * Ollama, a refused model, a tripped breaker, a compression run, a debate, a lost LISTEN connection), then
 * the exposition text is parsed and every metric of docs/METRICS.md is checked for values the workload
 * must have produced.
 */

interface Sample {
  labels: Record<string, string>;
  value: number;
}
type Exposition = Map<string, Sample[]>;

/** A small parser for the Prometheus text format (what prom-client writes: no timestamps, no exemplars). */
function parse(text: string): { samples: Exposition; types: Map<string, string> } {
  const samples: Exposition = new Map();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      types.set(name!, type!);
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key!] = value!.replace(/\\(.)/g, (_, char: string) => (char === 'n' ? '\n' : char));
    const value = match[3] === '+Inf' ? Infinity : match[3] === '-Inf' ? -Infinity : Number(match[3]);
    const list = samples.get(match[1]!) ?? [];
    list.push({ labels, value });
    samples.set(match[1]!, list);
  }
  return { samples, types };
}

let server: TestServer;
let fake: FakeOllama;
let admin: Actor;
let agentId: string;
const sockets: WsClient[] = [];
const port = { ollama: 0 };
const ollamaEnv = (url: string) => ({
  OLLAMA_HOST: url,
  OLLAMA_RETRIES: '0',
  OLLAMA_TIMEOUT_MS: '3000',
  OLLAMA_BREAKER_WINDOW: '4',
  OLLAMA_BREAKER_MIN_CALLS: '2',
  OLLAMA_BREAKER_FAILURE_RATE: '50',
  OLLAMA_BREAKER_OPEN_MS: '600',
  OLLAMA_BREAKER_HALF_OPEN_CALLS: '1',
  JOB_POLL_MS: '200',
});

async function scrape(target = server) {
  const response = await fetch(target.url.replace('/graphql', '/metrics'));
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await response.text());
}

/** The samples of `name` whose labels include `labels`. */
function find(exposition: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return (exposition.get(name) ?? []).filter((sample) =>
    Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
}
function value(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = find(exposition, name, labels);
  if (found.length !== 1)
    throw new Error(`${name}${JSON.stringify(labels)}: ${found.length} samples, expected 1`);
  return found[0]!.value;
}
const sum = (exposition: Exposition, name: string, labels: Record<string, string> = {}) =>
  find(exposition, name, labels).reduce((total, sample) => total + sample.value, 0);

/**
 * Every series of histogram `name`: buckets cumulative (non-decreasing with `le`), `+Inf` equal to
 * `_count`, `_sum` ≥ 0. Returns the series' label sets with their counts.
 */
function histogram(
  exposition: Exposition,
  name: string,
): { labels: Record<string, string>; count: number }[] {
  const series = new Map<string, { labels: Record<string, string>; buckets: [number, number][] }>();
  for (const { labels, value: count } of exposition.get(`${name}_bucket`) ?? []) {
    const { le, ...rest } = labels;
    const key = JSON.stringify(rest);
    const entry = series.get(key) ?? { labels: rest, buckets: [] };
    entry.buckets.push([le === '+Inf' ? Infinity : Number(le), count]);
    series.set(key, entry);
  }
  const result = [];
  for (const { labels, buckets } of series.values()) {
    buckets.sort((a, b) => a[0] - b[0]);
    for (let index = 1; index < buckets.length; index++)
      expect(buckets[index]![1], `${name} buckets of ${JSON.stringify(labels)}`).toBeGreaterThanOrEqual(
        buckets[index - 1]![1],
      );
    const count = value(exposition, `${name}_count`, labels);
    expect(buckets.at(-1)).toEqual([Infinity, count]);
    expect(value(exposition, `${name}_sum`, labels)).toBeGreaterThanOrEqual(0);
    result.push({ labels, count });
  }
  return result;
}
const histogramCount = (exposition: Exposition, name: string, labels: Record<string, string>) =>
  histogram(exposition, name)
    .filter((series) => Object.entries(labels).every(([key, want]) => series.labels[key] === want))
    .reduce((total, series) => total + series.count, 0);

let exposition: Exposition;
let types: Map<string, string>;
let conversationSubscribers: { graphql: number; all: number };

beforeAll(async () => {
  fake = await startFakeOllama({
    tokenDelayMs: 5,
    replyTokens: 12,
    models: ['llama3.2:3b', 'qwen2.5:7b'],
    // A model Ollama refuses (HTTP 400: not transient, so not retried and not counted by the breaker).
    perModel: { 'qwen2.5:7b': { status: 400, errorMessage: 'invalid options' } },
  });
  port.ollama = fake.port;
  server = await startTestServer({ env: ollamaEnv(fake.url) });
  admin = await createActor(server, Role.ADMIN, 'metrics-admin');

  // GraphQL: queries, a validation failure, a denial.
  expect(
    (await execute(server.url, ModelsDocument, undefined, { token: admin.token })).errors,
  ).toBeUndefined();
  const invalid = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ noSuchField }' }),
  });
  expect(invalid.status).toBe(400);
  expect(codes(await execute(server.url, CircuitBreakersDocument, undefined))).toEqual(['UNAUTHENTICATED']);
  expect(codes(await execute(server.url, LoginDocument, { email: admin.email, password: 'wrong' }))).toEqual([
    'UNAUTHENTICATED',
  ]);
  expect((await fetch(server.url.replace('/graphql', '/no-such-path?x=1'))).status).toBe(404);
  expect((await fetch(server.url.replace('/graphql', '/health/ready'))).status).toBe(200);
  const oversized = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ me { id } }', variables: { pad: 'x'.repeat(13 * 1024 * 1024) } }),
  });
  expect(oversized.status).toBe(413);

  // A conversation watched over graphql-ws: the reply streams from the fake Ollama.
  const agent = await execute(
    server.url,
    CreateAgentDocument,
    { input: { name: 'metered', model: 'llama3.2:3b', systemPrompt: 'Be brief.' } },
    { token: admin.token },
  );
  agentId = agent.data!.createAgent.id;
  const conversationId = (
    await execute(
      server.url,
      StartConversationDocument,
      { agentId, title: 'metrics' },
      { token: admin.token },
    )
  ).data!.startConversation.id;
  const ws = connectWs(server.wsUrl, admin.token);
  sockets.push(ws);
  const events = subscribe(ws, ConversationEventsDocument, { conversationId });
  await new Promise((resolve) => setTimeout(resolve, 300));
  await execute(
    server.url,
    SendMessageDocument,
    { conversationId, content: 'Why is the sky blue?' },
    { token: admin.token },
  );
  const completed = (
    received: { conversationEvents: ConversationEventsSubscription['conversationEvents'] }[],
  ) => received.some((event) => event.conversationEvents.type === 'REPLY_COMPLETED') || undefined;
  await eventually(() => completed(events.received), { timeoutMs: 15_000, what: 'the reply' });
  const counts = server.app.realtime.hub
    .subscriberCounts()
    .find((each) => each.stream.startsWith('conversation:'));
  conversationSubscribers = { graphql: counts?.graphql ?? 0, all: counts?.all ?? 0 };

  // A model Ollama refuses.
  const refusedAgent = await execute(
    server.url,
    CreateAgentDocument,
    { input: { name: 'refused', model: 'qwen2.5:7b', systemPrompt: 'Be brief.' } },
    { token: admin.token },
  );
  const refusedConversation = (
    await execute(
      server.url,
      StartConversationDocument,
      { agentId: refusedAgent.data!.createAgent.id, title: 'refused' },
      { token: admin.token },
    )
  ).data!.startConversation.id;
  await execute(
    server.url,
    SendMessageDocument,
    { conversationId: refusedConversation, content: 'Hello?' },
    { token: admin.token },
  );
  await eventually(
    () =>
      fake.requests.some((request) => (request.body as { model?: string })?.model === 'qwen2.5:7b') ||
      undefined,
    {
      timeoutMs: 10_000,
      what: 'the refused request',
    },
  );

  // A compression run and a (pending) debate.
  const run = await execute(
    server.url,
    CreateCompressionRunDocument,
    { input: { algorithm: 'GZIP', data: { corpus: { kind: 'TEXT', sizeBytes: 256 * 1024, seed: 3 } } } },
    { token: admin.token },
  );
  expect(run.errors).toBeUndefined();
  await eventually(
    async () => {
      const status = (
        await execute(
          server.url,
          CompressionRunDocument,
          { id: run.data!.createCompressionRun.id },
          { token: admin.token },
        )
      ).data?.compressionRun?.status;
      return status === 'SUCCEEDED' ? status : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: 'the compression run' },
  );
  const debate = await execute(
    server.url,
    CreateDebateDocument,
    { input: { topic: 'Tabs or spaces?', participants: [{ agentId }, { agentId }] } },
    { token: admin.token },
  );
  expect(debate.errors).toBeUndefined();

  // Jobs nobody here runs: one due 30 s ago, one due in an hour.
  await query(
    server.databaseUrl,
    `insert into jobs (id, kind, key, payload, status, attempts, max_attempts, run_after, created_at, updated_at)
     values (gen_random_uuid(), 'metrics.probe', 'metrics-probe-due', '{}', 'QUEUED', 0, 5, now() - interval '30 seconds', now(), now()),
            (gen_random_uuid(), 'metrics.probe', 'metrics-probe-later', '{}', 'QUEUED', 0, 5, now() + interval '1 hour', now(), now())`,
  );

  // The breaker: Ollama goes away (two failures open it), a call is refused, Ollama returns, it closes.
  await fake.close();
  for (let index = 0; index < 2; index++)
    expect(codes(await execute(server.url, ModelsDocument, undefined, { token: admin.token }))).toEqual([
      'SERVICE_UNAVAILABLE',
    ]);
  expect(codes(await execute(server.url, ModelsDocument, undefined, { token: admin.token }))).toEqual([
    'SERVICE_UNAVAILABLE',
  ]);
  fake = await startFakeOllama({ port: port.ollama, models: ['llama3.2:3b'] });
  await eventually(
    async () =>
      (await execute(server.url, ModelsDocument, undefined, { token: admin.token })).errors
        ? undefined
        : true,
    { timeoutMs: 5_000, intervalMs: 100, what: 'the breaker to close' },
  );

  // The LISTEN connection is killed: it reconnects.
  await query(
    server.databaseUrl,
    `select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and query ilike 'listen parley_events%'`,
  );
  await eventually(
    () =>
      (server.app.realtime.listener.reconnects > 0 && server.app.realtime.listener.state === 'listening') ||
      undefined,
    { timeoutMs: 5_000, what: 'the listener to reconnect' },
  );

  ({ samples: exposition, types } = await scrape());
}, 90_000);

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
  await server?.close();
  await fake?.close();
});

describe('/metrics', () => {
  it('serves the text format with types following the naming conventions', () => {
    for (const [name, type] of types) {
      if (type === 'counter') expect(name, name).toMatch(/_total$/);
      if (name.startsWith('parley_') && type !== 'counter') expect(name, name).not.toMatch(/_total$/);
    }
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    expect(value(exposition, 'parley_build_info', { version })).toBe(1);
  });

  it('process metrics from collectDefaultMetrics, without a prefix', () => {
    expect(value(exposition, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(exposition, 'process_resident_memory_bytes')).toBeGreaterThan(10e6);
    expect(value(exposition, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(1e6);
    expect(types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
  });

  it('HTTP request durations by method, matched route and status', () => {
    histogram(exposition, 'parley_http_request_duration_seconds');
    const name = 'parley_http_request_duration_seconds';
    expect(
      histogramCount(exposition, name, { method: 'POST', route: '/graphql', status: '200' }),
    ).toBeGreaterThan(10);
    expect(
      histogramCount(exposition, name, { method: 'POST', route: '/graphql', status: '400' }),
    ).toBeGreaterThanOrEqual(1);
    expect(histogramCount(exposition, name, { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(histogramCount(exposition, name, { method: 'GET', route: '/health/ready', status: '200' })).toBe(
      1,
    );
    // Refused by the body parser before Apollo: still the /graphql route.
    expect(histogramCount(exposition, name, { method: 'POST', route: '/graphql', status: '413' })).toBe(1);
    // No raw URLs as label values.
    const routes = new Set(find(exposition, `${name}_count`).map((sample) => sample.labels.route));
    expect(
      [...routes].every(
        (route) =>
          route === 'unmatched' ||
          route === '/graphql' ||
          route.startsWith('/health') ||
          route === '/metrics',
      ),
    ).toBe(true);
  });

  it('GraphQL operation durations by name and type, errors by code', () => {
    const name = 'parley_graphql_operation_duration_seconds';
    histogram(exposition, name);
    expect(
      histogramCount(exposition, name, { operation_name: 'Login', operation_type: 'mutation' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      histogramCount(exposition, name, { operation_name: 'Models', operation_type: 'query' }),
    ).toBeGreaterThanOrEqual(5);
    expect(histogramCount(exposition, name, { operation_name: 'unknown', operation_type: 'unknown' })).toBe(
      1,
    );
    expect(
      histogramCount(exposition, name, {
        operation_name: 'ConversationEvents',
        operation_type: 'subscription',
      }),
    ).toBe(1);

    const errors = 'parley_graphql_errors_total';
    expect(value(exposition, errors, { code: 'GRAPHQL_VALIDATION_FAILED', operation_type: 'unknown' })).toBe(
      1,
    );
    expect(value(exposition, errors, { code: 'UNAUTHENTICATED', operation_type: 'query' })).toBe(1);
    expect(value(exposition, errors, { code: 'UNAUTHENTICATED', operation_type: 'mutation' })).toBe(1);
    expect(
      value(exposition, errors, { code: 'SERVICE_UNAVAILABLE', operation_type: 'query' }),
    ).toBeGreaterThanOrEqual(3);
  });

  it('WebSocket connections and subscriptions by stream kind', () => {
    expect(value(exposition, 'parley_websocket_connections')).toBe(1);
    expect(conversationSubscribers.graphql).toBe(1);
    expect(value(exposition, 'parley_graphql_subscriptions_active', { stream_kind: 'conversation' })).toBe(1);
    expect(value(exposition, 'parley_graphql_subscriptions_active', { stream_kind: 'debate' })).toBe(0);
    expect(value(exposition, 'parley_graphql_subscriptions_active', { stream_kind: 'breakers' })).toBe(0);
    // The breaker-reset follower is a hub subscriber, not a GraphQL subscription.
    expect(value(exposition, 'parley_event_hub_subscribers', { stream_kind: 'breakers' })).toBe(1);
    expect(
      value(exposition, 'parley_event_hub_subscribers', { stream_kind: 'conversation' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('event fan-out delay and LISTEN reconnects', () => {
    const name = 'parley_event_fanout_delay_seconds';
    histogram(exposition, name);
    // MESSAGE_ADDED, REPLY_STARTED, REPLY_COMPLETED at least, each announced by NOTIFY.
    expect(
      histogramCount(exposition, name, { stream_kind: 'conversation', from: 'created' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      histogramCount(exposition, name, { stream_kind: 'conversation', from: 'notify' }),
    ).toBeGreaterThanOrEqual(2);
    // Delivered well within a second on an idle test machine (sum over count is the mean).
    const mean =
      value(exposition, `${name}_sum`, { stream_kind: 'conversation', from: 'notify' }) /
      value(exposition, `${name}_count`, { stream_kind: 'conversation', from: 'notify' });
    expect(mean).toBeLessThan(1);
    expect(value(exposition, 'parley_event_listener_reconnects_total')).toBeGreaterThanOrEqual(1);
    expect(value(exposition, 'parley_event_listener_reconnects_total')).toBe(
      server.app.realtime.listener.reconnects,
    );
    expect(value(exposition, 'parley_event_listener_up')).toBe(1);
  });

  it('job queue depth and age by kind (one SQL statement), job durations', () => {
    expect(value(exposition, 'parley_scrape_database_up')).toBe(1);
    expect(value(exposition, 'parley_job_queue_depth', { kind: 'metrics.probe', state: 'ready' })).toBe(1);
    expect(value(exposition, 'parley_job_queue_depth', { kind: 'metrics.probe', state: 'scheduled' })).toBe(
      1,
    );
    expect(value(exposition, 'parley_job_queue_depth', { kind: 'metrics.probe', state: 'running' })).toBe(0);
    const age = value(exposition, 'parley_job_queue_oldest_age_seconds', { kind: 'metrics.probe' });
    expect(age).toBeGreaterThanOrEqual(30);
    expect(age).toBeLessThan(600);
    // Registered kinds are exported even when idle.
    expect(value(exposition, 'parley_job_queue_depth', { kind: 'compression.run', state: 'ready' })).toBe(0);
    expect(value(exposition, 'parley_job_queue_oldest_age_seconds', { kind: 'compression.run' })).toBe(0);

    const name = 'parley_job_duration_seconds';
    histogram(exposition, name);
    expect(
      histogramCount(exposition, name, { kind: 'conversation.reply', outcome: 'succeeded' }),
    ).toBeGreaterThanOrEqual(1);
    expect(histogramCount(exposition, name, { kind: 'compression.run', outcome: 'succeeded' })).toBe(1);
    expect(
      histogramCount(exposition, name, { kind: 'conversation.reply', outcome: 'failed' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('breaker state (one-hot) and transitions', () => {
    const breaker = `ollama:${fake.url}`;
    expect(value(exposition, 'parley_breaker_state', { breaker, state: 'closed' })).toBe(1);
    expect(value(exposition, 'parley_breaker_state', { breaker, state: 'open' })).toBe(0);
    expect(value(exposition, 'parley_breaker_state', { breaker, state: 'half_open' })).toBe(0);
    expect(value(exposition, 'parley_breaker_state', { breaker: 'postgres', state: 'closed' })).toBe(1);
    expect(
      value(exposition, 'parley_breaker_transitions_total', { breaker, from: 'closed', to: 'open' }),
    ).toBe(1);
    expect(
      value(exposition, 'parley_breaker_transitions_total', { breaker, from: 'open', to: 'half_open' }),
    ).toBe(1);
    expect(
      value(exposition, 'parley_breaker_transitions_total', { breaker, from: 'half_open', to: 'closed' }),
    ).toBe(1);
  });

  it('Ollama latency, time to first token, tokens per second, tokens and errors by model', () => {
    const model = 'llama3.2:3b';
    const duration = 'parley_ollama_request_duration_seconds';
    histogram(exposition, duration);
    expect(
      histogramCount(exposition, duration, { model, operation: 'chat', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      histogramCount(exposition, duration, { model: '', operation: 'list', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(2);
    // Two failures opened the breaker; refusals while it was open are errors too.
    expect(
      histogramCount(exposition, duration, { model: '', operation: 'list', outcome: 'error' }),
    ).toBeGreaterThanOrEqual(3);
    expect(
      histogramCount(exposition, 'parley_ollama_time_to_first_token_seconds', { model }),
    ).toBeGreaterThanOrEqual(1);
    const rate = 'parley_ollama_tokens_per_second';
    expect(histogramCount(exposition, rate, { model })).toBeGreaterThanOrEqual(1);
    expect(value(exposition, `${rate}_sum`, { model })).toBeGreaterThan(0);
    expect(
      value(exposition, 'parley_ollama_tokens_total', { model, type: 'completion' }),
    ).toBeGreaterThanOrEqual(12);
    expect(value(exposition, 'parley_ollama_tokens_total', { model, type: 'prompt' })).toBeGreaterThan(0);

    const errors = 'parley_ollama_errors_total';
    expect(value(exposition, errors, { model: 'qwen2.5:7b', kind: 'refused' })).toBeGreaterThanOrEqual(1);
    expect(value(exposition, errors, { model: '', kind: 'unavailable' })).toBe(2);
    expect(value(exposition, errors, { model: '', kind: 'circuit_open' })).toBeGreaterThanOrEqual(1);
    expect(sum(exposition, errors, { model: '' })).toBe(
      histogramCount(exposition, duration, { model: '', operation: 'list', outcome: 'error' }),
    );
  });

  it('debates by status and compression throughput by algorithm', () => {
    expect(value(exposition, 'parley_debates', { status: 'PENDING' })).toBe(1);
    for (const status of ['RUNNING', 'PAUSED', 'CONCLUDED', 'CANCELLED', 'FAILED'])
      expect(value(exposition, 'parley_debates', { status })).toBe(0);

    const algorithm = 'GZIP';
    expect(value(exposition, 'parley_compression_runs_total', { algorithm, outcome: 'succeeded' })).toBe(1);
    expect(value(exposition, 'parley_compression_input_bytes_total', { algorithm })).toBe(256 * 1024);
    const output = value(exposition, 'parley_compression_output_bytes_total', { algorithm });
    expect(output).toBeGreaterThan(0);
    expect(output).toBeLessThan(256 * 1024); // text compresses
    histogram(exposition, 'parley_compression_duration_seconds');
    expect(
      histogramCount(exposition, 'parley_compression_duration_seconds', { algorithm, phase: 'compress' }),
    ).toBe(1);
    expect(
      histogramCount(exposition, 'parley_compression_duration_seconds', { algorithm, phase: 'decompress' }),
    ).toBe(1);
    const throughput = 'parley_compression_throughput_bytes_per_second';
    histogram(exposition, throughput);
    expect(value(exposition, `${throughput}_sum`, { algorithm, phase: 'compress' })).toBeGreaterThan(1e5);
  });

  it('rate-limit hits and auth failures, counted where the requests are refused', async () => {
    // A replica with tight limits: anonymous callers 3 operations, then 1 a second; 1 sign-in per account.
    const limited = await startTestServer({
      databaseUrl: server.databaseUrl,
      env: { ...ollamaEnv(fake.url), RATE_LIMIT_ANONYMOUS: '1,3', LOGIN_LIMIT_PER_ACCOUNT: '1,60' },
    });
    try {
      const post = (body: unknown, headers: Record<string, string> = {}) =>
        fetch(limited.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
      const codeOf = async (response: Response) =>
        ((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions
          .code;
      const login = {
        query:
          'mutation { login(email: "nobody@example.test", password: "not the password") { accessToken } }',
      };
      expect(await codeOf(await post(login))).toBe('UNAUTHENTICATED');
      expect(await codeOf(await post(login))).toBe('RATE_LIMITED');
      const garbage = await post({ query: '{ me { id } }' }, { authorization: 'Bearer not.a.token' });
      expect(await codeOf(garbage)).toBe('UNAUTHENTICATED');
      expect((await post({ query: '{ __typename }' })).status).toBe(429);

      const { samples } = await scrape(limited);
      expect(value(samples, 'parley_rate_limit_hits_total', { limit: 'operations', tier: 'ANONYMOUS' })).toBe(
        1,
      );
      expect(value(samples, 'parley_rate_limit_hits_total', { limit: 'loginPerAccount', tier: 'any' })).toBe(
        1,
      );
      expect(value(samples, 'parley_auth_failures_total', { reason: 'bad_credentials' })).toBe(1);
      expect(value(samples, 'parley_auth_failures_total', { reason: 'token_invalid' })).toBe(1);
    } finally {
      await limited.close();
    }
  });

  it('every metric the dashboards and alert rules name is in this scrape', async () => {
    const text = await (await fetch(server.url.replace('/graphql', '/metrics'))).text();
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!]));
    const exported = (metric: string) => {
      if (types.has(metric)) return true;
      const base = metric.replace(/_(bucket|sum|count)$/, '');
      return base !== metric && ['histogram', 'summary'].includes(types.get(base) ?? '');
    };
    const expressions: { where: string; expr: string }[] = [];
    const rules = parseYaml(await readFile('grafana/alert_rules.yml', 'utf8')) as {
      groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
    };
    for (const rule of rules.groups.flatMap((group) => group.rules))
      expressions.push({ where: `alert ${rule.alert ?? rule.record}`, expr: rule.expr });
    type Panel = { title?: string; targets?: { expr?: string }[]; panels?: Panel[] };
    for (const file of await readdir('grafana/dashboards')) {
      const dashboard = JSON.parse(await readFile(`grafana/dashboards/${file}`, 'utf8')) as {
        panels?: Panel[];
      };
      for (const panel of (dashboard.panels ?? []).flatMap((each) => [each, ...(each.panels ?? [])]))
        for (const target of panel.targets ?? [])
          if (target.expr) expressions.push({ where: `${file} "${panel.title}"`, expr: target.expr });
    }
    const missing = new Set<string>();
    let named = 0;
    for (const { where, expr } of expressions) {
      for (const metric of promqlMetrics(withoutGrafanaVariables(expr)).metrics) {
        named++;
        // `up` is Prometheus's own, not the app's.
        if (metric !== 'up' && !exported(metric)) missing.add(`${metric} (${where})`);
      }
    }
    expect(named).toBeGreaterThan(50);
    expect([...missing]).toEqual([]);
  });

  it('a scrape while the database is unreachable still answers, keeping the last values', async () => {
    const { metrics } = server.app.services;
    metrics.watch({ query: () => Promise.reject(new Error('connection refused')) });
    try {
      const { samples } = await scrape();
      expect(value(samples, 'parley_scrape_database_up')).toBe(0);
      expect(value(samples, 'parley_job_queue_depth', { kind: 'metrics.probe', state: 'ready' })).toBe(1);
      expect(value(samples, 'parley_debates', { status: 'PENDING' })).toBe(1);
    } finally {
      metrics.watch({ query: (sql) => server.app.orm.em.getConnection().execute(sql) });
    }
    expect(value((await scrape()).samples, 'parley_scrape_database_up')).toBe(1);
  });

  it('each app instance has its own registry', async () => {
    const other = await startTestServer({ databaseUrl: server.databaseUrl, env: ollamaEnv(fake.url) });
    try {
      const { samples } = await scrape(other);
      // Only the scrape itself has been timed there so far (the HTTP histogram observes on finish).
      expect(sum(samples, 'parley_http_request_duration_seconds_count')).toBe(0);
      expect(sum(samples, 'parley_graphql_operation_duration_seconds_count')).toBe(0);
      expect(value(samples, 'parley_websocket_connections')).toBe(0);
      // Cluster-wide gauges come from the shared database.
      expect(value(samples, 'parley_debates', { status: 'PENDING' })).toBe(1);
    } finally {
      await other.close();
    }
  });
});
