import {
  ForeignKeyConstraintViolationException,
  LockMode,
  UniqueConstraintViolationException,
  type FilterQuery,
} from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { plainRows } from '../../db/plain-rows.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../../common/errors.js';
import { assertUuid } from '../../common/ids.js';
import { decodeCursor, encodeCursor, SortDirection, toPage, type Page } from '../../common/pagination.js';
import type { AuthUser } from '../auth/access-tokens.js';
import type { AuditService } from '../audit/audit.service.js';
import { AuditOutcome } from '../audit/audit-event.entity.js';
import { Role } from '../users/role.js';
import { Agent } from './agent.entity.js';
import { AgentEventType, recordAgentEvent } from './agents.events.js';
import { AgentOrderField, type AgentFilter, type AgentOrder, type AgentsArgs } from './dto/agents.args.js';
import type { CreateAgentInput } from './dto/create-agent.input.js';
import type { UpdateAgentInput } from './dto/update-agent.input.js';

const sortKeys = {
  [AgentOrderField.CREATED_AT]: 'createdAt',
  [AgentOrderField.UPDATED_AT]: 'updatedAt',
  [AgentOrderField.NAME]: 'name',
} as const;

type SortKey = (typeof sortKeys)[AgentOrderField];

const defaultOrder: AgentOrder = { field: AgentOrderField.CREATED_AT, direction: SortDirection.DESC };

/** GraphQL lets clients send `null` for optional input fields; for agents null means "not given". */
function withoutNulls<T extends object>(input: T): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(
    Object.entries(input).filter(([, value]) => value !== undefined && value !== null),
  ) as {
    [K in keyof T]?: Exclude<T[K], null>;
  };
}

const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (char) => `\\${char}`);

function sortValue(agent: Agent, key: SortKey): string {
  return key === 'name' ? agent.name : agent[key].toISOString();
}

export class AgentsService {
  constructor(private readonly audit: AuditService) {}

  async get(em: EntityManager, id: string): Promise<Agent> {
    const agent = await em.findOne(Agent, { id: assertUuid(id) });
    if (!agent) throw new NotFoundError('Agent', id);
    return agent;
  }

  /** Keyset pagination over (sort key, id): stable under inserts, one query per page. */
  async list(
    em: EntityManager,
    { first, after, filter, orderBy = defaultOrder }: AgentsArgs,
  ): Promise<Page<Agent>> {
    const key = sortKeys[orderBy.field];
    const asc = orderBy.direction === SortDirection.ASC;
    const where: FilterQuery<Agent>[] = [this.where(filter)];
    if (after) {
      const cursor = decodeCursor(after, key, { value: key === 'name' ? 'text' : 'date', id: 'uuid' });
      const value = key === 'name' ? String(cursor.value) : new Date(String(cursor.value));
      const op = asc ? '$gt' : '$lt';
      where.push({ $or: [{ [key]: { [op]: value } }, { [key]: value, id: { [op]: cursor.id } }] });
    }
    const direction = asc ? 'asc' : 'desc';
    // A read: plain rows, not entities (see plainRows).
    const rows: Record<string, unknown>[] = await em
      .createQueryBuilder(Agent)
      .select('*')
      .where({ $and: where })
      .orderBy([{ [key]: direction }, { id: direction }])
      .limit(first + 1)
      .execute('all', false);
    return toPage(plainRows(em, Agent, rows), first);
  }

  count(em: EntityManager, filter: AgentFilter | undefined): Promise<number> {
    return em.count(Agent, this.where(filter));
  }

  cursorOf(agent: Agent, orderBy: AgentOrder = defaultOrder): string {
    const key = sortKeys[orderBy.field];
    return encodeCursor(key, sortValue(agent, key), agent.id);
  }

  async create(em: EntityManager, actor: AuthUser, input: CreateAgentInput): Promise<Agent> {
    return this.conflictsAsErrors(() =>
      em.transactional(async (tx) => {
        const agent = tx.create(Agent, {
          ...withoutNulls(input),
          name: input.name.trim(),
          model: input.model,
          options: { ...input.options },
          owner: actor.id,
        });
        await recordAgentEvent(tx, AgentEventType.CREATED, agent);
        this.audit.record(tx, {
          actor,
          action: 'Mutation.createAgent',
          outcome: AuditOutcome.SUCCESS,
          resourceType: 'Agent',
          resourceId: agent.id,
        });
        return agent;
      }),
    );
  }

  async update(em: EntityManager, actor: AuthUser, id: string, input: UpdateAgentInput): Promise<Agent> {
    return this.conflictsAsErrors(() =>
      em.transactional(async (tx) => {
        const agent = await this.getForWrite(tx, actor, id);
        const changes = withoutNulls(input);
        if (typeof changes.name === 'string') changes.name = changes.name.trim();
        tx.assign(agent, { ...changes, updatedAt: new Date() });
        await recordAgentEvent(tx, AgentEventType.UPDATED, agent);
        this.audit.record(tx, {
          actor,
          action: 'Mutation.updateAgent',
          outcome: AuditOutcome.SUCCESS,
          resourceType: 'Agent',
          resourceId: agent.id,
          details: { fields: Object.keys(changes) },
        });
        return agent;
      }),
    );
  }

  async delete(em: EntityManager, actor: AuthUser, id: string): Promise<string> {
    try {
      return await this.deleteNow(em, actor, id);
    } catch (error) {
      if (error instanceof ForeignKeyConstraintViolationException) {
        throw new ConflictError(
          'This agent is in use (by conversations or debates): set its status to DISABLED instead',
          {
            field: 'id',
          },
        );
      }
      throw error;
    }
  }

  private async deleteNow(em: EntityManager, actor: AuthUser, id: string): Promise<string> {
    return em.transactional(async (tx) => {
      const agent = await this.getForWrite(tx, actor, id);
      tx.remove(agent);
      await recordAgentEvent(tx, AgentEventType.DELETED, agent);
      this.audit.record(tx, {
        actor,
        action: 'Mutation.deleteAgent',
        outcome: AuditOutcome.SUCCESS,
        resourceType: 'Agent',
        resourceId: agent.id,
      });
      return agent.id;
    });
  }

  /** Operators change their own agents; admins change any. Locked so concurrent writes serialise. */
  private async getForWrite(em: EntityManager, actor: AuthUser, id: string): Promise<Agent> {
    const agent = await em.findOne(Agent, { id: assertUuid(id) }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!agent) throw new NotFoundError('Agent', id);
    if (agent.owner.id !== actor.id && actor.role !== Role.ADMIN) {
      throw new ForbiddenError('Only the owner of this agent or an ADMIN may change it');
    }
    return agent;
  }

  private where(filter: AgentFilter | undefined): FilterQuery<Agent> {
    const where: Record<string, unknown> = {};
    if (!filter) return where;
    if (filter.status) where.status = filter.status;
    if (filter.model) where.model = filter.model;
    if (filter.ownerId) where.owner = filter.ownerId;
    if (filter.nameContains) where.name = { $ilike: `%${escapeLike(filter.nameContains)}%` };
    if (filter.supportsAlgorithm) where.supportedAlgorithms = { $contains: [filter.supportsAlgorithm] };
    return where as FilterQuery<Agent>;
  }

  private async conflictsAsErrors<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new ConflictError('You already have an agent with this name', { field: 'name' });
      }
      throw error;
    }
  }
}
