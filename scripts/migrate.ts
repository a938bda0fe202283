// `npm run db:migrate` applies pending migrations; `npm run db:migration:create [-- name]` writes a new one
// from the difference between the entities and the committed snapshot. Both use DATABASE_URL, or the
// embedded PostgreSQL when it is unset (as `npm start` does).
import 'reflect-metadata';
import path from 'node:path';
import { MikroORM } from '@mikro-orm/postgresql';
import { loadConfig } from '../src/config/config.js';
import { withLocalSecrets } from '../src/config/local-secrets.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { migrate, ormConfig } from '../src/db/orm.js';
import { createLogger } from '../src/observability/logger.js';

const create = process.argv.includes('--create');
const name = process.argv.slice(2).find((arg) => !arg.startsWith('--'));
const { config, secrets } = await withLocalSecrets(loadConfig());
const log = createLogger({ level: config.logLevel });

let embedded: EmbeddedPostgres | undefined;
let url = config.databaseUrl;
if (!url) {
  embedded = await startEmbeddedPostgres({
    dataDir: path.join(config.dataDir, 'pg'),
    port: config.embeddedPgPort,
    password: secrets!.embeddedPostgresPassword,
    database: 'parley',
    log,
  });
  url = embedded.url;
}

const orm = await MikroORM.init(ormConfig({ clientUrl: url, log, forMigrationAuthoring: create }));
try {
  if (create) {
    const migrator = orm.getMigrator();
    const initial =
      !(await migrator.getExecutedMigrations()).length && !(await migrator.getPendingMigrations()).length;
    const result = await migrator.createMigration(undefined, false, initial, name);
    process.stdout.write(result.fileName ? `created migrations/${result.fileName}\n` : 'no schema changes\n');
  } else {
    const applied = await migrate(orm);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
  }
} finally {
  await orm.close();
  await embedded?.stop();
}
