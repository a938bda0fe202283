import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import {
  AuditEventsDocument,
  CreateAgentDocument,
  MeDocument,
  UsersDocument,
  type AuditEventsQuery,
  type AuditEventsQueryVariables,
} from '../src/sdk/generated/graphql.js';
import { createActors, type Actor, type Actors } from './support/actors.js';
import { codes, execute } from './support/client.js';
import { query } from './support/database.js';
import { eventually } from './support/eventually.js';
import { startTestServer, type LogRecord, type TestServer } from './support/server.js';

let server: TestServer;
let actors: Actors;
let operator: Actor;
let viewer: Actor;
let admin: Actor;

beforeAll(async () => {
  server = await startTestServer();
  actors = await createActors(server, 'audit');
  operator = actors[Role.OPERATOR];
  viewer = actors[Role.VIEWER];
  admin = actors[Role.ADMIN];
});
afterAll(() => server?.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const userId = (actor: Actor) => actor.session.user.id;

interface AuditRow {
  id: string;
  action: string;
  outcome: 'SUCCESS' | 'DENIED' | 'FAILED';
  actor_id: string | null;
  actor_role: string | null;
  resource_type: string | null;
  resource_id: string | null;
  correlation_id: string | null;
  details: Record<string, unknown>;
}

/** The audit rows of one request (by its correlation id), waiting up to 2 s for them to land. */
function auditRowsOf(correlationId: string, expected = 1): Promise<AuditRow[]> {
  return eventually(
    async () => {
      const rows = await query<AuditRow>(
        server.databaseUrl,
        'select * from audit_events where correlation_id = $1 order by id',
        [correlationId],
      );
      return rows.length >= expected ? rows : undefined;
    },
    { what: `${expected} audit row(s) with correlation id ${correlationId}` },
  );
}

let agentSeq = 0;
const agentInput = () => ({ name: `audited ${++agentSeq}`, model: 'llama3.2:3b' });

async function agentCount(): Promise<number> {
  const rows = await query<{ count: string }>(server.databaseUrl, 'select count(*) from agents');
  return Number(rows[0]!.count);
}

describe('audit rows', () => {
  it('records a successful mutation with actor, resource and correlation id', async () => {
    const response = await execute(
      server.url,
      CreateAgentDocument,
      { input: agentInput() },
      { token: operator.token, headers: { 'x-correlation-id': 'audit-create-ok' } },
    );
    expect(response.errors).toBeUndefined();
    const agent = response.data!.createAgent;

    const rows = await auditRowsOf('audit-create-ok');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'Mutation.createAgent',
      outcome: 'SUCCESS',
      actor_id: userId(operator),
      actor_role: 'OPERATOR',
      resource_type: 'Agent',
      resource_id: agent.id,
      correlation_id: 'audit-create-ok',
    });
  });

  it('records a denied mutation, with the FORBIDDEN code, and writes nothing else', async () => {
    const before = await agentCount();
    const response = await execute(
      server.url,
      CreateAgentDocument,
      { input: agentInput() },
      { token: viewer.token, headers: { 'x-correlation-id': 'audit-create-denied' } },
    );
    expect(codes(response)).toEqual(['FORBIDDEN']);

    const rows = await auditRowsOf('audit-create-denied');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'Mutation.createAgent',
      outcome: 'DENIED',
      actor_id: userId(viewer),
      actor_role: 'VIEWER',
      correlation_id: 'audit-create-denied',
    });
    expect(rows[0]!.details.code).toBe('FORBIDDEN');
    expect(await agentCount()).toBe(before);
  });

  it('records an anonymous denied query as UNAUTHENTICATED, with no actor', async () => {
    const response = await execute(
      server.url,
      UsersDocument,
      {},
      { headers: { 'x-correlation-id': 'audit-anon' } },
    );
    expect(codes(response)).toEqual(['UNAUTHENTICATED']);

    const rows = await auditRowsOf('audit-anon');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'Query.users',
      outcome: 'DENIED',
      actor_id: null,
      actor_role: null,
    });
    expect(rows[0]!.details.code).toBe('UNAUTHENTICATED');
  });

  it('records a denied query by a signed-in user as FORBIDDEN', async () => {
    const response = await execute(
      server.url,
      UsersDocument,
      {},
      { token: operator.token, headers: { 'x-correlation-id': 'audit-users-forbidden' } },
    );
    expect(codes(response)).toEqual(['FORBIDDEN']);
    const rows = await auditRowsOf('audit-users-forbidden');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'Query.users', outcome: 'DENIED', actor_id: userId(operator) });
    expect(rows[0]!.details.code).toBe('FORBIDDEN');
  });

  it('records a mutation that failed validation as FAILED, and no success', async () => {
    const response = await execute(
      server.url,
      CreateAgentDocument,
      { input: { ...agentInput(), temperature: 7 } },
      { token: operator.token, headers: { 'x-correlation-id': 'audit-create-failed' } },
    );
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);

    const rows = await auditRowsOf('audit-create-failed');
    // Give a stray second row (e.g. a SUCCESS) the same chance to land before counting.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await auditRowsOf('audit-create-failed')).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'Mutation.createAgent',
      outcome: 'FAILED',
      actor_id: userId(operator),
      correlation_id: 'audit-create-failed',
    });
    expect(rows[0]!.details.code).toBe('BAD_USER_INPUT');
  });
});

describe('the auditEvents query', () => {
  type AuditNode = AuditEventsQuery['auditEvents']['nodes'][number];

  async function auditEvents(variables: AuditEventsQueryVariables, actor = admin) {
    const response = await execute(server.url, AuditEventsDocument, variables, { token: actor.token });
    expect(response.errors).toBeUndefined();
    return response.data!.auditEvents;
  }

  const isNewestFirst = (nodes: AuditNode[]) =>
    nodes.every((node, index) => index === 0 || BigInt(nodes[index - 1]!.id) > BigInt(node.id));

  // Rows of its own, so this block does not depend on the order the blocks above ran in.
  let created: { success: string; denied: string; failed: string };
  beforeAll(async () => {
    const send = async (actor: Actor, correlationId: string, input: Record<string, unknown>) => {
      await execute(
        server.url,
        CreateAgentDocument,
        { input: { ...agentInput(), ...input } },
        { token: actor.token, headers: { 'x-correlation-id': correlationId } },
      );
      return (await auditRowsOf(correlationId))[0]!.id;
    };
    created = {
      success: await send(operator, 'list-success', {}),
      denied: await send(viewer, 'list-denied', {}),
      failed: await send(operator, 'list-failed', { name: '   ' }),
    };
    await execute(server.url, UsersDocument, {}, { headers: { 'x-correlation-id': 'list-anon' } });
    await auditRowsOf('list-anon');
  });

  it('returns the rows newest first, with what was recorded', async () => {
    const { nodes, pageInfo } = await auditEvents({ first: 100 });
    expect(pageInfo.hasNextPage).toBe(false);
    expect(isNewestFirst(nodes)).toBe(true);
    const ids = nodes.map((node) => node.id);
    expect(ids.indexOf(created.failed)).toBeLessThan(ids.indexOf(created.denied));
    expect(ids.indexOf(created.denied)).toBeLessThan(ids.indexOf(created.success));
    expect(ids.indexOf(created.success)).toBeGreaterThanOrEqual(0);

    const denied = nodes.find((node) => node.id === created.denied)!;
    expect(denied).toMatchObject({
      action: 'Mutation.createAgent',
      outcome: 'DENIED',
      actorId: userId(viewer),
      actorRole: 'VIEWER',
      correlationId: 'list-denied',
    });
    expect(denied.details).toMatchObject({ code: 'FORBIDDEN' });
    expect(Date.parse(denied.occurredAt)).not.toBeNaN();
  });

  it('filters by action', async () => {
    const { nodes } = await auditEvents({ first: 100, action: 'Mutation.createAgent' });
    expect(nodes.length).toBeGreaterThanOrEqual(3);
    expect(nodes.every((node) => node.action === 'Mutation.createAgent')).toBe(true);
    expect(isNewestFirst(nodes)).toBe(true);
    const ids = nodes.map((node) => node.id);
    expect(ids).toEqual(expect.arrayContaining([created.success, created.denied, created.failed]));
  });

  it('filters by outcome, and by action and outcome together', async () => {
    const denied = await auditEvents({ first: 100, outcome: 'DENIED' });
    expect(denied.nodes.every((node) => node.outcome === 'DENIED')).toBe(true);
    expect(denied.nodes.map((node) => node.action)).toEqual(
      expect.arrayContaining(['Mutation.createAgent', 'Query.users']),
    );
    expect(denied.nodes.map((node) => node.id)).not.toContain(created.success);

    const deniedCreates = await auditEvents({
      first: 100,
      action: 'Mutation.createAgent',
      outcome: 'DENIED',
    });
    expect(deniedCreates.nodes.length).toBeGreaterThanOrEqual(1);
    expect(
      deniedCreates.nodes.every(
        (node) => node.action === 'Mutation.createAgent' && node.outcome === 'DENIED',
      ),
    ).toBe(true);
    expect(deniedCreates.nodes.map((node) => node.id)).toContain(created.denied);

    const failed = await auditEvents({ first: 100, outcome: 'FAILED', action: 'Mutation.createAgent' });
    expect(failed.nodes.map((node) => node.id)).toContain(created.failed);
    expect(failed.nodes.every((node) => node.outcome === 'FAILED')).toBe(true);
  });

  it('pages newest first without gaps or repeats', async () => {
    const all = (await auditEvents({ first: 100 })).nodes.map((node) => node.id);
    expect(all.length).toBeGreaterThan(4);
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 100; page++) {
      const connection: AuditEventsQuery['auditEvents'] = await auditEvents({ first: 3, after });
      seen.push(...connection.nodes.map((node) => node.id));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    // Paging itself is a query (not audited), so the trail does not grow while we read it.
    expect(seen).toEqual(all);
  });

  it('is for admins only', async () => {
    for (const role of [Role.VIEWER, Role.ANALYST, Role.OPERATOR]) {
      const response = await execute(
        server.url,
        AuditEventsDocument,
        { first: 5 },
        { token: actors[role].token },
      );
      expect(codes(response)).toEqual(['FORBIDDEN']);
      expect(response.data ?? null).toBeNull();
    }
  });
});

describe('correlation ids and operation logs', () => {
  function operationLine(correlationId: string): Promise<LogRecord> {
    return eventually(
      () =>
        server.logs.find((line) => line.msg === 'graphql operation' && line.correlationId === correlationId),
      { what: `a 'graphql operation' log line with correlation id ${correlationId}` },
    );
  }

  it('echoes a given correlation id and logs the operation under it', async () => {
    const response = await execute(server.url, MeDocument, undefined, {
      token: operator.token,
      headers: { 'x-correlation-id': 'test-corr-123' },
    });
    expect(response.errors).toBeUndefined();
    expect(response.headers.get('x-correlation-id')).toBe('test-corr-123');

    const line = await operationLine('test-corr-123');
    expect(line).toMatchObject({
      correlationId: 'test-corr-123',
      operationName: 'Me',
      operationType: 'query',
      userId: userId(operator),
      outcome: 'success',
    });
    expect(typeof line.durationMs).toBe('number');
    expect(line.durationMs as number).toBeGreaterThanOrEqual(0);
  });

  it('logs a failed operation with its error codes', async () => {
    const response = await execute(
      server.url,
      CreateAgentDocument,
      { input: agentInput() },
      { token: viewer.token, headers: { 'x-correlation-id': 'test-corr-denied' } },
    );
    expect(codes(response)).toEqual(['FORBIDDEN']);
    const line = await operationLine('test-corr-denied');
    expect(line).toMatchObject({
      operationName: 'CreateAgent',
      operationType: 'mutation',
      userId: userId(viewer),
      outcome: 'error',
      errorCodes: ['FORBIDDEN'],
    });
  });

  it('generates a correlation id when none is sent, and uses it in the log', async () => {
    const response = await execute(server.url, MeDocument, undefined, { token: viewer.token });
    const generated = response.headers.get('x-correlation-id');
    expect(generated).toMatch(UUID);
    const line = await operationLine(generated!);
    expect(line).toMatchObject({ operationName: 'Me', userId: userId(viewer) });
  });

  it.each([
    ['300 characters long', 'c'.repeat(300)],
    ['containing spaces', 'has spaces in it'],
    ['containing a quote and a brace', 'x"}{'],
  ])('replaces a correlation id %s with a generated one', async (_label, sent) => {
    const response = await execute(server.url, MeDocument, undefined, {
      token: viewer.token,
      headers: { 'x-correlation-id': sent },
    });
    expect(response.errors).toBeUndefined();
    const echoed = response.headers.get('x-correlation-id');
    expect(echoed).not.toBe(sent);
    expect(echoed).toMatch(UUID);
    await operationLine(echoed!);
    expect(server.logs.some((line) => line.correlationId === sent)).toBe(false);
  });

  it('gives two concurrent requests their own correlation ids in their audit rows', async () => {
    await Promise.all(
      ['parallel-a', 'parallel-b', 'parallel-c'].map((id) =>
        execute(
          server.url,
          CreateAgentDocument,
          { input: agentInput() },
          { token: operator.token, headers: { 'x-correlation-id': id } },
        ),
      ),
    );
    for (const id of ['parallel-a', 'parallel-b', 'parallel-c']) {
      const rows = await auditRowsOf(id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ action: 'Mutation.createAgent', outcome: 'SUCCESS' });
    }
  });
});
