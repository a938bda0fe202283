import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type BuiltServer, type BuiltServers } from './support/built-server.js';
import { createTestDatabase, dropTestDatabase, query } from './support/database.js';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.js';
import { freePort } from '../src/testing/ports.js';

/**
 * examples/ as the README runs them: the server built and started as `npm start` starts it (development,
 * so the demo admin exists; a fake Ollama behind it), and each example as a child process with the
 * README's command, in the build's folder, signing in as the demo admin from the data folder the server
 * keeps its secrets in. What they print is checked against what the server stored.
 */
const root = path.resolve(import.meta.dirname, '..');
let servers: BuiltServers;
let server: BuiltServer;
let fake: FakeOllama;
let databaseUrl: string;
let fakeClosed = false;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A README command, run by a shell in the build's folder, as a user would in a second terminal. */
async function run(command: string, env: Record<string, string> = {}): Promise<Run> {
  const { DATABASE_URL: _db, TEST_DATABASE_URL: _test, ...inherited } = process.env;
  try {
    const { stdout, stderr } = await promisify(execFile)('bash', ['-c', command], {
      cwd: servers.dir,
      env: {
        ...inherited,
        PARLEY_URL: server.url,
        PARLEY_DATA_DIR: path.join(servers.dir, 'data'),
        ...env,
      },
      timeout: 90_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const uuid = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/;

beforeAll(async () => {
  fake = await startFakeOllama({ tokenDelayMs: 10 });
  databaseUrl = await createTestDatabase();
  servers = await buildServer('parley-examples');
  server = await servers.start('examples', {
    DATABASE_URL: databaseUrl,
    OLLAMA_HOST: fake.url,
    JOB_POLL_MS: '200',
    COMPRESSION_WORKERS: '2',
  });
}, 180_000);

afterAll(async () => {
  await servers?.remove();
  if (!fakeClosed) await fake?.close();
  if (databaseUrl) await dropTestDatabase(databaseUrl);
});

describe('the README gives these commands', () => {
  it('names each example by its npm script', async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8');
    for (const script of ['example:debate', 'example:chat', 'example:compression'])
      expect(readme).toContain(`npm run ${script}`);
  });
});

describe('npm run example:debate', () => {
  it('prints every turn as it streams, with the consensus of each round and the conclusion', async () => {
    const { code, stdout } = await run('npm run example:debate');
    expect(code).toBe(0);
    const id = uuid.exec(/Debate (\S+)/.exec(stdout)?.[1] ?? '')?.[1];
    expect(id).toBeDefined();

    const rounds = await query<{ number: number; consensus: number }>(
      databaseUrl,
      'select number, consensus from debate_rounds where debate_id = $1 order by number',
      [id],
    );
    const turns = await query<{ round: number; seat: number; content: string; position: string }>(
      databaseUrl,
      'select round, seat, content, position from debate_turns where debate_id = $1 order by round, seat',
      [id],
    );
    expect(rounds.length).toBeGreaterThan(0);
    expect(turns).toHaveLength(rounds.length * 3);
    for (const round of rounds) {
      expect(stdout).toContain(`\nRound ${round.number}\n`);
      expect(stdout).toContain(`Round ${round.number} consensus: ${round.consensus.toFixed(2)}`);
    }
    // Each turn: its seat's agent, the argument streamed after it, then the position it took.
    const names = ['Example Builder', 'Example Adopter', 'Example Skeptic'];
    for (const turn of turns) {
      expect(stdout).toContain(`[${turn.seat}] ${names[turn.seat - 1]}: ${turn.content}\n`);
      expect(stdout).toContain(`→ position "${turn.position}"`);
    }
    const [debate] = await query<{ status: string; conclusion_reason: string; verdict: string }>(
      databaseUrl,
      'select status, conclusion_reason, verdict from debates where id = $1',
      [id],
    );
    expect(debate!.status).toBe('CONCLUDED');
    expect(stdout).toContain(`Concluded (${debate!.conclusion_reason}) at consensus`);
    expect(stdout).toContain(`Verdict: ${debate!.verdict}`);
  }, 90_000);
});

describe('npm run example:chat', () => {
  it('prints each reply as it streams, then what was stored', async () => {
    const { code, stdout } = await run('npm run example:chat');
    expect(code).toBe(0);
    const id = uuid.exec(/Conversation (\S+)/.exec(stdout)?.[1] ?? '')?.[1];
    const replies = await query<{ content: string }>(
      databaseUrl,
      `select m.content from messages m where m.conversation_id = $1 and m.role = 'ASSISTANT' order by m.position`,
      [id],
    );
    expect(replies).toHaveLength(2);
    expect(stdout).toContain('you: Why is the sky blue?');
    expect(stdout).toContain('you: Then why are sunsets red?');
    for (const reply of replies) expect(stdout).toContain(`Example Assistant: ${reply.content}\n`);
    // The fake streams 12 tokens 10 ms apart: the reply arrives in several deltas, not in one piece.
    const pieces = [...stdout.matchAll(/COMPLETE: streamed in (\d+) pieces/g)].map((match) =>
      Number(match[1]),
    );
    expect(pieces).toHaveLength(2);
    for (const count of pieces) expect(count).toBeGreaterThan(1);
  }, 90_000);
});

describe('npm run example:compression', () => {
  it('prints each run as it ends, then a comparison table with every algorithm', async () => {
    const { code, stdout } = await run('npm run example:compression');
    expect(code).toBe(0);
    const id = uuid.exec(/Suite (\S+)/.exec(stdout)?.[1] ?? '')?.[1];
    const runs = await query<{ algorithm: string; level: number; status: string; ratio: number }>(
      databaseUrl,
      'select algorithm, level, status, ratio from compression_runs where suite_id = $1',
      [id],
    );
    expect(runs).toHaveLength(9);
    expect(new Set(runs.map((each) => each.algorithm))).toEqual(
      new Set(['GZIP', 'DEFLATE', 'BROTLI', 'ZSTD']),
    );
    for (let finished = 1; finished <= 9; finished++) expect(stdout).toContain(`[${finished}/9]`);

    const table = stdout.slice(stdout.indexOf('algorithm  level'));
    const rows = table
      .split('\n')
      .slice(2)
      .filter((line) => line.trim() !== '')
      .map((line) => line.split(/\s{2,}/));
    expect(rows).toHaveLength(9);
    for (const each of runs) {
      const row = rows.find(
        ([algorithm, level]) => algorithm === each.algorithm && level === String(each.level),
      );
      expect(row?.slice(0, 4)).toEqual([
        each.algorithm,
        String(each.level),
        'SUCCEEDED',
        each.ratio.toFixed(2),
      ]);
    }
    // Rows are ordered best ratio first, and that row carries the mark.
    const ratios = rows.map((row) => Number(row[3]));
    expect(ratios).toEqual([...ratios].sort((a, b) => b - a));
    expect(rows[0]!.at(-1)).toContain('best ratio');
    expect(table.match(/best ratio/g)).toHaveLength(1);
  }, 90_000);
});

describe('when something is missing', () => {
  it('says so in words when no server answers at PARLEY_URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}/graphql`;
    const { code, stderr } = await run('npm run example:compression', { PARLEY_URL: url });
    expect(code).toBe(1);
    expect(stderr).toContain(`Cannot reach Parley at ${url}. Is \`npm start\` running?`);
  });

  it('says how to get an Ollama when Parley has none', async () => {
    await fake.close();
    fakeClosed = true;
    const { code, stderr } = await run('npm run example:chat');
    expect(code).toBe(1);
    expect(stderr).toContain('Parley cannot reach Ollama');
    expect(stderr).toContain('npm run fake-ollama');
  });
});
