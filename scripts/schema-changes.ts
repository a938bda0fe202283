// The schema change check behind `npm run check:schema` (scripts/check-schema-changes.ts): compares two
// versions of schema.graphql with @graphql-inspector/core and fails on a breaking change that is not
// marked in the allow file. Pure apart from `runSchemaCheck`, which reads git and the files.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import { buildSchema } from 'graphql';

/** An intended breaking change: inspector's message, word for word, and why clients may live with it. */
export interface AllowedChange {
  message: string;
  reason: string;
}

export interface SchemaComparison {
  /** Breaking changes not in the allow file: any one fails the check. */
  breaking: Change[];
  /** Breaking changes the allow file marks, with its reason. */
  allowed: { change: Change; reason: string }[];
  /** Not breaking for every client, but may change what some see (e.g. a new enum value). */
  dangerous: Change[];
  safe: Change[];
  /** Allow-file entries that matched nothing (already in the base, or mistyped). */
  unused: AllowedChange[];
}

export const ALLOW_FILE = 'schema-changes.allow.json';

/** The allow file: `{ "allowed": [{ "message": …, "reason": … }] }`; every problem is reported. */
export function parseAllowFile(text: string): AllowedChange[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${ALLOW_FILE} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const list = (parsed as { allowed?: unknown } | null)?.allowed;
  if (!Array.isArray(list)) throw new Error(`${ALLOW_FILE} must be an object with an "allowed" array`);
  const problems = list.flatMap((entry: unknown, index) =>
    (['message', 'reason'] as const)
      .filter((key) => {
        const value = (entry as Record<string, unknown> | null)?.[key];
        return typeof value !== 'string' || value.trim() === '';
      })
      .map((key) => `allowed[${index}].${key} must be a non-empty string`),
  );
  if (problems.length > 0) throw new Error(`${ALLOW_FILE}: ${problems.join('; ')}`);
  return list as AllowedChange[];
}

export async function compareSchemas(
  baseSdl: string,
  currentSdl: string,
  allow: AllowedChange[] = [],
): Promise<SchemaComparison> {
  const changes = await diff(buildSchema(baseSdl), buildSchema(currentSdl));
  const reasons = new Map(allow.map((entry) => [entry.message, entry.reason]));
  const used = new Set<string>();
  const result: SchemaComparison = { breaking: [], allowed: [], dangerous: [], safe: [], unused: [] };
  for (const change of changes) {
    const level = change.criticality.level;
    if (level === CriticalityLevel.Breaking) {
      const reason = reasons.get(change.message);
      if (reason === undefined) result.breaking.push(change);
      else {
        used.add(change.message);
        result.allowed.push({ change, reason });
      }
    } else if (level === CriticalityLevel.Dangerous) result.dangerous.push(change);
    else result.safe.push(change);
  }
  result.unused = allow.filter((entry) => !used.has(entry.message));
  return result;
}

/** What `npm run check:schema` prints. */
export function formatComparison(comparison: SchemaComparison, base: string): string {
  const { breaking, allowed, dangerous, safe, unused } = comparison;
  const total = breaking.length + allowed.length + dangerous.length + safe.length;
  if (total === 0 && unused.length === 0) return `schema.graphql: no changes against ${base}.`;
  const lines = [`schema.graphql against ${base}: ${total} change${total === 1 ? '' : 's'}`];
  for (const change of breaking) lines.push(`  BREAKING   ${change.message}`);
  for (const { change, reason } of allowed) lines.push(`  allowed    ${change.message} (${reason})`);
  for (const change of dangerous) lines.push(`  dangerous  ${change.message}`);
  for (const change of safe) lines.push(`  safe       ${change.message}`);
  for (const entry of unused)
    lines.push(`  note: ${ALLOW_FILE} entry matched nothing (remove it?): ${entry.message}`);
  if (breaking.length > 0) {
    lines.push(
      '',
      `${breaking.length} breaking change${breaking.length === 1 ? '' : 's'} would break existing clients.`,
      `If intended, mark each in ${ALLOW_FILE} with the message above and a reason, for example:`,
      JSON.stringify(
        {
          allowed: breaking.map((change) => ({ message: change.message, reason: '<why clients can cope>' })),
        },
        null,
        2,
      ),
    );
  }
  return lines.join('\n');
}

export interface SchemaCheckOptions {
  /** The repository root (schema.graphql and the allow file are here). */
  cwd: string;
  /** The git revision to compare against. */
  base: string;
}

/** Compares the base revision's schema.graphql (none: nothing to compare) with the working tree's. */
export async function runSchemaCheck({ cwd, base }: SchemaCheckOptions): Promise<{
  ok: boolean;
  report: string;
}> {
  let baseSdl: string;
  try {
    baseSdl = (
      await promisify(execFile)('git', ['show', `${base}:schema.graphql`], { cwd, maxBuffer: 64 << 20 })
    ).stdout;
  } catch (error) {
    const message = (error as { stderr?: string }).stderr ?? String(error);
    if (/does not exist in|exists on disk, but not in/.test(message))
      return { ok: true, report: `schema.graphql is not in ${base}: nothing to compare.` };
    throw new Error(`git show ${base}:schema.graphql failed: ${message.trim()}`, { cause: error });
  }
  const currentSdl = await readFile(path.join(cwd, 'schema.graphql'), 'utf8');
  let allowText: string | undefined;
  try {
    allowText = await readFile(path.join(cwd, ALLOW_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const comparison = await compareSchemas(baseSdl, currentSdl, allowText ? parseAllowFile(allowText) : []);
  return { ok: comparison.breaking.length === 0, report: formatComparison(comparison, base) };
}
