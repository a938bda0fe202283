import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/testing/ports.js';
import { exited } from './support/built-server.js';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.js';

/**
 * The README's runnable blocks (a fenced block after a `<!-- runnable -->` comment) run as written, in
 * README order, in a fresh clone of the repository: committed files only, what a new user gets. The
 * clone is compiled and served as `npm start` does (development, the embedded PostgreSQL in the clone's
 * .parley/, a fake Ollama behind it), once for every block, with PARLEY_URL pointing at that server (the
 * README's default port, 8000, may be taken here).
 */
const root = path.resolve(import.meta.dirname, '..');
const MARKER = '<!-- runnable -->';

interface Block {
  line: number;
  info: string;
  code: string;
}

/** Each marker's block; a marker not followed (blank lines aside) by a fenced block is an error. */
function runnableBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  lines.forEach((text, index) => {
    if (text.trim() !== MARKER) return;
    let start = index + 1;
    while (lines[start]?.trim() === '') start++;
    const fence = /^(```+)\s*(\S*)/.exec(lines[start] ?? '');
    if (!fence) throw new Error(`README.md:${index + 1}: ${MARKER} is not followed by a code block`);
    const end = lines.findIndex((each, at) => at > start && each.startsWith(fence[1]!));
    blocks.push({ line: start + 1, info: fence[2]!, code: lines.slice(start + 1, end).join('\n') });
  });
  return blocks;
}

const blocks = runnableBlocks(readFileSync(path.join(root, 'README.md'), 'utf8'));

let clone: string;
let fake: FakeOllama;
let server: ChildProcess | undefined;
let serverStderr = '';
let env: NodeJS.ProcessEnv;
let embeddedPort: number;

interface Result {
  code: number;
  output: string;
}

/** A block as a user's shell runs it, in the clone. */
async function shell(code: string): Promise<Result> {
  try {
    const { stdout, stderr } = await promisify(execFile)('bash', ['-eo', 'pipefail', '-c', code], {
      cwd: clone,
      env,
      timeout: 120_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

beforeAll(async () => {
  clone = await mkdtemp(path.join(os.tmpdir(), 'parley-readme-'));
  await chmod(clone, 0o755); // as root, the embedded PostgreSQL runs as "postgres" and must reach .parley/
  await promisify(execFile)('git', ['clone', '--quiet', root, clone]);
  await symlink(path.join(root, 'node_modules'), path.join(clone, 'node_modules'), 'dir');
  // What `npm start` compiles (a fresh clone has no dist/ to empty), incrementally as `npm run seed` does,
  // so that the seed's own compile finds nothing left to do.
  await promisify(execFile)(
    process.execPath,
    [
      'node_modules/typescript/bin/tsc',
      '-p',
      'tsconfig.build.json',
      '--incremental',
      '--tsBuildInfoFile',
      'dist/.tsbuildinfo',
    ],
    { cwd: clone },
  );

  fake = await startFakeOllama({ tokenDelayMs: 5 });
  const port = await freePort();
  embeddedPort = await freePort();
  const {
    DATABASE_URL: _db,
    TEST_DATABASE_URL: _test,
    PARLEY_DATA_DIR: _data,
    ADMIN_EMAIL: _email,
    ADMIN_PASSWORD: _password,
    ...inherited
  } = process.env;
  env = {
    ...inherited,
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    EMBEDDED_PG_PORT: String(embeddedPort),
    OLLAMA_HOST: fake.url,
    PARLEY_URL: `http://127.0.0.1:${port}/graphql`,
  };
  server = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: clone,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  server.stderr!.on('data', (chunk: Buffer) => (serverStderr += chunk.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (server.exitCode !== null)
      throw new Error(`npm start exited with ${server.exitCode}: ${serverStderr}`);
    if (Date.now() > deadline) throw new Error(`npm start not ready in 60 s: ${serverStderr}`);
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}, 240_000);

afterAll(async () => {
  if (server) expect(await exited(server, 'SIGTERM')).toBe(0); // stops the embedded PostgreSQL too
  await fake?.close();
  if (clone) await rm(clone, { recursive: true, force: true });
}, 60_000);

describe('README.md', () => {
  it('marks the blocks CI runs, each a shell block', () => {
    expect(blocks.map((block) => block.info)).toEqual(blocks.map(() => 'sh'));
    const commands = blocks.map((block) => block.code.trim().split(/\s+#/)[0]);
    expect(commands).toEqual(
      expect.arrayContaining(['npm run seed', 'npm run example:compression', 'npm run check:schema']),
    );
  });

  for (const block of blocks) {
    it(`runs the block at line ${block.line}: ${block.code.split('\n')[0]}`, async () => {
      const { code, output } = await shell(block.code);
      expect(code, output).toBe(0);
    }, 150_000);
  }
});

describe('npm run seed, run again', () => {
  it('finds what the first run wrote and adds nothing', async () => {
    const secrets = JSON.parse(await readFile(path.join(clone, '.parley', 'secrets.json'), 'utf8')) as {
      embeddedPostgresPassword: string;
    };
    const client = new pg.Client({
      connectionString: `postgresql://parley:${encodeURIComponent(secrets.embeddedPostgresPassword)}@127.0.0.1:${embeddedPort}/parley`,
    });
    await client.connect();
    const counts = async () =>
      (
        await client.query<Record<string, string>>(
          `select (select count(*) from agents where name like 'Demo %') as agents,
                  (select count(*) from debates where status = 'CONCLUDED') as debates,
                  (select count(*) from debate_turns) as turns,
                  (select count(*) from compression_runs where corpus_seed = 20260101) as runs,
                  (select count(*) from events) as events`,
        )
      ).rows[0];
    try {
      const before = await counts();
      expect(before).toMatchObject({ agents: '4', debates: '1', turns: '9', runs: '9' });
      const { code, output } = await shell('npm run seed');
      expect(code, output).toBe(0);
      expect(output).toContain('the embedded PostgreSQL already running');
      expect(output).toContain('already there: Demo Economist, Demo SRE, Demo Skeptic, Demo Moderator');
      expect(output).not.toMatch(/\bcreated\b/);
      expect(await counts()).toEqual(before);
    } finally {
      await client.end();
    }
  }, 150_000);
});
