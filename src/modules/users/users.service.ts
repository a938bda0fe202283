import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ConflictError, NotFoundError } from '../../common/errors.js';
import { assertUuid } from '../../common/ids.js';
import { decodeCursor, encodeCursor, toPage, type Page, type PageArgs } from '../../common/pagination.js';
import type { AuthUser } from '../auth/access-tokens.js';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { RefreshToken } from '../auth/refresh-token.entity.js';
import type { AuditService } from '../audit/audit.service.js';
import { AuditOutcome } from '../audit/audit-event.entity.js';
import type { CreateUserInput } from './dto/create-user.input.js';
import { Role } from './role.js';
import { recordRevocation, RevocationType, type SessionRevocations } from '../auth/revocations.js';
import { User } from './user.entity.js';

export const USER_CURSOR_KEY = 'createdAt';

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export class UsersService {
  constructor(
    private readonly audit: AuditService,
    private readonly revocations: SessionRevocations,
  ) {}

  async get(em: EntityManager, id: string): Promise<User> {
    const user = await em.findOne(User, { id: assertUuid(id) });
    if (!user) throw new NotFoundError('User', id);
    return user;
  }

  async list(em: EntityManager, { first, after }: PageArgs): Promise<Page<User>> {
    const cursor = after ? decodeCursor(after, USER_CURSOR_KEY, { value: 'date', id: 'uuid' }) : undefined;
    const where = cursor
      ? {
          $or: [
            { createdAt: { $lt: new Date(cursor.value) } },
            { createdAt: new Date(cursor.value), id: { $lt: cursor.id } },
          ],
        }
      : {};
    const rows = await em.find(User, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: first + 1 });
    return toPage(rows, first);
  }

  count(em: EntityManager): Promise<number> {
    return em.count(User);
  }

  cursorOf(user: User): string {
    return encodeCursor(USER_CURSOR_KEY, user.createdAt.toISOString(), user.id);
  }

  async create(em: EntityManager, actor: AuthUser | null, input: CreateUserInput): Promise<User> {
    const passwordHash = await hashPassword(input.password);
    try {
      return await em.transactional(async (tx) => {
        const user = tx.create(User, { email: normaliseEmail(input.email), passwordHash, role: input.role });
        this.audit.record(tx, {
          actor,
          action: 'Mutation.createUser',
          outcome: AuditOutcome.SUCCESS,
          resourceType: 'User',
          resourceId: user.id,
          details: { role: input.role },
        });
        return user;
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        throw new ConflictError('A user with this email already exists', { field: 'email' });
      }
      throw error;
    }
  }

  /** Changing a role ends the user's sessions, so the old role cannot be refreshed back into use. */
  async updateRole(em: EntityManager, actor: AuthUser, id: string, role: Role): Promise<User> {
    let changed = false;
    const updated = await em.transactional(async (tx) => {
      const user = await tx.findOne(User, { id: assertUuid(id) });
      if (!user) throw new NotFoundError('User', id);
      const previous = user.role;
      user.role = role;
      await tx.nativeUpdate(
        RefreshToken,
        { user: user.id, revokedAt: null },
        { revokedAt: new Date(), revokedReason: 'role-changed' },
      );
      // Access tokens carrying the old role stop working on every replica (and its WebSockets close).
      changed = previous !== role;
      if (changed) await recordRevocation(tx, { type: RevocationType.ROLE_CHANGED, userId: user.id, role });
      this.audit.record(tx, {
        actor,
        action: 'Mutation.updateUserRole',
        outcome: AuditOutcome.SUCCESS,
        resourceType: 'User',
        resourceId: user.id,
        details: { from: previous, to: role },
      });
      return user;
    });
    if (changed) {
      this.revocations.apply({ type: RevocationType.ROLE_CHANGED, userId: updated.id, role });
    }
    return updated;
  }

  /** Makes sure an admin with these credentials exists (start-up; `ADMIN_EMAIL`/`ADMIN_PASSWORD`). */
  async ensureAdmin(
    em: EntityManager,
    email: string,
    password: string,
  ): Promise<'created' | 'updated' | 'unchanged'> {
    return em.transactional(async (tx) => {
      // Replicas starting together would both find no admin and both insert: one waits for the other.
      await tx.execute(`select pg_advisory_xact_lock(hashtext('parley:ensure-admin:' || ?))`, [
        normaliseEmail(email),
      ]);
      const user = await tx.findOne(User, { email: normaliseEmail(email) });
      if (!user) {
        tx.create(User, {
          email: normaliseEmail(email),
          passwordHash: await hashPassword(password),
          role: Role.ADMIN,
        });
        return 'created';
      }
      let changed = false;
      if (user.role !== Role.ADMIN) {
        user.role = Role.ADMIN;
        changed = true;
      }
      if (!(await verifyPassword(user.passwordHash, password))) {
        user.passwordHash = await hashPassword(password);
        changed = true;
      }
      return changed ? 'updated' : 'unchanged';
    });
  }
}
