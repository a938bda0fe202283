import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALLOW_FILE, compareSchemas, parseAllowFile, runSchemaCheck } from '../scripts/schema-changes.js';

/** The schema change check (npm run check:schema): what breaks clients fails unless it is marked. */
const BASE = `
type Query {
  debate(id: ID!): Debate
  debates(first: Int): [Debate!]!
}
type Debate {
  id: ID!
  topic: String!
  summary: String
}
enum DebateStatus { PENDING RUNNING }
`;

const REMOVED_FIELD = BASE.replace('  summary: String\n', '');
const REMOVED_MESSAGE = "Field 'summary' was removed from object type 'Debate'";

describe('compareSchemas', () => {
  it('an unchanged schema has no changes', async () => {
    const result = await compareSchemas(BASE, BASE);
    expect(result).toEqual({ breaking: [], allowed: [], dangerous: [], safe: [], unused: [] });
  });

  it('a removed field is breaking, and fails unless the allow list marks it', async () => {
    const unmarked = await compareSchemas(BASE, REMOVED_FIELD);
    expect(unmarked.breaking.map((change) => change.message)).toEqual([REMOVED_MESSAGE]);

    const marked = await compareSchemas(BASE, REMOVED_FIELD, [
      { message: REMOVED_MESSAGE, reason: 'summary moved to DebateOutcome' },
    ]);
    expect(marked.breaking).toEqual([]);
    expect(marked.allowed.map(({ change, reason }) => [change.message, reason])).toEqual([
      [REMOVED_MESSAGE, 'summary moved to DebateOutcome'],
    ]);
  });

  it('an added optional field passes as safe', async () => {
    const added = BASE.replace('  summary: String\n', '  summary: String\n  verdict: String\n');
    const result = await compareSchemas(BASE, added);
    expect(result.breaking).toEqual([]);
    expect(result.safe.map((change) => change.message)).toEqual([
      "Field 'verdict' was added to object type 'Debate'",
    ]);
  });

  it('a new required argument and a narrowed type are breaking; a new enum value is dangerous', async () => {
    const changed = BASE.replace('debates(first: Int)', 'debates(first: Int!)')
      .replace('topic: String!', 'topic: Int!')
      .replace('PENDING RUNNING', 'PENDING RUNNING PAUSED');
    const result = await compareSchemas(BASE, changed);
    expect(result.breaking.map((change) => change.message).sort()).toEqual([
      "Field 'Debate.topic' changed type from 'String!' to 'Int!'",
      "Type for argument 'first' on field 'Query.debates' changed from 'Int' to 'Int!'",
    ]);
    expect(result.dangerous.map((change) => change.message)).toEqual([
      "Enum value 'PAUSED' was added to enum 'DebateStatus'",
    ]);
  });

  it('reports allow-list entries that match nothing', async () => {
    const stale = { message: "Field 'gone' was removed from object type 'Debate'", reason: 'long ago' };
    expect((await compareSchemas(BASE, BASE, [stale])).unused).toEqual([stale]);
  });
});

describe('the allow file', () => {
  it('reads entries with a message and a reason', () => {
    expect(parseAllowFile('{ "allowed": [{ "message": "m", "reason": "r" }] }')).toEqual([
      { message: 'm', reason: 'r' },
    ]);
  });

  it('refuses an entry without a reason, naming every problem', () => {
    expect(() => parseAllowFile('{ "allowed": [{ "message": "m" }, { "reason": " " }] }')).toThrow(
      `${ALLOW_FILE}: allowed[0].reason must be a non-empty string; allowed[1].message must be a non-empty string; allowed[1].reason must be a non-empty string`,
    );
    expect(() => parseAllowFile('[]')).toThrow('must be an object with an "allowed" array');
    expect(() => parseAllowFile('{')).toThrow('is not JSON');
  });
});

describe('runSchemaCheck against git', () => {
  let repo: string;
  const git = (...args: string[]) =>
    promisify(execFile)('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.test', ...args], {
      cwd: repo,
    });

  beforeAll(async () => {
    repo = await mkdtemp(path.join(os.tmpdir(), 'parley-schema-check-'));
    await git('init', '--quiet');
    await writeFile(path.join(repo, 'schema.graphql'), BASE);
    await git('add', 'schema.graphql');
    await git('commit', '--quiet', '-m', 'schema');
  });

  afterAll(async () => {
    if (repo) await rm(repo, { recursive: true, force: true });
  });

  it('passes when the working tree matches HEAD', async () => {
    expect(await runSchemaCheck({ cwd: repo, base: 'HEAD' })).toEqual({
      ok: true,
      report: 'schema.graphql: no changes against HEAD.',
    });
  });

  it('fails on an uncommitted breaking change, and says how to mark it; passes once marked', async () => {
    await writeFile(path.join(repo, 'schema.graphql'), REMOVED_FIELD);
    const failed = await runSchemaCheck({ cwd: repo, base: 'HEAD' });
    expect(failed.ok).toBe(false);
    expect(failed.report).toContain(`BREAKING   ${REMOVED_MESSAGE}`);
    expect(failed.report).toContain(`mark each in ${ALLOW_FILE}`);

    await writeFile(
      path.join(repo, ALLOW_FILE),
      JSON.stringify({ allowed: [{ message: REMOVED_MESSAGE, reason: 'nobody reads it' }] }),
    );
    const passed = await runSchemaCheck({ cwd: repo, base: 'HEAD' });
    expect(passed.ok).toBe(true);
    expect(passed.report).toContain(`allowed    ${REMOVED_MESSAGE} (nobody reads it)`);
  });

  it('compares with another revision when asked, and passes when that revision has no schema', async () => {
    await git('commit', '--quiet', '--allow-empty', '-m', 'later');
    expect((await runSchemaCheck({ cwd: repo, base: 'HEAD~1' })).ok).toBe(true); // marked above
    await git('checkout', '--quiet', '--orphan', 'empty');
    await git('rm', '--quiet', '--cached', '-f', 'schema.graphql');
    await git('commit', '--quiet', '--allow-empty', '-m', 'nothing');
    expect(await runSchemaCheck({ cwd: repo, base: 'HEAD' })).toEqual({
      ok: true,
      report: 'schema.graphql is not in HEAD: nothing to compare.',
    });
    await expect(runSchemaCheck({ cwd: repo, base: 'no-such-ref' })).rejects.toThrow(
      'git show no-such-ref:schema.graphql failed',
    );
  });
});
