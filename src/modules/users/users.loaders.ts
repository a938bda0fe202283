import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { User } from './user.entity.js';

/** One query for all users a request asks about by id (agent owners, authors, …). */
export function createUserLoaders(em: EntityManager) {
  return {
    userById: new DataLoader<string, User | null>(async (ids) => {
      // Owners and authors are only shown: plain rows (no unit of work), and never the password hash.
      const users: User[] = (
        await em.execute<
          {
            id: string;
            email: string;
            role: User['role'];
            created_at: Date;
            updated_at: Date;
            last_login_at: Date | null;
          }[]
        >(
          'select id, email, role, created_at, updated_at, last_login_at from users where id = any(?::uuid[])',
          [`{${ids.join(',')}}`],
        )
      ).map(
        (row) =>
          ({
            id: row.id,
            email: row.email,
            role: row.role,
            createdAt: row.created_at,
            updatedAt: row.updated_at,
            lastLoginAt: row.last_login_at,
          }) as User,
      );
      const byId = new Map(users.map((user) => [user.id, user]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}
