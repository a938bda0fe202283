import { readFileSync } from 'node:fs';
import path from 'node:path';
import { serverAudits, type Audit, type AuditResult } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';

/*
 * The GraphQL over HTTP conformance audit of graphql-http (https://graphql.github.io/graphql-over-http/)
 * against a real Parley instance. Every MUST audit has to pass. SHOULD audits that only warn, and MAY
 * audits that give a notice, are listed with the reason in docs/SECURITY.md ("GraphQL over HTTP
 * conformance"); the last test compares that table with what the audit found, so the page cannot go stale.
 */

const securityDoc = path.resolve(import.meta.dirname, '../docs/SECURITY.md');
const SECTION = '## GraphQL over HTTP conformance';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({
    // The audit sends ~60 anonymous requests at once: conformance, not the anonymous rate limit, is
    // under test here (test/hostile-input.test.ts and the rate-limit tests cover the limits).
    env: { RATE_LIMIT_ANONYMOUS: '10000,10000' },
  });
});
afterAll(() => server?.close());

const audits = serverAudits({ url: () => server.url });

/** Each audit runs once, whichever test asks first. */
const results = new Map<string, Promise<AuditResult>>();
const resultOf = (audit: Audit) => {
  let result = results.get(audit.id);
  if (!result) results.set(audit.id, (result = audit.fn()));
  return result;
};

async function describeFailure(result: AuditResult): Promise<string> {
  if (result.status === 'ok') return 'ok';
  let body = '(body already read by the audit)';
  try {
    body = (await result.response.clone().text()).slice(0, 500);
  } catch {
    // the audit consumed the body
  }
  return `${result.status}: ${result.reason}; HTTP ${result.response.status} ${body}`;
}

const requirement = (audit: Audit) => audit.name.split(' ')[0] as 'MUST' | 'SHOULD' | 'MAY';

describe('MUST audits', () => {
  for (const audit of audits.filter((each) => requirement(each) === 'MUST')) {
    it(`${audit.id} ${audit.name}`, async () => {
      const result = await resultOf(audit);
      expect(result.status, await describeFailure(result)).toBe('ok');
    });
  }
});

describe('SHOULD and MAY audits', () => {
  for (const audit of audits.filter((each) => requirement(each) !== 'MUST')) {
    it(`${audit.id} ${audit.name}`, async () => {
      const result = await resultOf(audit);
      // A recommendation may be unmet (see the table below), but never with an error status.
      expect(result.status, await describeFailure(result)).not.toBe('error');
    });
  }
});

/** Rows `| id | audit | result | why |` of the conformance table, by result. */
function documented(): { warn: string[]; notice: string[] } {
  const text = readFileSync(securityDoc, 'utf8');
  const start = text.indexOf(SECTION);
  if (start < 0) throw new Error(`docs/SECURITY.md has no "${SECTION}" section`);
  const rest = text.slice(start + SECTION.length);
  const end = rest.search(/^## /m);
  const rows = (end < 0 ? rest : rest.slice(0, end))
    .split('\n')
    .map((line) => /^\|\s*`?([0-9A-Z]{4})`?\s*\|[^|]*\|\s*(\w+)\s*\|/.exec(line))
    .filter((match) => match !== null);
  const byResult = (status: string) =>
    rows
      .filter((match) => match[2] === status)
      .map((match) => match[1]!)
      .sort();
  return { warn: byResult('warn'), notice: byResult('notice') };
}

it('docs/SECURITY.md lists exactly the SHOULD audits that warn and the MAY audits that give notice', async () => {
  const found = { warn: [] as string[], notice: [] as string[] };
  const reasons: string[] = [];
  for (const audit of audits) {
    const result = await resultOf(audit);
    if (result.status === 'warn' || result.status === 'notice') {
      found[result.status].push(audit.id);
      reasons.push(`${audit.id} ${audit.name}: ${await describeFailure(result)}`);
    }
  }
  const expected = { warn: found.warn.sort(), notice: found.notice.sort() };
  expect(documented(), `the audit found:\n${reasons.join('\n')}`).toEqual(expected);
  // Every SHOULD that warns is a SHOULD (a MUST never reaches the table: it fails above).
  for (const id of expected.warn) {
    expect(requirement(audits.find((audit) => audit.id === id)!)).toBe('SHOULD');
  }
});
