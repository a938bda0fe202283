import { EventEmitter } from 'node:events';
import {
  BreakerError,
  BreakerMaxAllowedRequestError,
  BreakerState,
  Circuit,
  circuits,
  modules,
  Retry,
  RetryMode,
  SlidingCountBreaker,
  Timeout,
  TimeoutError,
} from 'mollitia';
import { ServiceUnavailableError } from '../common/errors.js';

/** Our names for breaker states (mollitia says opened/half-opened). */
export enum CircuitState {
  CLOSED = 'CLOSED',
  OPEN = 'OPEN',
  HALF_OPEN = 'HALF_OPEN',
}

const fromMollitia: Record<BreakerState, CircuitState> = {
  [BreakerState.CLOSED]: CircuitState.CLOSED,
  [BreakerState.OPENED]: CircuitState.OPEN,
  [BreakerState.HALF_OPENED]: CircuitState.HALF_OPEN,
};

export interface CircuitPolicy {
  /** Longest a single attempt may take (allow for a model's cold start). */
  timeoutMs: number;
  /** Extra attempts for transient failures, with exponential backoff and jitter. */
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Sliding window of the last N calls; opens when at least `minimumCalls` and the failure rate ≥ threshold. */
  windowSize: number;
  minimumCalls: number;
  failureRatePercent: number;
  /** How long it stays open before letting probes through (half-open). */
  openMs: number;
  halfOpenCalls: number;
  /** Which failures count against the breaker and are retried (default: `isTransient`). */
  isFailure?: (error: unknown) => boolean;
}

export interface CircuitSnapshot {
  name: string;
  state: CircuitState;
  failureRate: number;
  callsInWindow: number;
  lastTransitionAt: Date;
  openUntil: Date | null;
}

export interface Transition {
  snapshot: CircuitSnapshot;
  previous: CircuitState;
}

/**
 * Decides which failures count: transient ones (connection refused or reset, timeouts, 5xx, 503 "queue
 * full", an error line in the middle of a stream) are retried and count against the breaker; the
 * caller's own mistakes (4xx: unknown model, bad request) and aborts do neither.
 */
export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'AbortError') return false;
  if (error instanceof TimeoutError) return true;
  const status = (error as { status_code?: number }).status_code;
  if (typeof status === 'number') return status >= 500 || status === 429;
  return true; // network errors (fetch failed, ECONNREFUSED, socket hang up) and mid-stream error lines
}

/**
 * One guarded dependency: mollitia's timeout, retry (exponential with jitter, transient failures only) and
 * a sliding-count breaker, in that order from the inside out is breaker → retry → timeout, so one logical
 * call counts once however many attempts it took. Emits `transition` on every state change.
 */
export class GuardedCircuit extends EventEmitter<{ transition: [Transition] }> {
  private readonly circuit: Circuit;
  private readonly breaker: SlidingCountBreaker;
  private lastTransitionAt = new Date();
  private state: CircuitState = CircuitState.CLOSED;

  constructor(
    readonly name: string,
    private readonly policy: CircuitPolicy,
  ) {
    super();
    this.breaker = new SlidingCountBreaker({
      slidingWindowSize: policy.windowSize,
      minimumNumberOfCalls: policy.minimumCalls,
      failureRateThreshold: policy.failureRatePercent,
      openStateDelay: policy.openMs,
      permittedNumberOfCallsInHalfOpenState: policy.halfOpenCalls,
      onError: policy.isFailure ?? isTransient,
    });
    const retry = new Retry({
      attempts: policy.retries,
      interval: policy.retryBaseMs,
      maxInterval: policy.retryMaxMs,
      mode: RetryMode.JITTER,
      factor: 2,
      onRejection: (error: unknown) => (policy.isFailure ?? isTransient)(error),
    });
    // The first module is the outermost (STACK.md pitfall 9).
    this.circuit = new Circuit({
      name,
      // The function is fixed and the work passed as a parameter: `fn()` is shared by concurrent calls.
      func: (work: () => Promise<unknown>) => work(),
      options: { modules: [this.breaker, retry, new Timeout({ delay: policy.timeoutMs })] },
    });
    this.breaker.on('state-changed', (state: BreakerState) => {
      const previous = this.state;
      this.state = fromMollitia[state];
      this.lastTransitionAt = new Date();
      this.emit('transition', { snapshot: this.snapshot(), previous });
    });
  }

  /**
   * Runs `work` through the circuit. `work` receives the attempt number (from 1) so a streaming caller
   * can throw away what a failed attempt produced. Open circuit → SERVICE_UNAVAILABLE at once.
   */
  async execute<T>(work: (attempt: number) => Promise<T>): Promise<T> {
    let attempt = 0;
    try {
      return await this.circuit.execute<T>(() => work(++attempt));
    } catch (error) {
      if (error instanceof BreakerError || error instanceof BreakerMaxAllowedRequestError)
        throw this.unavailable();
      throw error;
    }
  }

  /**
   * What callers get while it is open (or half-open and busy with its probes): SERVICE_UNAVAILABLE naming
   * the circuit and its state, with `retryAfter` seconds.
   */
  unavailable(): ServiceUnavailableError {
    const { state, openUntil } = this.snapshot();
    return new ServiceUnavailableError(
      `${this.name} is unavailable: its circuit is open${openUntil ? ` until ${openUntil.toISOString()}` : ''}`,
      {
        circuit: this.name,
        // Marks a refusal by the breaker itself (no call was made): work may wait without using an attempt.
        circuitState: state,
        retryAfter: openUntil ? Math.max(1, Math.ceil((openUntil.getTime() - Date.now()) / 1000)) : 1,
      },
    );
  }

  get isOpen(): boolean {
    return this.state === CircuitState.OPEN;
  }

  snapshot(): CircuitSnapshot {
    const requests = (this.breaker as unknown as { requests: { result: number }[] }).requests ?? [];
    const failures = requests.filter((request) => request.result !== 0).length;
    return {
      name: this.name,
      state: this.state,
      failureRate: requests.length ? failures / requests.length : 0,
      callsInWindow: requests.length,
      lastTransitionAt: this.lastTransitionAt,
      openUntil:
        this.state === CircuitState.OPEN
          ? new Date(this.lastTransitionAt.getTime() + this.policy.openMs)
          : null,
    };
  }

  /** Until it closes: resolves at once when closed, else when a transition to CLOSED happens. */
  whenClosed(): Promise<void> {
    if (this.state === CircuitState.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = ({ snapshot }: Transition) => {
        if (snapshot.state !== CircuitState.CLOSED) return;
        this.off('transition', listener);
        resolve();
      };
      this.on('transition', listener);
    });
  }

  /** Admin reset: closed, with an empty window. */
  async reset(): Promise<void> {
    // mollitia's close() leaves the open state's timer running, which would half-open a closed breaker.
    const internals = this.breaker as unknown as { openTimeout: NodeJS.Timeout | 0; requests: unknown[] };
    if (internals.openTimeout) clearTimeout(internals.openTimeout);
    internals.openTimeout = 0;
    await this.breaker.close();
    internals.requests = [];
  }

  dispose(): void {
    this.circuit.dispose();
    // mollitia keeps every circuit and module in global arrays; drop ours so apps can come and go.
    for (const module of this.circuit.modules) modules.splice(modules.indexOf(module) >>> 0, 1);
    circuits.splice(circuits.indexOf(this.circuit) >>> 0, 1);
    this.removeAllListeners();
  }
}
