import type { EntityManager } from '@mikro-orm/postgresql';
import { decodeCursor, encodeCursor, toPage, type Page, type PageArgs } from '../../common/pagination.js';
import { currentCorrelationId } from '../../observability/correlation.js';
import { contextLogger, type Logger } from '../../observability/logger.js';
import type { AuthUser } from '../auth/access-tokens.js';
import { AuditEvent, AuditOutcome } from './audit-event.entity.js';

export interface AuditEntry {
  actor: AuthUser | null;
  action: string;
  outcome: AuditOutcome;
  resourceType?: string;
  resourceId?: string;
  details?: Record<string, unknown>;
}

export interface AuditFilter {
  actorId?: string;
  action?: string;
  outcome?: AuditOutcome;
  /** Events at or after this instant. */
  since?: Date;
  /** Events before this instant. */
  until?: Date;
  correlationId?: string;
}

/** The filter as a MikroORM condition (shared by the page and its count). */
function auditWhere(filter: AuditFilter): Record<string, unknown> {
  const where: Record<string, unknown> = {};
  if (filter.actorId) where.actorId = filter.actorId;
  if (filter.action) where.action = filter.action;
  if (filter.outcome) where.outcome = filter.outcome;
  if (filter.correlationId) where.correlationId = filter.correlationId;
  if (filter.since || filter.until) {
    where.occurredAt = {
      ...(filter.since ? { $gte: filter.since } : {}),
      ...(filter.until ? { $lt: filter.until } : {}),
    };
  }
  return where;
}

const AUDIT_CURSOR_KEY = 'id';

export class AuditService {
  constructor(
    private readonly rootEm: EntityManager,
    private readonly log: Logger,
  ) {}

  /**
   * Queues an audit row on `em`: services call this inside the transaction that makes the change, so the
   * change and its record commit together or not at all.
   */
  record(em: EntityManager, entry: AuditEntry): void {
    em.persist(this.toEntity(em, entry));
  }

  /**
   * Writes rows outside any business transaction (denials and failures found after the fact). A failure
   * here is logged, never thrown: an audit hiccup must not turn a response into an error.
   */
  async recordDetached(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const em = this.rootEm.fork();
    try {
      for (const entry of entries) em.persist(this.toEntity(em, entry));
      await em.flush();
    } catch (err) {
      contextLogger(this.log).error({ err, entries: entries.length }, 'failed to write audit events');
    }
  }

  /** Newest first. The id is a bigint sequence, so it is also the order of events. */
  async list(
    em: EntityManager,
    { first, after }: PageArgs,
    filter: AuditFilter = {},
  ): Promise<Page<AuditEvent>> {
    const where = auditWhere(filter);
    if (after)
      where.id = { $lt: String(decodeCursor(after, AUDIT_CURSOR_KEY, { value: 'none', id: 'integer' }).id) };
    const rows = await em.find(AuditEvent, where, { orderBy: { id: 'desc' }, limit: first + 1 });
    return toPage(rows, first);
  }

  count(em: EntityManager, filter: AuditFilter = {}): Promise<number> {
    return em.count(AuditEvent, auditWhere(filter));
  }

  cursorOf(event: AuditEvent): string {
    return encodeCursor(AUDIT_CURSOR_KEY, 0, String(event.id));
  }

  private toEntity(em: EntityManager, entry: AuditEntry): AuditEvent {
    return em.create(AuditEvent, {
      actorId: entry.actor?.id ?? null,
      actorRole: entry.actor?.role ?? null,
      action: entry.action,
      outcome: entry.outcome,
      resourceType: entry.resourceType ?? null,
      resourceId: entry.resourceId ?? null,
      correlationId: currentCorrelationId() ?? null,
      details: entry.details ?? {},
    });
  }
}
