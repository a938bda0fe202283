import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MikroORM } from '@mikro-orm/postgresql';
import { initOrm } from '../src/db/orm.js';
import { createTestDatabase, dropTestDatabase } from './support/database.js';

let url: string;
let orm: MikroORM;

beforeAll(async () => {
  url = await createTestDatabase(); // cloned from the template the committed migrations built
  orm = await initOrm({ clientUrl: url });
});
afterAll(async () => {
  await orm?.close(true);
  if (url) await dropTestDatabase(url);
});

it('the committed migrations build exactly the schema the entities describe', async () => {
  // Non-empty means an entity changed without `npm run db:migration:create`.
  const drift = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false, safe: false });
  expect(drift.trim()).toBe('');
});

it('no migration is pending after start-up migrations ran', async () => {
  expect(await orm.getMigrator().getPendingMigrations()).toEqual([]);
});
