// npm run bench: every benchmark with its default settings, one after another (each prints JSON).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const benches: [string, string[]][] = [
  ['fanout.js', ['--expose-gc']],
  ['llm.js', []],
  ['debate.js', []],
  ['compression.js', []],
  ['queries.js', []],
];
let failed = false;
for (const [file, flags] of benches) {
  const result = spawnSync(
    process.execPath,
    [...flags, fileURLToPath(new URL(`./${file}`, import.meta.url)), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  failed ||= result.status !== 0;
}
process.exit(failed ? 1 : 0);
