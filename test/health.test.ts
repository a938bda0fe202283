import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let baseUrl: string;

beforeAll(async () => {
  server = await startTestServer();
  baseUrl = server.url.replace(/\/graphql$/, '');
});
afterAll(() => server?.close());

async function get(path: string) {
  const response = await fetch(`${baseUrl}${path}`);
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe('health endpoints', () => {
  it('GET /health says the process is alive', async () => {
    const { status, contentType, body } = await get('/health');
    expect(status).toBe(200);
    expect(contentType).toMatch(/^application\/json/);
    expect(body).toMatchObject({ status: 'ok' });
  });

  it('GET /health/ready says it is ready, with the database up', async () => {
    const { status, body } = await get('/health/ready');
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ready', checks: { database: { status: 'up' } } });
    const database = (body.checks as Record<string, { latencyMs: unknown }>).database!;
    expect(typeof database.latencyMs).toBe('number');
  });

  it('GET /health/database reports the database up, with its latency', async () => {
    const { status, body } = await get('/health/database');
    expect(status).toBe(200);
    expect(body.status).toBe('up');
    expect(typeof body.latencyMs).toBe('number');
    expect(body.latencyMs as number).toBeGreaterThanOrEqual(0);
    expect(body.error).toBeUndefined();
  });

  it('echoes a correlation id on health responses too', async () => {
    const response = await fetch(`${baseUrl}/health`, { headers: { 'x-correlation-id': 'health-probe-1' } });
    expect(response.headers.get('x-correlation-id')).toBe('health-probe-1');
  });
});
