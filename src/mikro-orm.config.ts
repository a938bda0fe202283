// For the MikroORM CLI (`npx mikro-orm ...` against dist/src/mikro-orm.config.js). The app itself builds its
// configuration in db/orm.ts from the parsed Config.
import { loadConfig } from './config/config.js';
import { ormConfig } from './db/orm.js';

const config = loadConfig();
if (!config.databaseUrl) throw new Error('Set DATABASE_URL to use the MikroORM CLI');
export default ormConfig({ clientUrl: config.databaseUrl });
