// npm run bench:seed -- [--users 1000] [--agents 5000] [--debates 2000]
// Writes the read benchmark's dataset (bench/seed-data.ts) into DATABASE_URL, or into the embedded
// PostgreSQL that `npm start` uses when it is unset, after applying pending migrations. Running it again
// replaces the earlier seed (users @seed.parley.test, their agents and debates) and touches nothing else.
// `npm run bench:queries` does not need this: it seeds a fresh database of its own.
import 'reflect-metadata';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config/config.js';
import { withLocalSecrets } from '../src/config/local-secrets.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded-postgres.js';
import { initOrm, migrate } from '../src/db/orm.js';
import { createLogger } from '../src/observability/logger.js';
import { arg } from './support/harness.js';
import { DEFAULT_SEED, SEED_PASSWORD, SEED_VIEWER_EMAIL, seedDataset } from './seed-data.js';

const counts = {
  users: arg('users', DEFAULT_SEED.users),
  agents: arg('agents', DEFAULT_SEED.agents),
  debates: arg('debates', DEFAULT_SEED.debates),
};
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
try {
  const orm = await initOrm({ clientUrl: url, log });
  try {
    await migrate(orm);
  } finally {
    await orm.close();
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await seedDataset(client, counts);
    console.log(
      JSON.stringify(
        {
          seeded: result.counts,
          replaced: result.deleted,
          ms: result.ms,
          signIn: { email: SEED_VIEWER_EMAIL, password: SEED_PASSWORD, role: 'VIEWER' },
        },
        null,
        2,
      ),
    );
  } finally {
    await client.end();
  }
} finally {
  await embedded?.stop();
}
