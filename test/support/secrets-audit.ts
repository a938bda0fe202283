import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { inject } from 'vitest';

/**
 * "Secrets never reach the logs", checked over a whole test run: every test server writes its log lines
 * to the run's folder, tests register the passwords and tokens they use, and global teardown
 * (global-setup.ts) fails the run if any of them appears in any line.
 */
function runFolder(): string {
  return inject('secretsAuditDir');
}

export function recordLogLine(line: string): void {
  appendFileSync(path.join(runFolder(), `logs-${process.pid}.ndjson`), `${line}\n`);
}

/** A value that must never be logged (a password, an access or refresh token). */
export function rememberSecret(...values: (string | undefined)[]): void {
  const usable = values.filter((value): value is string => typeof value === 'string' && value.length >= 8);
  if (usable.length === 0) return;
  appendFileSync(path.join(runFolder(), `secrets-${process.pid}.txt`), usable.map((v) => `${v}\n`).join(''));
}

/** Every remembered secret found in a log line, with the file it was in. */
export function findLoggedSecrets(folder: string): { secret: string; file: string }[] {
  const files = readdirSync(folder);
  const secrets = new Set(
    files
      .filter((file) => file.startsWith('secrets-'))
      .flatMap((file) => readFileSync(path.join(folder, file), 'utf8').split('\n'))
      .filter(Boolean),
  );
  const found: { secret: string; file: string }[] = [];
  for (const file of files.filter((name) => name.startsWith('logs-'))) {
    const text = readFileSync(path.join(folder, file), 'utf8');
    for (const secret of secrets) if (text.includes(secret)) found.push({ secret, file });
  }
  return found;
}

export function countLoggedLines(folder: string): { lines: number; secrets: number } {
  const files = readdirSync(folder);
  const count = (prefix: string) =>
    files
      .filter((file) => file.startsWith(prefix))
      .reduce(
        (sum, file) => sum + readFileSync(path.join(folder, file), 'utf8').split('\n').filter(Boolean).length,
        0,
      );
  return { lines: count('logs-'), secrets: count('secrets-') };
}
