import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger({ level: 'info', stream }), lines };
}

const jwt =
  'eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwicm9sZSI6IkFETUlOIn0.c2lnbmF0dXJlLXBhcnQtaGVyZQ';

describe('log redaction', () => {
  it('redacts secret fields by name', () => {
    const { log, lines } = capture();
    log.info(
      {
        password: 'hunter2-correct-horse',
        token: 'refresh-abc',
        authorization: `Bearer ${jwt}`,
        userId: 'u1',
      },
      'signing in',
    );
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({
      password: '[redacted]',
      token: '[redacted]',
      authorization: '[redacted]',
      userId: 'u1',
    });
    expect(lines[0]).not.toContain('hunter2');
  });

  it('cuts a signed JWT out of any line, wherever it sits (messages, nested fields, errors)', () => {
    const { log, lines } = capture();
    log.warn({ nested: { header: `Bearer ${jwt}` } }, `token ${jwt} was refused`);
    log.error({ err: new Error(`cannot verify ${jwt}`) }, 'failure');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toContain(jwt);
      expect(line).not.toContain(jwt.split('.')[1]);
      expect(line).toContain('[redacted jwt]');
    }
  });

  it('leaves lines without secrets untouched', () => {
    const { log, lines } = capture();
    log.info({ operationName: 'Agents', durationMs: 3.2 }, 'graphql operation');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      operationName: 'Agents',
      durationMs: 3.2,
      msg: 'graphql operation',
    });
  });
});
