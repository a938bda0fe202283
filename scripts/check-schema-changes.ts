// `npm run check:schema [-- --base <git revision>]`: fails when schema.graphql (the working tree's) has a
// breaking change against the base revision (default HEAD: what the last commit says) that
// schema-changes.allow.json does not mark. Compare with a branch point to check a whole branch:
// `npm run check:schema -- --base "$(git merge-base HEAD origin/main)"`.
import { runSchemaCheck } from './schema-changes.js';

const args = process.argv.slice(2);
const at = args.indexOf('--base');
const base = at >= 0 ? args[at + 1] : 'HEAD';
if (!base || args.some((arg, index) => arg.startsWith('--') && arg !== '--base' && index !== at + 1)) {
  console.error('usage: npm run check:schema [-- --base <git revision>]');
  process.exit(2);
}

try {
  const { ok, report } = await runSchemaCheck({ cwd: process.cwd(), base });
  console.log(report);
  process.exitCode = ok ? 0 : 1;
} catch (error) {
  console.error(`check:schema: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
}
