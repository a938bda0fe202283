import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { plainRows } from '../../db/plain-rows.js';
import { User } from './user.entity.js';

/** One query for all users a request asks about by id (agent owners, authors, …). */
export function createUserLoaders(em: EntityManager) {
  return {
    userById: new DataLoader<string, User | null>(async (ids) => {
      // Owners and authors are only shown: plain rows (no unit of work), and never the password hash.
      const rows: Record<string, unknown>[] = await em.execute(
        'select id, email, role, created_at, updated_at, last_login_at from users where id = any(?::uuid[])',
        [`{${ids.join(',')}}`],
      );
      const byId = new Map(plainRows(em, User, rows).map((user) => [user.id, user]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}
