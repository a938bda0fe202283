import { Redis } from 'ioredis';
import type { Store } from 'graphql-rate-limit';
import type { GuardedCircuit } from '../resilience/circuit.js';
import type { Logger } from '../observability/logger.js';

/** A token bucket: refills at `perSecond` up to `burst`. */
export interface Bucket {
  perSecond: number;
  burst: number;
}

export interface Take {
  allowed: boolean;
  /** When refused: milliseconds until enough tokens are back. */
  retryAfterMs: number;
}

/** graphql-rate-limit's identity: who (`contextIdentity`) and what (`fieldIdentity`). */
type Identity = Parameters<Store['getForIdentity']>[0];

/**
 * Where counters live. Two kinds of limit share it: token buckets (operations per role tier; O(1) per
 * call, atomic) and graphql-rate-limit's call logs (login and refresh: a few calls per window).
 */
export interface CounterStore extends Store {
  take(key: string, bucket: Bucket, cost: number): Promise<Take>;
  getForIdentity(identity: Identity): Promise<readonly number[]>;
  setForIdentity(identity: Identity, timestamps: readonly number[], windowMs?: number): Promise<void>;
  close(): Promise<void>;
}

const identityKey = (identity: Identity) => `${identity.contextIdentity}\u0000${identity.fieldIdentity}`;

/** One process's counters; entries expire so a stream of new addresses cannot grow it forever. */
export class MemoryCounterStore implements CounterStore {
  private readonly buckets = new Map<string, { tokens: number; at: number; expiresAt: number }>();
  private readonly logs = new Map<string, { timestamps: readonly number[]; expiresAt: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(sweepMs = 30_000) {
    this.sweeper = setInterval(() => this.sweep(), sweepMs);
    this.sweeper.unref();
  }

  take(key: string, bucket: Bucket, cost: number): Promise<Take> {
    const now = Date.now();
    const state = this.buckets.get(key);
    const tokens = state
      ? Math.min(bucket.burst, state.tokens + ((now - state.at) / 1000) * bucket.perSecond)
      : bucket.burst;
    const allowed = tokens >= cost;
    const left = allowed ? tokens - cost : tokens;
    // Full again after this long; then the entry says nothing a fresh one would not.
    const expiresAt = now + ((bucket.burst - left) / bucket.perSecond) * 1000;
    this.buckets.set(key, { tokens: left, at: now, expiresAt });
    const retryAfterMs = allowed ? 0 : Math.ceil(((cost - tokens) / bucket.perSecond) * 1000);
    return Promise.resolve({ allowed, retryAfterMs });
  }

  getForIdentity(identity: Identity): Promise<readonly number[]> {
    return Promise.resolve(this.logs.get(identityKey(identity))?.timestamps ?? []);
  }

  setForIdentity(identity: Identity, timestamps: readonly number[], windowMs = 60_000): Promise<void> {
    const newest = timestamps.length ? Math.max(...timestamps) : Date.now();
    this.logs.set(identityKey(identity), { timestamps: [...timestamps], expiresAt: newest + windowMs });
    return Promise.resolve();
  }

  get size(): number {
    return this.buckets.size + this.logs.size;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.buckets) if (entry.expiresAt <= now) this.buckets.delete(key);
    for (const [key, entry] of this.logs) if (entry.expiresAt <= now) this.logs.delete(key);
  }

  close(): Promise<void> {
    clearInterval(this.sweeper);
    return Promise.resolve();
  }
}

// Redis's clock decides, so replicas with drifting clocks share one bucket fairly.
const TAKE_SCRIPT = `
local per_ms = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'at', 'tokens')
local tokens = burst
if state[1] then tokens = math.min(burst, tonumber(state[2]) + (now - tonumber(state[1])) * per_ms) end
local allowed = 0
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait = math.ceil((cost - tokens) / per_ms)
end
redis.call('HSET', KEYS[1], 'at', now, 'tokens', tostring(tokens))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / per_ms) + 1000)
return { allowed, wait }
`;

// Merges instead of overwriting: two replicas recording a call at once both keep theirs.
const MERGE_LOG_SCRIPT = `
local window = tonumber(ARGV[1])
local incoming = cjson.decode(ARGV[2])
local stored = redis.call('GET', KEYS[1])
local seen = {}
local merged = {}
local newest = 0
local function add(list)
  for _, t in ipairs(list) do
    if not seen[t] then
      seen[t] = true
      table.insert(merged, t)
      if t > newest then newest = t end
    end
  end
end
if stored then add(cjson.decode(stored)) end
add(incoming)
table.sort(merged)
local cutoff = newest - window
local kept = {}
for _, t in ipairs(merged) do if t > cutoff then table.insert(kept, t) end end
if #kept == 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('SET', KEYS[1], cjson.encode(kept), 'PX', window + 1000)
return #kept
`;

type ScriptedRedis = Redis & {
  parleyTake(key: string, perSecond: number, burst: number, cost: number): Promise<[number, number]>;
  parleyMergeLog(key: string, windowMs: number, timestampsJson: string): Promise<number>;
};

/**
 * Counters in Redis, shared by every replica. Each call goes through the `redis` circuit; a failing or
 * unreachable Redis (or an open circuit) falls back to this process's own counters, so an outage of
 * Redis loosens the limits to per-replica ones instead of refusing or admitting everything.
 */
export class RedisCounterStore implements CounterStore {
  private readonly redis: ScriptedRedis;
  private readonly prefix = 'parley:rl:';
  private degraded = false;

  constructor(
    url: string,
    private readonly circuit: GuardedCircuit,
    private readonly fallback: MemoryCounterStore,
    private readonly log: Logger,
  ) {
    this.redis = new Redis(url, {
      // Fail at once while disconnected rather than queueing: the fallback answers instead.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 2_000,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
      lazyConnect: false,
    }) as ScriptedRedis;
    this.redis.on('error', (err: Error) => this.log.debug({ err }, 'redis connection error'));
    this.redis.defineCommand('parleyTake', { numberOfKeys: 1, lua: TAKE_SCRIPT });
    this.redis.defineCommand('parleyMergeLog', { numberOfKeys: 1, lua: MERGE_LOG_SCRIPT });
  }

  private async guarded<T>(work: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    try {
      const result = await this.circuit.execute(work);
      if (this.degraded) {
        this.degraded = false;
        this.log.info('rate-limit counters are shared through Redis again');
      }
      return result;
    } catch (err) {
      if (!this.degraded) {
        this.degraded = true;
        this.log.warn({ err }, 'Redis unavailable: rate limits counted per replica until it is back');
      }
      return fallback();
    }
  }

  take(key: string, bucket: Bucket, cost: number): Promise<Take> {
    return this.guarded(
      async () => {
        const [allowed, wait] = await this.redis.parleyTake(
          this.prefix + key,
          bucket.perSecond,
          bucket.burst,
          cost,
        );
        return { allowed: allowed === 1, retryAfterMs: wait };
      },
      () => this.fallback.take(key, bucket, cost),
    );
  }

  getForIdentity(identity: Identity): Promise<readonly number[]> {
    return this.guarded(
      async () => {
        const stored = await this.redis.get(this.prefix + identityKey(identity));
        return stored ? (JSON.parse(stored) as number[]) : [];
      },
      () => this.fallback.getForIdentity(identity),
    );
  }

  setForIdentity(identity: Identity, timestamps: readonly number[], windowMs = 60_000): Promise<void> {
    return this.guarded(
      async () => {
        await this.redis.parleyMergeLog(
          this.prefix + identityKey(identity),
          windowMs,
          JSON.stringify(timestamps),
        );
      },
      () => this.fallback.setForIdentity(identity, timestamps, windowMs),
    );
  }

  async close(): Promise<void> {
    await this.fallback.close();
    this.redis.disconnect();
  }
}
