// The load generator of bench/queries.ts: autocannon (closed loop, N connections each with one request
// in flight) posting one GraphQL document over and over, as a signed-in client.
import { createRequire } from 'node:module';

interface AutocannonOptions {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  connections: number;
  duration?: number;
  amount?: number;
  timeout?: number;
}

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  latency: { p50: number; p99: number; max: number; average: number };
  requests: { total: number; average: number };
}

// autocannon is CommonJS without type declarations: the few fields used here are declared above.
const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: AutocannonOptions,
) => Promise<AutocannonResult>;

export interface LoadResult {
  /** Answered with 2xx. */
  requests: number;
  /** Not 2xx, socket errors, timeouts. */
  failed: number;
  seconds: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Posts `body` to `url` from `connections` connections for `seconds` (or until `amount` answers). */
export async function load(options: {
  url: string;
  token: string;
  body: string;
  connections: number;
  seconds?: number;
  amount?: number;
}): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` },
    body: options.body,
    connections: options.amount ? Math.min(options.connections, options.amount) : options.connections,
    ...(options.amount ? { amount: options.amount } : { duration: options.seconds ?? 10 }),
    timeout: 30,
  });
  const requests = result['2xx'];
  return {
    requests,
    failed: result.non2xx + result.errors + result.timeouts,
    seconds: result.duration,
    reqPerSec: Math.round(requests / result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
  };
}
