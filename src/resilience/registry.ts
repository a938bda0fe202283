import type { Logger } from '../observability/logger.js';
import type { EventHub } from '../realtime/index.js';
import { GuardedCircuit, type CircuitPolicy, type CircuitSnapshot, type Transition } from './circuit.js';

export const BREAKERS_STREAM = 'breakers';
const RESET_REQUESTED = 'RESET_REQUESTED';

/**
 * This process's circuits by name. Transitions go to whoever listens (the breakers service stores and
 * broadcasts them); reset requests arrive through the event log, so an admin's reset reaches every replica.
 */
export class CircuitRegistry {
  private readonly circuits = new Map<string, GuardedCircuit>();
  private readonly listeners: ((transition: Transition) => void)[] = [];
  private resets: AsyncIterableIterator<{ type: string; payload: Record<string, unknown> }> | undefined;

  constructor(
    readonly replicaId: string,
    private readonly log: Logger,
  ) {}

  register(name: string, policy: CircuitPolicy): GuardedCircuit {
    const existing = this.circuits.get(name);
    if (existing) return existing;
    const circuit = new GuardedCircuit(name, policy);
    circuit.on('transition', (transition) => {
      this.log.warn(
        { breaker: name, from: transition.previous, to: transition.snapshot.state },
        'circuit breaker changed state',
      );
      for (const listener of this.listeners) listener(transition);
    });
    this.circuits.set(name, circuit);
    return circuit;
  }

  onTransition(listener: (transition: Transition) => void): void {
    this.listeners.push(listener);
  }

  has(name: string): boolean {
    return this.circuits.has(name);
  }

  snapshots(): CircuitSnapshot[] {
    return [...this.circuits.values()].map((circuit) => circuit.snapshot());
  }

  /** Follows the breakers stream (live) and applies reset requests to local circuits. */
  async followResets(hub: EventHub): Promise<void> {
    this.resets = await hub.subscribe(BREAKERS_STREAM);
    void (async () => {
      for await (const event of this.resets!) {
        if (event.type !== RESET_REQUESTED) continue;
        const circuit = this.circuits.get(String(event.payload.name));
        if (!circuit) continue;
        this.log.info({ breaker: circuit.name }, 'circuit breaker reset by an admin');
        await circuit.reset();
      }
    })().catch((err: unknown) => this.log.error({ err }, 'stopped following breaker resets'));
  }

  async dispose(): Promise<void> {
    await this.resets?.return?.();
    for (const circuit of this.circuits.values()) circuit.dispose();
    this.circuits.clear();
  }
}
