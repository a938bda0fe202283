import type { GraphQLResolveInfo } from 'graphql';
import { getFieldIdentity, getGraphQLRateLimiter } from 'graphql-rate-limit';
import { RateLimitedError } from '../common/errors.js';
import type { AuthUser } from '../modules/auth/access-tokens.js';
import type { Role } from '../modules/users/role.js';
import type { Bucket, CounterStore } from './rate-limit-stores.js';

export type Tier = 'ANONYMOUS' | Role;

/** At most `max` calls in any `windowMs`. */
export interface Window {
  max: number;
  windowMs: number;
}

export interface RateLimitSettings {
  enabled: boolean;
  /** Operations (queries, mutations, subscribe messages) per caller, by role; anonymous by address. */
  tiers: Record<Tier, Bucket>;
  loginPerAccount: Window;
  loginPerAddress: Window;
  refreshPerAddress: Window;
}

/** The field limits shield rules can name (see `rateLimited` in graphql/permissions/rules.ts). */
export type FieldLimit = 'loginPerAccount' | 'loginPerAddress' | 'refreshPerAddress';

export interface Caller {
  user: AuthUser | null;
  clientAddress: string;
}

interface FieldLimitSpec {
  /** Who is counted: the same key for everyone (per-account limits) or the caller's address. */
  identify: (caller: Caller) => string;
  /** The arguments that name what is counted, normalised so trivial variations share a counter. */
  args: (args: Record<string, unknown>) => Record<string, unknown>;
  identityArgs: string[];
  what: string;
}

const normalisedEmail = (args: Record<string, unknown>) => ({
  email: typeof args.email === 'string' ? args.email.trim().toLowerCase() : '',
});

const fieldLimits: Record<FieldLimit, FieldLimitSpec> = {
  loginPerAccount: {
    identify: () => 'account',
    args: normalisedEmail,
    identityArgs: ['email'],
    what: 'sign-in attempts for this account',
  },
  loginPerAddress: {
    identify: (caller) => `address:${caller.clientAddress}`,
    args: () => ({}),
    identityArgs: [],
    what: 'sign-in attempts from your address',
  },
  refreshPerAddress: {
    identify: (caller) => `address:${caller.clientAddress}`,
    args: () => ({}),
    identityArgs: [],
    what: 'token refreshes from your address',
  },
};

/**
 * Rate limits, over HTTP and graphql-ws alike. Operations draw from a token bucket per caller whose
 * size and refill rate depend on the caller's role (a burst, then a steady rate). Sign-in and refresh are
 * also limited by graphql-rate-limit, as shield rules, per account and per address. Counters live in
 * Redis when configured (replicas share them), else in this process.
 */
export class RateLimiter {
  private readonly limiters: Record<FieldLimit, ReturnType<typeof getGraphQLRateLimiter>>;

  constructor(
    private readonly settings: RateLimitSettings,
    private readonly store: CounterStore,
    private readonly onLimited: (limit: string, caller: Caller) => void = () => {},
  ) {
    this.limiters = Object.fromEntries(
      Object.entries(fieldLimits).map(([name, spec]) => [
        name,
        getGraphQLRateLimiter({
          store,
          identifyContext: (caller: Caller) => spec.identify(caller),
          formatError: () => name,
        }),
      ]),
    ) as RateLimiter['limiters'];
  }

  static tierOf(user: AuthUser | null): Tier {
    return user ? user.role : 'ANONYMOUS';
  }

  /** One operation by this caller; throws RATE_LIMITED (with `retryAfter` seconds) when over its tier. */
  async checkOperation(caller: Caller): Promise<void> {
    if (!this.settings.enabled) return;
    const tier = RateLimiter.tierOf(caller.user);
    const who = caller.user ? `user:${caller.user.id}` : `address:${caller.clientAddress}`;
    const bucket = this.settings.tiers[tier];
    const { allowed, retryAfterMs } = await this.store.take(`op:${who}`, bucket, 1);
    if (allowed) return;
    this.onLimited(`operations:${tier}`, caller);
    throw new RateLimitedError(
      `Too many requests: the ${tier} tier allows ${bucket.perSecond} operations per second with bursts of ${bucket.burst}`,
      Math.max(1, Math.ceil(retryAfterMs / 1000)),
    );
  }

  /** A field limit (graphql-rate-limit): undefined when allowed, else the RATE_LIMITED error to report. */
  async checkField(
    name: FieldLimit,
    args: Record<string, unknown>,
    caller: Caller,
    info: GraphQLResolveInfo,
  ): Promise<RateLimitedError | undefined> {
    if (!this.settings.enabled) return undefined;
    const spec = fieldLimits[name];
    const { max, windowMs } = this.settings[name];
    const countedArgs = spec.args(args);
    const refused = await this.limiters[name](
      { parent: undefined, args: countedArgs, context: caller, info },
      { max, window: String(windowMs), identityArgs: spec.identityArgs, uncountRejected: true },
    );
    if (!refused) return undefined;
    this.onLimited(name, caller);
    // The moment the oldest call that keeps the window full leaves it.
    const timestamps = [
      ...(await this.store.getForIdentity({
        contextIdentity: spec.identify(caller),
        fieldIdentity: getFieldIdentity(info.fieldName, spec.identityArgs, countedArgs),
      })),
    ].sort((a, b) => a - b);
    const freedAt = timestamps.length >= max ? timestamps[timestamps.length - max] + windowMs : Date.now();
    return new RateLimitedError(
      `Too many ${spec.what}: at most ${max} per ${Math.round(windowMs / 1000)} s`,
      Math.max(1, Math.ceil((freedAt - Date.now()) / 1000)),
    );
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/**
 * Audits rate-limit hits, at most once per caller and limit per interval: a flood must not turn into as
 * many audit writes as refused requests.
 */
export function auditedHits(
  record: (limit: string, caller: Caller) => void,
  intervalMs = 60_000,
): (limit: string, caller: Caller) => void {
  const last = new Map<string, number>();
  return (limit, caller) => {
    const now = Date.now();
    const key = `${limit}\u0000${caller.user?.id ?? caller.clientAddress}`;
    if ((last.get(key) ?? 0) > now - intervalMs) return;
    if (last.size > 10_000) {
      for (const [each, at] of last) if (at <= now - intervalMs) last.delete(each);
    }
    last.set(key, now);
    record(limit, caller);
  };
}
