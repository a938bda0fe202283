// The clients of bench/compression.ts. Runs are created over HTTP with the SDK's CreateCompressionRun
// document and followed on one WebSocket per server speaking graphql-transport-ws directly (one
// subscription per run, multiplexed), with the SDK's CompressionRunUpdated document; the latency probe
// sends plain fetches of the SDK's Me document.
import { print } from 'graphql';
import WebSocket from 'ws';
import {
  CompressionRunUpdatedDocument,
  CreateCompressionRunDocument,
  MeDocument,
  type CompressionAlgorithm,
  type CompressionRunUpdatedSubscription,
  type CorpusKind,
} from '../src/sdk/generated/graphql.js';
import { execute } from './support/graphql.js';
import { now } from './support/metrics.js';

type RunEvent = CompressionRunUpdatedSubscription['compressionRunUpdated'];
export type RunFigures = NonNullable<RunEvent['run']>;

export interface RunSpec {
  algorithm: CompressionAlgorithm;
  level: number;
  kind: CorpusKind;
  sizeBytes: number;
  seed: number;
}

/** A run followed to its end; times are this process's `now()` when each thing was sent or received. */
export interface FinishedRun {
  spec: RunSpec;
  /** The run as the terminal event carried it. */
  run: RunFigures;
  sentAt: number;
  answeredAt: number;
  /** STARTED received (null if not seen: a run re-queued after a crash could skip it). */
  startedAt: number | null;
  /** First PROGRESS of each phase received (live only, so one sent before the subscription is missed). */
  phaseAt: Record<string, number>;
  endedAt: number;
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);
const subscription = print(CompressionRunUpdatedDocument);

interface Follower {
  startedAt: number | null;
  phaseAt: Record<string, number>;
  resolve: (ended: { run: RunFigures; at: number }) => void;
  reject: (error: Error) => void;
}

/** One server's runs: create, then follow each on a shared socket until SUCCEEDED, FAILED or CANCELLED. */
export class RunClient {
  private readonly followers = new Map<string, Follower>();
  private nextId = 1;

  private constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly socket: WebSocket,
  ) {
    socket.on('message', (data: Buffer) => this.onMessage(now(), data));
    socket.on('close', () => this.failAll(new Error('the run socket closed')));
  }

  static connect(url: string, wsUrl: string, token: string): Promise<RunClient> {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.on('open', () =>
        socket.send(
          JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }),
        ),
      );
      const onAck = (data: Buffer) => {
        if ((JSON.parse(data.toString()) as { type: string }).type !== 'connection_ack') return;
        socket.off('message', onAck);
        resolve(new RunClient(url, token, socket));
      };
      socket.on('message', onAck);
    });
  }

  /** Creates the run and resolves when its terminal event arrives; rejects unless it SUCCEEDED. */
  async run(spec: RunSpec): Promise<FinishedRun> {
    const { algorithm, level, kind, sizeBytes, seed } = spec;
    const sentAt = now();
    const created = await execute(
      this.url,
      CreateCompressionRunDocument,
      { input: { algorithm, level, data: { corpus: { kind, sizeBytes, seed } } } },
      this.token,
    );
    const answeredAt = now();
    const runId = created.createCompressionRun.id;
    const id = String(this.nextId++);
    // afterSeq 0 replays the stored events, so nothing is lost between the mutation and the subscription.
    const ended = new Promise<{ run: RunFigures; at: number }>((resolve, reject) =>
      this.followers.set(id, { startedAt: null, phaseAt: {}, resolve, reject }),
    );
    this.socket.send(
      JSON.stringify({
        id,
        type: 'subscribe',
        payload: { query: subscription, variables: { id: runId, afterSeq: 0 } },
      }),
    );
    const { run, at } = await ended;
    const follower = this.followers.get(id)!;
    this.followers.delete(id);
    this.socket.send(JSON.stringify({ id, type: 'complete' }));
    if (run.status !== 'SUCCEEDED') throw new Error(`run ${runId} ended ${run.status}: ${run.error ?? ''}`);
    return {
      spec,
      run,
      sentAt,
      answeredAt,
      startedAt: follower.startedAt,
      phaseAt: follower.phaseAt,
      endedAt: at,
    };
  }

  close(): void {
    this.socket.removeAllListeners('close');
    this.socket.close(1000);
  }

  private onMessage(at: number, data: Buffer): void {
    const message = JSON.parse(data.toString()) as {
      id?: string;
      type: string;
      payload?: { data?: { compressionRunUpdated: RunEvent }; errors?: unknown } | unknown[];
    };
    if (message.type === 'ping') return void this.socket.send('{"type":"pong"}');
    const follower = message.id ? this.followers.get(message.id) : undefined;
    if (!follower) return;
    if (
      message.type === 'error' ||
      (message.type === 'next' && !Array.isArray(message.payload) && message.payload?.errors)
    )
      return follower.reject(new Error(`subscription error: ${JSON.stringify(message.payload)}`));
    if (message.type !== 'next' || Array.isArray(message.payload)) return;
    const event = message.payload?.data?.compressionRunUpdated;
    if (!event) return;
    if (event.type === 'STARTED') follower.startedAt ??= at;
    else if (event.type === 'PROGRESS' && event.phase) follower.phaseAt[event.phase] ??= at;
    else if (TERMINAL.has(event.type) && event.run) follower.resolve({ run: event.run, at });
  }

  private failAll(error: Error): void {
    for (const follower of this.followers.values()) follower.reject(error);
  }
}

/** One probe request: when it left and how long until its whole answer was read. */
export interface Probe {
  at: number;
  ms: number;
}

/** How the probe sends: `rate` requests a second on a fixed schedule (open loop), or, with `rate` 0,
 * `fetchers` closed loops each sending its next request as soon as the previous answer is read. */
export interface ProbeOptions {
  rate: number;
  fetchers: number;
}

/**
 * Sends `{ me { … } }` (keep-alive connections, the body serialised once) until `stop()`. The open loop
 * keeps its schedule whatever the answers do (a late timer sends what it owes at once), so a slow answer
 * is measured instead of delaying the next request, and the probe itself adds a fixed, small load; a
 * closed loop keeps the server's event loop as busy as it can. A request that fails or answers without
 * `data.me` counts as an error.
 */
export function probeLatency(url: string, token: string, { rate, fetchers }: ProbeOptions) {
  const body = JSON.stringify({ query: print(MeDocument) });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const probes: Probe[] = [];
  let errors = 0;
  let stopping = false;
  const send = async () => {
    const at = now();
    try {
      const response = await fetch(url, { method: 'POST', headers, body });
      const text = await response.text();
      if (response.status !== 200 || !text.includes('"me":{')) errors += 1;
      else probes.push({ at, ms: now() - at });
    } catch {
      errors += 1;
    }
  };
  const inFlight = new Set<Promise<void>>();
  const fire = () => {
    const request = send().finally(() => inFlight.delete(request));
    inFlight.add(request);
  };
  let timer: NodeJS.Timeout | undefined;
  let loops: Promise<void>[] = [];
  if (rate > 0) {
    const interval = 1000 / rate;
    let next = performance.now();
    const tick = () => {
      for (const at = performance.now(); next <= at; next += interval) fire();
      timer = setTimeout(tick, Math.max(0, next - performance.now()));
    };
    tick();
  } else {
    loops = Array.from({ length: fetchers }, async () => {
      while (!stopping) await send();
    });
  }
  return {
    probes,
    errors: () => errors,
    stop: async () => {
      stopping = true;
      clearTimeout(timer);
      await Promise.all([...loops, ...inFlight]);
    },
  };
}
