import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { User } from './user.entity.js';

/** One query for all users a request asks about by id (agent owners, authors, …). */
export function createUserLoaders(em: EntityManager) {
  return {
    userById: new DataLoader<string, User | null>(async (ids) => {
      // Read-only (owners, authors): kept out of the unit of work.
      const users = await em.find(User, { id: { $in: [...ids] } }, { disableIdentityMap: true });
      const byId = new Map(users.map((user) => [user.id, user]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
  };
}
