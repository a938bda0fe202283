import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { defineConfig, MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import pg from 'pg';
import { entities } from '../modules/index.js';
import { JobRow } from '../jobs/job.entity.js';
import { EventStreamRow, StoredEventRow } from '../realtime/event.entity.js';
import type { Logger } from '../observability/logger.js';

/** The repository root, found from this file whether it runs from `src/` (tests) or `dist/src/`. */
export const projectRoot = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
})();

/** True when this module was loaded from TypeScript sources (vitest), false from compiled `dist/`. */
const runningFromSource = import.meta.url.endsWith('.ts');

export interface OrmOptions {
  clientUrl: string;
  poolMax?: number;
  log?: Logger;
  /** Only `db:migration:create` writes the schema snapshot; running migrations never touches it. */
  forMigrationAuthoring?: boolean;
}

export function ormConfig({
  clientUrl,
  poolMax = 10,
  log,
  forMigrationAuthoring = false,
}: OrmOptions): Options {
  const preferTs = runningFromSource || forMigrationAuthoring;
  return defineConfig({
    clientUrl,
    entities: [...entities, StoredEventRow, EventStreamRow, JobRow],
    discovery: { warnWhenNoEntities: true },
    extensions: [Migrator],
    pool: { min: 0, max: poolMax },
    // knex warns on the console (e.g. a connection lost while the database restarts): into our log instead.
    driverOptions: {
      log: {
        warn: (message: unknown) => log?.warn({ component: 'knex' }, String(message)),
        error: (message: unknown) => log?.error({ component: 'knex' }, String(message)),
        deprecate: () => undefined,
        debug: () => undefined,
      },
    },
    forceUtcTimezone: true,
    allowGlobalContext: false,
    preferTs,
    dynamicImportProvider: (id: string) => import(id),
    debug: false,
    logger: (message) => log?.debug({ component: 'mikro-orm' }, message),
    migrations: {
      tableName: 'mikro_orm_migrations',
      path: path.join(projectRoot, 'dist', 'migrations'),
      pathTs: path.join(projectRoot, 'migrations'),
      glob: preferTs ? '!(*.d).ts' : '!(*.d).js',
      snapshot: forMigrationAuthoring,
      snapshotName: '.snapshot-parley',
      transactional: true,
      allOrNothing: true,
      emit: 'ts',
    },
  });
}

export async function initOrm(options: OrmOptions): Promise<MikroORM> {
  return MikroORM.init(ormConfig(options));
}

/**
 * Applies pending migrations. Replicas starting together would race (MikroORM takes no lock), so the
 * whole run holds a session advisory lock on a connection of its own: the others wait, then find
 * nothing to do.
 */
export async function migrate(orm: MikroORM): Promise<string[]> {
  const lock = new pg.Client({ connectionString: orm.config.get('clientUrl') });
  await lock.connect();
  try {
    await lock.query(`select pg_advisory_lock(hashtext('parley.migrations'))`);
    const applied = await orm.getMigrator().up();
    return applied.map((migration) => migration.name);
  } finally {
    await lock.end(); // ending the session releases the lock
  }
}
