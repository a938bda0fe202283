import type { EntityManager } from '@mikro-orm/postgresql';
import { plainRows } from '../../db/plain-rows.js';
import { LockMode, raw } from '@mikro-orm/core';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  ValidationError,
  type FieldProblem,
} from '../../common/errors.js';
import { assertUuid } from '../../common/ids.js';
import { decodeCursor, encodeCursor, toPage, type Page, type PageArgs } from '../../common/pagination.js';
import type { JobQueue } from '../../jobs/job-queue.js';
import { Agent, AgentStatus } from '../agents/agent.entity.js';
import type { AuthUser } from '../auth/access-tokens.js';
import type { AuditService } from '../audit/audit.service.js';
import { AuditOutcome } from '../audit/audit-event.entity.js';
import { Role } from '../users/role.js';
import {
  Debate,
  DebateInterjection,
  DebateParticipant,
  DebateStatus,
  PauseKind,
  TERMINAL_STATUSES,
} from './debate.entity.js';
import { enqueueNextStep } from './debate-steps.js';
import { DebateEventType, interjectionSnapshot, recordDebateEvent } from './debates.events.js';
import type { CreateDebateInput, DebateFilter } from './dto/debate.inputs.js';

const DEBATE_CURSOR = 'createdAt';

export class DebatesService {
  constructor(
    private readonly jobs: JobQueue,
    private readonly audit: AuditService,
  ) {}

  /** Debates are visible to every signed-in user (VIEWER+); running them is for their creator or an ADMIN. */
  async get(em: EntityManager, id: string): Promise<Debate> {
    const debate = await em.findOne(Debate, { id: assertUuid(id, 'debateId') });
    if (!debate) throw new NotFoundError('Debate', id);
    return debate;
  }

  async list(
    em: EntityManager,
    filter: DebateFilter | undefined,
    { first, after }: PageArgs,
  ): Promise<Page<Debate>> {
    const where = this.where(filter);
    if (after) {
      const cursor = decodeCursor(after, DEBATE_CURSOR, { value: 'date', id: 'uuid' });
      const at = new Date(String(cursor.value));
      where.$and = [{ $or: [{ createdAt: { $lt: at } }, { createdAt: at, id: { $lt: cursor.id } }] }];
    }
    // A read: plain rows, not entities (see plainRows).
    const rows: Record<string, unknown>[] = await em
      .createQueryBuilder(Debate)
      .select('*')
      .where(where)
      .orderBy([{ createdAt: 'desc' }, { id: 'desc' }])
      .limit(first + 1)
      .execute('all', false);
    return toPage(plainRows(em, Debate, rows), first);
  }

  /** One debate to show (plain values; control actions load the entity with `get`). */
  async read(em: EntityManager, id: string): Promise<Debate> {
    const rows: Record<string, unknown>[] = await em
      .createQueryBuilder(Debate)
      .select('*')
      .where({ id: assertUuid(id, 'debateId') })
      .limit(1)
      .execute('all', false);
    const [debate] = plainRows(em, Debate, rows);
    if (!debate) throw new NotFoundError('Debate', id);
    return debate;
  }

  count(em: EntityManager, filter: DebateFilter | undefined): Promise<number> {
    return em.count(Debate, this.where(filter));
  }

  cursor(debate: Debate): string {
    return encodeCursor(DEBATE_CURSOR, debate.createdAt.toISOString(), debate.id);
  }

  private where(filter: DebateFilter | undefined): Record<string, unknown> {
    const where: Record<string, unknown> = {};
    if (filter?.status) where.status = filter.status;
    if (filter?.createdById) where.createdBy = filter.createdById;
    if (filter?.participantAgentId) {
      const agentId = filter.participantAgentId.toLowerCase();
      where[
        raw(
          (alias) => `${alias}.id in (select debate_id from debate_participants where agent_id = ?)`,
          [agentId],
        )
      ] = [];
    }
    return where;
  }

  async create(em: EntityManager, actor: AuthUser, input: CreateDebateInput): Promise<Debate> {
    const agentIds = [...new Set([...input.participants.map((seat) => seat.agentId), input.moderatorAgentId])]
      .filter((id): id is string => Boolean(id))
      .map((id) => id.toLowerCase());
    return em.transactional(async (tx) => {
      const agents = new Map(
        (await tx.find(Agent, { id: { $in: agentIds } })).map((agent) => [agent.id, agent]),
      );
      const problems: FieldProblem[] = [];
      const check = (id: string, field: string) => {
        const agent = agents.get(id.toLowerCase());
        if (!agent) problems.push({ field, message: `agent ${id} does not exist` });
        else if (agent.status !== AgentStatus.ACTIVE)
          problems.push({ field, message: `agent ${agent.name} is DISABLED` });
      };
      input.participants.forEach((seat, index) => check(seat.agentId, `participants.${index}.agentId`));
      if (input.moderatorAgentId) check(input.moderatorAgentId, 'moderatorAgentId');
      if (problems.length > 0) throw new ValidationError(problems);

      const debate = tx.create(Debate, {
        topic: input.topic.trim(),
        createdBy: actor.id,
        moderator: input.moderatorAgentId?.toLowerCase() ?? null,
        maxRounds: input.maxRounds,
        consensusThreshold: input.consensusThreshold,
        tokenBudget: input.tokenBudget ?? null,
      });
      input.participants.forEach((seat, index) =>
        tx.create(DebateParticipant, {
          debate: debate.id,
          seat: index + 1,
          agent: seat.agentId.toLowerCase(),
          stance: seat.stance?.trim() || null,
        }),
      );
      await tx.flush();
      await recordDebateEvent(tx, debate, DebateEventType.STATUS_CHANGED, { reason: 'created' });
      this.audited(tx, actor, 'createDebate', debate.id);
      return debate;
    });
  }

  start(em: EntityManager, actor: AuthUser, id: string): Promise<Debate> {
    return this.control(em, actor, id, 'startDebate', async (tx, debate) => {
      if (debate.status !== DebateStatus.PENDING)
        throw new ConflictError(`This debate is ${debate.status}; only a PENDING debate can be started`);
      debate.status = DebateStatus.RUNNING;
      debate.epoch += 1;
      debate.currentRound = 1;
      debate.nextStep = { kind: 'turn', round: 1, seat: 1 };
      debate.startedAt = new Date();
      await recordDebateEvent(tx, debate, DebateEventType.STATUS_CHANGED, { reason: 'started' });
      await enqueueNextStep(tx, this.jobs, debate);
    });
  }

  /** Takes effect at once: a turn being generated is abandoned (and played again on resume). */
  pause(em: EntityManager, actor: AuthUser, id: string): Promise<Debate> {
    return this.control(em, actor, id, 'pauseDebate', async (tx, debate) => {
      // Pausing one that waits for a dependency holds it: it will not resume by itself.
      const waiting = debate.status === DebateStatus.PAUSED && debate.pauseKind === PauseKind.DEPENDENCY;
      if (debate.status !== DebateStatus.RUNNING && !waiting)
        throw new ConflictError(`This debate is ${debate.status}; only a RUNNING debate can be paused`);
      debate.status = DebateStatus.PAUSED;
      debate.pauseKind = PauseKind.MANUAL;
      debate.statusReason = `paused by ${actor.email}`;
      debate.epoch += 1;
      await recordDebateEvent(tx, debate, DebateEventType.STATUS_CHANGED, { reason: debate.statusReason });
    });
  }

  /** Also resumes a debate paused for a dependency, without waiting for its own retry. */
  resume(em: EntityManager, actor: AuthUser, id: string): Promise<Debate> {
    return this.control(em, actor, id, 'resumeDebate', async (tx, debate) => {
      if (debate.status !== DebateStatus.PAUSED)
        throw new ConflictError(`This debate is ${debate.status}; only a PAUSED debate can be resumed`);
      await resumeDebate(tx, debate, `resumed by ${actor.email}`);
      await enqueueNextStep(tx, this.jobs, debate);
    });
  }

  cancel(em: EntityManager, actor: AuthUser, id: string): Promise<Debate> {
    return this.control(em, actor, id, 'cancelDebate', async (tx, debate) => {
      if (TERMINAL_STATUSES.includes(debate.status))
        throw new ConflictError(`This debate is already ${debate.status}`);
      debate.status = DebateStatus.CANCELLED;
      debate.pauseKind = null;
      debate.statusReason = `cancelled by ${actor.email}`;
      debate.nextStep = null;
      debate.epoch += 1;
      debate.endedAt = new Date();
      await recordDebateEvent(tx, debate, DebateEventType.STATUS_CHANGED, { reason: debate.statusReason });
    });
  }

  async interject(
    em: EntityManager,
    actor: AuthUser,
    debateId: string,
    content: string,
  ): Promise<DebateInterjection> {
    let created: DebateInterjection | undefined;
    await this.control(em, actor, debateId, 'interject', async (tx, debate) => {
      if (TERMINAL_STATUSES.includes(debate.status))
        throw new ConflictError(`This debate is ${debate.status}; interjections are closed`);
      created = tx.create(DebateInterjection, {
        debate: debate.id,
        author: actor.id,
        content: content.trim(),
        afterRound: debate.currentRound,
      });
      await tx.flush();
      await recordDebateEvent(tx, debate, DebateEventType.INTERJECTION, {
        round: debate.currentRound,
        interjection: interjectionSnapshot(created),
      });
    });
    return created!;
  }

  /**
   * Locks the debate row (every change to a debate's state is serialised on it, steps included), checks
   * the caller may run it, applies `change`, and audits, in one transaction.
   */
  private async control(
    em: EntityManager,
    actor: AuthUser,
    id: string,
    action: string,
    change: (tx: EntityManager, debate: Debate) => Promise<void>,
  ): Promise<Debate> {
    assertUuid(id, 'debateId');
    return em.transactional(async (tx) => {
      const debate = await tx.findOne(
        Debate,
        { id: id.toLowerCase() },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (!debate) throw new NotFoundError('Debate', id);
      if (debate.createdBy.id !== actor.id && actor.role !== Role.ADMIN)
        throw new ForbiddenError('Only the debate’s creator or an ADMIN may run it');
      await change(tx, debate);
      debate.updatedAt = new Date();
      this.audited(tx, actor, action, debate.id);
      return debate;
    });
  }

  private audited(tx: EntityManager, actor: AuthUser, action: string, debateId: string): void {
    this.audit.record(tx, {
      actor,
      action: `Mutation.${action}`,
      outcome: AuditOutcome.SUCCESS,
      resourceType: 'Debate',
      resourceId: debateId,
    });
  }
}

/** PAUSED → RUNNING under a new epoch; the caller queues the next step. */
export async function resumeDebate(tx: EntityManager, debate: Debate, reason: string): Promise<void> {
  debate.status = DebateStatus.RUNNING;
  debate.pauseKind = null;
  debate.statusReason = null;
  debate.epoch += 1;
  debate.updatedAt = new Date();
  await recordDebateEvent(tx, debate, DebateEventType.STATUS_CHANGED, { reason });
}
