import type { EntityManager } from '@mikro-orm/postgresql';
import { NotFoundError } from '../../common/errors.js';
import type { Logger } from '../../observability/logger.js';
import { appendEvent } from '../../realtime/index.js';
import type { CircuitRegistry } from '../../resilience/registry.js';
import type { Transition } from '../../resilience/circuit.js';
import type { AuditService } from '../audit/audit.service.js';
import { AuditOutcome } from '../audit/audit-event.entity.js';
import type { AuthUser } from '../auth/access-tokens.js';
import { BREAKERS_STREAM, BreakerEventType, type BreakerEventPayload } from './breakers.events.js';
import { CircuitBreakerRow } from './circuit-breaker.entity.js';

const MAX_UNRECORDED = 100;

export class BreakersService {
  constructor(
    private readonly rootEm: EntityManager,
    private readonly registry: CircuitRegistry,
    private readonly audit: AuditService,
    private readonly log: Logger,
  ) {}

  /** Transitions not stored yet (the database may be what failed), oldest first. */
  private readonly unrecorded: Transition[] = [];
  private draining = false;

  /**
   * Stores a local transition and broadcasts it, in one transaction. Never throws: while the database is
   * away transitions wait here (the breaker keeps working from memory) and are stored, in order, with
   * the next one that can be (the database breaker's own CLOSED, at the latest).
   */
  async recordTransition(transition: Transition): Promise<void> {
    this.unrecorded.push(transition);
    if (this.unrecorded.length > MAX_UNRECORDED) this.unrecorded.shift();
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.unrecorded.length > 0) {
        await this.store(this.unrecorded[0]!);
        this.unrecorded.shift();
      }
    } catch (err) {
      const { snapshot } = transition;
      this.log.error(
        { err, breaker: snapshot.name, state: snapshot.state, waiting: this.unrecorded.length },
        'could not record breaker transition; will retry with the next one',
      );
    } finally {
      this.draining = false;
    }
  }

  private async store({ snapshot, previous }: Transition): Promise<void> {
    const replica = this.registry.replicaId;
    await this.rootEm.fork().transactional(async (tx) => {
      await tx.upsert(CircuitBreakerRow, { ...snapshot, replica });
      const payload: BreakerEventPayload = {
        name: snapshot.name,
        replica,
        previous,
        snapshot: {
          ...snapshot,
          lastTransitionAt: snapshot.lastTransitionAt.toISOString(),
          openUntil: snapshot.openUntil?.toISOString() ?? null,
        },
      };
      await appendEvent(tx, {
        stream: BREAKERS_STREAM,
        type: BreakerEventType.STATE_CHANGED,
        entityId: snapshot.name,
        payload: payload as unknown as Record<string, unknown>,
      });
    });
  }

  /** Every replica's breakers as last recorded, with this replica's own shown live. */
  async list(em: EntityManager): Promise<CircuitBreakerRow[]> {
    const rows = await em.find(CircuitBreakerRow, {}, { orderBy: { name: 'asc', replica: 'asc' } });
    const replica = this.registry.replicaId;
    const live = new Map(this.registry.snapshots().map((snapshot) => [snapshot.name, snapshot]));
    const merged = rows.map((row) =>
      row.replica === replica && live.has(row.name)
        ? Object.assign(row, live.get(row.name), { replica })
        : row,
    );
    for (const [name, snapshot] of live) {
      if (!rows.some((row) => row.replica === replica && row.name === name)) {
        merged.push(Object.assign(new CircuitBreakerRow(), snapshot, { replica }));
      }
    }
    return merged;
  }

  /** Asks every replica (through the event log) to close this breaker and clear its window. */
  async requestReset(em: EntityManager, actor: AuthUser, name: string): Promise<boolean> {
    const known = this.registry.has(name) || (await em.count(CircuitBreakerRow, { name })) > 0;
    if (!known) throw new NotFoundError('Circuit breaker', name);
    await em.transactional(async (tx) => {
      await appendEvent(tx, {
        stream: BREAKERS_STREAM,
        type: BreakerEventType.RESET_REQUESTED,
        entityId: name,
        payload: { name, requestedBy: actor.id },
      });
      this.audit.record(tx, {
        actor,
        action: 'Mutation.resetCircuitBreaker',
        outcome: AuditOutcome.SUCCESS,
        resourceType: 'CircuitBreaker',
        resourceId: name,
      });
    });
    return true;
  }
}
