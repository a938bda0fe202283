import { randomUUID } from 'node:crypto';
import { print, type GraphQLFormattedError } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import {
  AgentDocument,
  AgentsDocument,
  CreateAgentDocument,
  DeleteAgentDocument,
  UpdateAgentDocument,
  type AgentFieldsFragment,
  type AgentFilter,
  type AgentOrder,
  type AgentsQuery,
  type CreateAgentInput,
  type UpdateAgentInput,
} from '../src/sdk/generated/graphql.js';
import { createActor, createActors, type Actor, type Actors } from './support/actors.js';
import { codes, execute, type GraphQLResponse } from './support/client.js';
import { query } from './support/database.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let actors: Actors;
let operator: Actor;
let viewer: Actor;
let admin: Actor;

beforeAll(async () => {
  server = await startTestServer();
  actors = await createActors(server, 'agents');
  operator = actors[Role.OPERATOR];
  viewer = actors[Role.VIEWER];
  admin = actors[Role.ADMIN];
});
afterAll(() => server?.close());

let nameSeq = 0;
function agentInput(overrides: Partial<CreateAgentInput> = {}): CreateAgentInput {
  nameSeq += 1;
  return { name: `agent ${nameSeq}`, model: 'llama3.2:3b', ...overrides };
}

async function createAgent(actor: Actor, overrides: Partial<CreateAgentInput> = {}) {
  const response = await execute(
    server.url,
    CreateAgentDocument,
    { input: agentInput(overrides) },
    { token: actor.token },
  );
  if (!response.data?.createAgent) throw new Error(`createAgent failed: ${JSON.stringify(response.errors)}`);
  return response.data.createAgent;
}

function updateAgent(actor: Actor, id: string, input: UpdateAgentInput) {
  return execute(server.url, UpdateAgentDocument, { id, input }, { token: actor.token });
}

async function agentCount(): Promise<number> {
  const rows = await query<{ count: string }>(server.databaseUrl, 'select count(*) from agents');
  return Number(rows[0]!.count);
}

interface AgentRow {
  name: string;
  description: string;
  model: string;
  temperature: number;
  options: Record<string, unknown>;
  owner_id: string;
  updated_at: Date;
}

async function agentRow(id: string): Promise<AgentRow | undefined> {
  const rows = await query<AgentRow>(
    server.databaseUrl,
    'select name, description, model, temperature, options, owner_id, updated_at from agents where id = $1',
    [id],
  );
  return rows[0];
}

/** The field names in `extensions.fields` of the first error. */
function problemFields(response: { errors?: readonly GraphQLFormattedError[] }): string[] {
  const fields = response.errors?.[0]?.extensions?.fields;
  return Array.isArray(fields) ? fields.map((problem: { field: string }) => problem.field) : [];
}

const userId = (actor: Actor) => actor.session.user.id;

describe('agent CRUD', () => {
  it('creates an agent owned by the caller, with its owner resolved and zeroed stats', async () => {
    const response = await execute(
      server.url,
      CreateAgentDocument,
      {
        input: {
          name: '  Scout  ',
          description: 'Finds things',
          model: 'library/llama3.2:3b-instruct-q4_K_M',
          systemPrompt: 'You are terse.',
          temperature: 0.2,
          options: { topP: 0.9, topK: 40, stop: ['</s>'] },
          supportedAlgorithms: ['GZIP', 'ZSTD'],
        },
      },
      { token: operator.token },
    );
    expect(response.errors).toBeUndefined();
    const agent = response.data!.createAgent;
    expect(agent).toMatchObject({
      name: 'Scout',
      description: 'Finds things',
      model: 'library/llama3.2:3b-instruct-q4_K_M',
      systemPrompt: 'You are terse.',
      temperature: 0.2,
      options: { topP: 0.9, topK: 40, numCtx: null, numPredict: null, repeatPenalty: null, seed: null },
      supportedAlgorithms: ['GZIP', 'ZSTD'],
      status: 'ACTIVE',
      owner: { id: userId(operator), email: operator.email },
      stats: {
        turns: 0,
        promptTokens: 0,
        completionTokens: 0,
        latencyP50Ms: null,
        latencyP95Ms: null,
        latencyP99Ms: null,
      },
    });
    expect(agent.options.stop).toEqual(['</s>']);
    expect(agent.id).toMatch(/^[0-9a-f-]{36}$/);

    const row = await agentRow(agent.id);
    expect(row).toMatchObject({ name: 'Scout', owner_id: userId(operator), temperature: 0.2 });
  });

  it('fills defaults for omitted fields', async () => {
    const agent = await createAgent(operator, { name: 'Minimal', model: 'qwen2.5:0.5b' });
    expect(agent).toMatchObject({
      name: 'Minimal',
      description: '',
      systemPrompt: '',
      temperature: 0.7,
      supportedAlgorithms: [],
      status: 'ACTIVE',
      options: { topP: null, topK: null, numCtx: null, numPredict: null, repeatPenalty: null, seed: null },
    });
  });

  // Generated clients send `null` for optional fields they have no value for.
  it.each<[keyof CreateAgentInput, unknown]>([
    ['description', ''],
    ['systemPrompt', ''],
    ['temperature', 0.7],
    ['supportedAlgorithms', []],
    ['status', 'ACTIVE'],
  ])('treats an explicit null %s in the create input as "use the default"', async (field, fallback) => {
    const before = await agentCount();
    const input = agentInput({ [field]: null });
    const response = await execute(server.url, CreateAgentDocument, { input }, { token: operator.token });
    expect(response.errors).toBeUndefined();
    expect(response.data?.createAgent[field as keyof AgentFieldsFragment]).toEqual(fallback);
    expect(await agentCount()).toBe(before + 1);
  });

  it('reads an agent by id, as any signed-in role', async () => {
    const created = await createAgent(operator, { description: 'readable' });
    const read = await execute(server.url, AgentDocument, { id: created.id }, { token: viewer.token });
    expect(read.errors).toBeUndefined();
    expect(read.data?.agent).toEqual(created);
  });

  it('asks anonymous callers to sign in before reading agents', async () => {
    const created = await createAgent(operator);
    const read = await execute(server.url, AgentDocument, { id: created.id });
    expect(codes(read)).toEqual(['UNAUTHENTICATED']);
    expect(read.data?.agent ?? null).toBeNull();
  });

  it('updates only the given fields, and replaces options whole', async () => {
    const created = await createAgent(operator, {
      description: 'before',
      temperature: 0.3,
      options: { topP: 0.9, topK: 40 },
      supportedAlgorithms: ['GZIP'],
    });
    await new Promise((resolve) => setTimeout(resolve, 5)); // so updatedAt visibly moves

    const response = await updateAgent(operator, created.id, {
      description: 'after',
      options: { seed: 42 },
    });
    expect(response.errors).toBeUndefined();
    const updated = response.data!.updateAgent;
    expect(updated).toMatchObject({
      id: created.id,
      name: created.name,
      model: created.model,
      temperature: 0.3,
      supportedAlgorithms: ['GZIP'],
      description: 'after',
      options: { topP: null, topK: null, numCtx: null, numPredict: null, repeatPenalty: null, seed: 42 },
      owner: { id: userId(operator), email: operator.email },
    });
    expect(updated.createdAt).toBe(created.createdAt);
    expect(Date.parse(updated.updatedAt)).toBeGreaterThan(Date.parse(created.updatedAt));

    const row = await agentRow(created.id);
    expect(row?.options).toEqual({ seed: 42 });
    expect(row?.description).toBe('after');

    const status = await updateAgent(operator, created.id, { status: 'DISABLED', name: '  Renamed  ' });
    expect(status.errors).toBeUndefined();
    expect(status.data?.updateAgent).toMatchObject({
      status: 'DISABLED',
      name: 'Renamed',
      description: 'after',
      options: { seed: 42 },
    });
  });

  // "Omitted fields stay as they are"; null is not omitted, but it must not break the server either.
  it.each<keyof UpdateAgentInput>([
    'name',
    'model',
    'description',
    'systemPrompt',
    'temperature',
    'options',
    'supportedAlgorithms',
    'status',
  ])('keeps %s unchanged, or refuses it as bad input, when an update sends it as null', async (field) => {
    const created = await createAgent(operator, {
      description: 'keep me',
      temperature: 1.1,
      options: { seed: 7 },
      supportedAlgorithms: ['GZIP'],
    });
    const before = await agentRow(created.id);
    const response = await updateAgent(operator, created.id, { [field]: null });
    if (response.errors) {
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(problemFields(response)).toEqual([field]);
    } else {
      expect(response.data?.updateAgent[field as keyof AgentFieldsFragment]).toEqual(
        created[field as keyof AgentFieldsFragment],
      );
    }
    expect(await agentRow(created.id)).toMatchObject({
      name: before!.name,
      model: before!.model,
      description: 'keep me',
      temperature: 1.1,
      options: { seed: 7 },
    });
  });

  it('deletes an agent: it returns the id, and the agent is gone', async () => {
    const created = await createAgent(operator);
    const response = await execute(
      server.url,
      DeleteAgentDocument,
      { id: created.id },
      { token: operator.token },
    );
    expect(response.errors).toBeUndefined();
    expect(response.data?.deleteAgent).toBe(created.id);
    expect(await agentRow(created.id)).toBeUndefined();

    const read = await execute(server.url, AgentDocument, { id: created.id }, { token: viewer.token });
    expect(codes(read)).toEqual(['NOT_FOUND']);
    const again = await execute(
      server.url,
      DeleteAgentDocument,
      { id: created.id },
      { token: operator.token },
    );
    expect(codes(again)).toEqual(['NOT_FOUND']);
  });

  it.each([Role.VIEWER, Role.ANALYST])(
    'refuses to let a %s create an agent, writing nothing',
    async (role) => {
      const before = await agentCount();
      const response = await execute(
        server.url,
        CreateAgentDocument,
        { input: agentInput() },
        { token: actors[role].token },
      );
      expect(codes(response)).toEqual(['FORBIDDEN']);
      expect(response.data ?? null).toBeNull();
      expect(await agentCount()).toBe(before);
    },
  );
});

describe('agent ownership', () => {
  let otherOperator: Actor;

  beforeAll(async () => {
    otherOperator = await createActor(server, Role.OPERATOR, 'agents-other-operator');
  });

  it("stops an operator from updating or deleting someone else's agent; nothing changes", async () => {
    const agent = await createAgent(operator, { description: 'mine' });
    const before = await agentRow(agent.id);

    const update = await updateAgent(otherOperator, agent.id, { description: 'hijacked', name: 'Hijacked' });
    expect(codes(update)).toEqual(['FORBIDDEN']);
    expect(update.data ?? null).toBeNull();

    const remove = await execute(
      server.url,
      DeleteAgentDocument,
      { id: agent.id },
      { token: otherOperator.token },
    );
    expect(codes(remove)).toEqual(['FORBIDDEN']);

    expect(await agentRow(agent.id)).toEqual(before);
  });

  it("lets an admin update and delete anyone's agent, without taking it over", async () => {
    const agent = await createAgent(operator, { description: 'mine' });

    const update = await updateAgent(admin, agent.id, { description: 'moderated' });
    expect(update.errors).toBeUndefined();
    expect(update.data?.updateAgent).toMatchObject({
      description: 'moderated',
      owner: { id: userId(operator), email: operator.email },
    });

    const remove = await execute(server.url, DeleteAgentDocument, { id: agent.id }, { token: admin.token });
    expect(remove.errors).toBeUndefined();
    expect(remove.data?.deleteAgent).toBe(agent.id);
    expect(await agentRow(agent.id)).toBeUndefined();
  });
});

describe('agent names', () => {
  it('refuses a second agent with the same name for the same owner', async () => {
    await createAgent(operator, { name: 'Twin' });
    const before = await agentCount();
    for (const name of ['Twin', '  Twin ']) {
      const response = await execute(
        server.url,
        CreateAgentDocument,
        { input: agentInput({ name }) },
        { token: operator.token },
      );
      expect(codes(response)).toEqual(['CONFLICT']);
      expect(response.errors?.[0]?.message).toMatch(/name/i);
    }
    expect(await agentCount()).toBe(before);
  });

  it('allows the same name for a different owner', async () => {
    const mine = await createAgent(operator, { name: 'Shared name' });
    const theirs = await createAgent(admin, { name: 'Shared name' });
    expect(theirs.id).not.toBe(mine.id);
    expect(theirs.owner.id).toBe(userId(admin));
  });

  it('refuses to rename an agent onto another of the same owner, leaving it unchanged', async () => {
    await createAgent(operator, { name: 'Taken' });
    const other = await createAgent(operator, { name: 'Free' });
    const response = await updateAgent(operator, other.id, { name: 'Taken', description: 'changed' });
    expect(codes(response)).toEqual(['CONFLICT']);
    expect(await agentRow(other.id)).toMatchObject({ name: 'Free', description: '' });
  });
});

describe('agent pagination', () => {
  const total = 25;
  let pager: Actor;
  let agents: AgentFieldsFragment[] = [];

  beforeAll(async () => {
    pager = await createActor(server, Role.OPERATOR, 'agents-pager');
    // Names follow a permutation of the creation order, and updates another, so every order differs.
    const created: AgentFieldsFragment[] = [];
    for (let i = 0; i < total; i++) {
      created.push(await createAgent(pager, { name: `pager-${String((i * 7) % total).padStart(2, '0')}` }));
    }
    const updated = new Map<string, AgentFieldsFragment>();
    for (let i = 0; i < total; i++) {
      const agent = created[(i * 11) % total]!;
      const response = await updateAgent(pager, agent.id, { description: `touched ${i}` });
      updated.set(agent.id, response.data!.updateAgent);
    }
    agents = created.map((agent) => updated.get(agent.id)!);
  });

  type Key = 'createdAt' | 'updatedAt' | 'name';
  function expectedOrder(key: Key, direction: 'ASC' | 'DESC'): string[] {
    const value = (agent: AgentFieldsFragment) => (key === 'name' ? agent.name : Date.parse(agent[key]));
    const sign = direction === 'ASC' ? 1 : -1;
    return [...agents]
      .sort((a, b) => {
        const [x, y] = [value(a), value(b)];
        if (x !== y) return (x < y ? -1 : 1) * sign;
        return (a.id < b.id ? -1 : 1) * sign;
      })
      .map((agent) => agent.id);
  }

  async function pageThrough(orderBy: AgentOrder | undefined) {
    const seen: string[] = [];
    const sizes: number[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const response: GraphQLResponse<AgentsQuery> = await execute(
        server.url,
        AgentsDocument,
        { first: 10, after, filter: { ownerId: userId(pager) }, orderBy },
        { token: viewer.token },
      );
      expect(response.errors).toBeUndefined();
      const connection = response.data!.agents;
      expect(connection.totalCount).toBe(total);
      seen.push(...connection.edges.map((edge) => edge.node.id));
      sizes.push(connection.edges.length);
      expect(connection.pageInfo.endCursor).toBe(connection.edges.at(-1)?.cursor ?? null);
      if (!connection.pageInfo.hasNextPage) return { seen, sizes };
      after = connection.pageInfo.endCursor;
    }
    throw new Error('pagination did not end after 10 pages');
  }

  it.each<[string, AgentOrder | undefined, Key, 'ASC' | 'DESC']>([
    ['CREATED_AT DESC (the default)', undefined, 'createdAt', 'DESC'],
    ['CREATED_AT ASC', { field: 'CREATED_AT', direction: 'ASC' }, 'createdAt', 'ASC'],
    ['NAME ASC', { field: 'NAME', direction: 'ASC' }, 'name', 'ASC'],
    ['NAME DESC', { field: 'NAME', direction: 'DESC' }, 'name', 'DESC'],
    ['UPDATED_AT (default direction DESC)', { field: 'UPDATED_AT' }, 'updatedAt', 'DESC'],
    ['UPDATED_AT ASC', { field: 'UPDATED_AT', direction: 'ASC' }, 'updatedAt', 'ASC'],
  ])('pages through all agents by %s, each once and in order', async (_label, orderBy, key, direction) => {
    const expected = expectedOrder(key, direction);
    if (key !== 'createdAt') expect(expected).not.toEqual(expectedOrder('createdAt', direction));
    const { seen, sizes } = await pageThrough(orderBy);
    expect(sizes).toEqual([10, 10, 5]);
    expect(new Set(seen).size).toBe(total);
    expect(seen).toEqual(expected);
  });

  it('refuses a cursor made for another order, naming `after`', async () => {
    const byName = await execute(
      server.url,
      AgentsDocument,
      { first: 5, filter: { ownerId: userId(pager) }, orderBy: { field: 'NAME', direction: 'ASC' } },
      { token: viewer.token },
    );
    const cursor = byName.data!.agents.pageInfo.endCursor!;
    const response = await execute(
      server.url,
      AgentsDocument,
      { first: 5, after: cursor, filter: { ownerId: userId(pager) } },
      { token: viewer.token },
    );
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(problemFields(response)).toEqual(['after']);
    expect(response.errors?.[0]?.message).toContain('after');
  });

  const forged = (parts: unknown) => Buffer.from(JSON.stringify(parts)).toString('base64url');
  it.each([
    ['a random string', 'not-a-cursor!!'],
    ['base64 of text that is not JSON', Buffer.from('hello world').toString('base64url')],
    ['a JSON object instead of the cursor array', forged({ key: 'createdAt' })],
    ['a cursor whose date is not a date', forged(['createdAt', 'yesterday', randomUUID()])],
    ['a cursor whose id is not a UUID', forged(['createdAt', new Date().toISOString(), 'abc'])],
  ])('refuses %s as `after` with BAD_USER_INPUT', async (_label, after) => {
    const response = await execute(
      server.url,
      AgentsDocument,
      { first: 5, after, filter: { ownerId: userId(pager) } },
      { token: viewer.token },
    );
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(problemFields(response)).toEqual(['after']);
  });

  it.each([0, -1, 101])('refuses first=%i, naming `first`', async (first) => {
    const response = await execute(server.url, AgentsDocument, { first }, { token: viewer.token });
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(problemFields(response)).toContain('first');
    expect(response.errors?.[0]?.message).toContain('first');
  });

  it('accepts first=100, the maximum', async () => {
    const response = await execute(
      server.url,
      AgentsDocument,
      { first: 100, filter: { ownerId: userId(pager) } },
      { token: viewer.token },
    );
    expect(response.errors).toBeUndefined();
    expect(response.data?.agents.edges).toHaveLength(total);
    expect(response.data?.agents.pageInfo).toEqual({
      hasNextPage: false,
      endCursor: response.data?.agents.edges.at(-1)?.cursor,
    });
  });
});

describe('agent filters', () => {
  let ownerA: Actor;
  let ownerB: Actor;
  const fixtures: Record<string, AgentFieldsFragment> = {};

  beforeAll(async () => {
    ownerA = await createActor(server, Role.OPERATOR, 'agents-filter-a');
    ownerB = await createActor(server, Role.OPERATOR, 'agents-filter-b');
    const specs: [string, Actor, Partial<CreateAgentInput>][] = [
      [
        'percent',
        ownerA,
        { name: 'Alpha%Beta', model: 'filter-llama:3b', supportedAlgorithms: ['GZIP', 'ZSTD'] },
      ],
      [
        'underscore',
        ownerA,
        { name: 'alpha_beta', model: 'filter-qwen:7b', status: 'DISABLED', supportedAlgorithms: ['BROTLI'] },
      ],
      [
        'shouting',
        ownerB,
        { name: 'ALPHAxBETA', model: 'filter-llama:3b', status: 'DISABLED', supportedAlgorithms: ['ZSTD'] },
      ],
      ['backslash', ownerB, { name: 'gamma\\delta', model: 'filter-mistral:7b' }],
      [
        'soup',
        ownerB,
        { name: 'Alphabet soup', model: 'filter-qwen:7b', supportedAlgorithms: ['DEFLATE', 'ZSTD'] },
      ],
    ];
    for (const [key, owner, input] of specs) fixtures[key] = await createAgent(owner, input);
  });

  async function list(filter: AgentFilter) {
    const response = await execute(
      server.url,
      AgentsDocument,
      { first: 100, filter },
      { token: viewer.token },
    );
    expect(response.errors).toBeUndefined();
    const connection = response.data!.agents;
    expect(connection.pageInfo.hasNextPage).toBe(false);
    expect(connection.totalCount).toBe(connection.edges.length);
    return connection.edges.map((edge) => edge.node);
  }

  /** Fixture keys found in a result, in fixture order. */
  const keysIn = (nodes: AgentFieldsFragment[]) =>
    Object.keys(fixtures).filter((key) => nodes.some((node) => node.id === fixtures[key]!.id));

  it('filters by status', async () => {
    const disabled = await list({ status: 'DISABLED' });
    expect(disabled.every((agent) => agent.status === 'DISABLED')).toBe(true);
    expect(keysIn(disabled)).toEqual(['underscore', 'shouting']);
    const active = await list({ status: 'ACTIVE' });
    expect(active.every((agent) => agent.status === 'ACTIVE')).toBe(true);
    expect(keysIn(active)).toEqual(['percent', 'backslash', 'soup']);
  });

  it('filters by exact model', async () => {
    const llama = await list({ model: 'filter-llama:3b' });
    expect(llama.map((agent) => agent.id).sort()).toEqual(
      [fixtures.percent!.id, fixtures.shouting!.id].sort(),
    );
    expect(await list({ model: 'filter-llama' })).toEqual([]);
  });

  it('filters by owner', async () => {
    const ofA = await list({ ownerId: userId(ownerA) });
    expect(ofA.every((agent) => agent.owner.id === userId(ownerA))).toBe(true);
    expect(keysIn(ofA)).toEqual(['percent', 'underscore']);
    expect(ofA).toHaveLength(2);
    expect(await list({ ownerId: randomUUID() })).toEqual([]);
  });

  it('refuses an owner id that is not a UUID, naming the field', async () => {
    const response = await execute(
      server.url,
      AgentsDocument,
      { filter: { ownerId: 'abc' } },
      { token: viewer.token },
    );
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(problemFields(response)).toEqual(['filter.ownerId']);
  });

  it('filters by name fragment, ignoring case', async () => {
    const alpha = await list({ nameContains: 'ALPHA' });
    expect(alpha.every((agent) => agent.name.toLowerCase().includes('alpha'))).toBe(true);
    expect(keysIn(alpha)).toEqual(['percent', 'underscore', 'shouting', 'soup']);
  });

  it('treats % and _ in the name fragment literally', async () => {
    const percent = await list({ nameContains: '%' });
    expect(percent.every((agent) => agent.name.includes('%'))).toBe(true);
    expect(keysIn(percent)).toEqual(['percent']);

    // As a LIKE wildcard, `_` would also match "AxB" in ALPHAxBETA and "a%B" in Alpha%Beta.
    const underscore = await list({ nameContains: 'A_B' });
    expect(underscore.every((agent) => agent.name.toLowerCase().includes('a_b'))).toBe(true);
    expect(keysIn(underscore)).toEqual(['underscore']);

    const backslash = await list({ nameContains: '\\' });
    expect(keysIn(backslash)).toEqual(['backslash']);
  });

  it('filters by supported algorithm', async () => {
    const zstd = await list({ supportsAlgorithm: 'ZSTD' });
    expect(zstd.every((agent) => agent.supportedAlgorithms.includes('ZSTD'))).toBe(true);
    expect(keysIn(zstd)).toEqual(['percent', 'shouting', 'soup']);
  });

  it('combines filters: every condition must hold', async () => {
    const combined = await list({
      ownerId: userId(ownerB),
      status: 'DISABLED',
      supportsAlgorithm: 'ZSTD',
      nameContains: 'alpha',
    });
    expect(combined.map((agent) => agent.id)).toEqual([fixtures.shouting!.id]);

    const qwenOfB = await list({ ownerId: userId(ownerB), model: 'filter-qwen:7b' });
    expect(qwenOfB.map((agent) => agent.id)).toEqual([fixtures.soup!.id]);

    expect(await list({ ownerId: userId(ownerA), supportsAlgorithm: 'DEFLATE' })).toEqual([]);
  });
});

describe('agent input validation', () => {
  it.each<[string, Partial<CreateAgentInput>, string]>([
    ['an empty name', { name: '' }, 'name'],
    ['a blank name', { name: '   ' }, 'name'],
    ['a name of 101 characters', { name: 'n'.repeat(101) }, 'name'],
    ['temperature 7', { temperature: 7 }, 'temperature'],
    ['temperature -1', { temperature: -1 }, 'temperature'],
    ['an invalid model name', { model: 'bad model!' }, 'model'],
    ['a system prompt of 32,001 characters', { systemPrompt: 's'.repeat(32_001) }, 'systemPrompt'],
    ['options.topP 1.5', { options: { topP: 1.5 } }, 'options.topP'],
    ['duplicate algorithms', { supportedAlgorithms: ['GZIP', 'GZIP'] }, 'supportedAlgorithms'],
  ])(
    'refuses to create an agent with %s, naming the field and writing nothing',
    async (_label, input, field) => {
      const before = await agentCount();
      const response = await execute(
        server.url,
        CreateAgentDocument,
        { input: agentInput(input) },
        { token: operator.token },
      );
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.data ?? null).toBeNull();
      expect(problemFields(response)).toContain(field);
      expect(response.errors?.[0]?.message).toContain(field);
      expect(await agentCount()).toBe(before);
    },
  );

  it('accepts the limits themselves', async () => {
    const agent = await createAgent(operator, {
      name: 'n'.repeat(100),
      temperature: 2,
      systemPrompt: 's'.repeat(32_000),
      options: { topP: 1 },
    });
    expect(agent.name).toHaveLength(100);
    expect(agent.systemPrompt).toHaveLength(32_000);
  });

  it.each<[string, UpdateAgentInput, string]>([
    ['a blank name', { name: '   ' }, 'name'],
    ['temperature 7', { temperature: 7 }, 'temperature'],
    ['an invalid model name', { model: 'bad model!' }, 'model'],
    ['options.topP 1.5', { options: { topP: 1.5 } }, 'options.topP'],
  ])('refuses an update with %s, naming the field and changing nothing', async (_label, input, field) => {
    const agent = await createAgent(operator, { description: 'untouched' });
    const before = await agentRow(agent.id);
    const response = await updateAgent(operator, agent.id, { ...input, description: 'changed' });
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(problemFields(response)).toContain(field);
    expect(await agentRow(agent.id)).toEqual(before);
  });

  it('answers NOT_FOUND for a well-formed id that matches no agent', async () => {
    const id = randomUUID();
    const read = await execute(server.url, AgentDocument, { id }, { token: viewer.token });
    expect(codes(read)).toEqual(['NOT_FOUND']);
    const update = await updateAgent(operator, id, { description: 'x' });
    expect(codes(update)).toEqual(['NOT_FOUND']);
    const remove = await execute(server.url, DeleteAgentDocument, { id }, { token: operator.token });
    expect(codes(remove)).toEqual(['NOT_FOUND']);
  });

  it('answers BAD_USER_INPUT naming `id` for a malformed id', async () => {
    const before = await agentCount();
    const read = await execute(server.url, AgentDocument, { id: 'abc' }, { token: viewer.token });
    const update = await updateAgent(operator, 'abc', { description: 'x' });
    const remove = await execute(server.url, DeleteAgentDocument, { id: 'abc' }, { token: operator.token });
    for (const response of [read, update, remove]) {
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(problemFields(response)).toEqual(['id']);
    }
    expect(await agentCount()).toBe(before);
  });
});

describe('request bodies', () => {
  const headers = (actor: Actor) => ({
    'content-type': 'application/json',
    authorization: `Bearer ${actor.token}`,
  });

  it('answers a 16 MB body (over the 12 MiB default) with 413 BAD_USER_INPUT, writes nothing, and keeps serving', async () => {
    const before = await agentCount();
    const body = JSON.stringify({
      query: print(CreateAgentDocument),
      variables: { input: agentInput({ systemPrompt: 'x'.repeat(16 * 1024 * 1024) }) },
    });
    expect(body.length).toBeGreaterThan(12 * 1024 * 1024);
    const response = await fetch(server.url, { method: 'POST', headers: headers(operator), body });
    expect(response.status).toBe(413);
    const json = (await response.json()) as { errors?: GraphQLFormattedError[] };
    expect(codes(json)).toEqual(['BAD_USER_INPUT']);
    expect(await agentCount()).toBe(before);

    const next = await execute(server.url, AgentsDocument, { first: 1 }, { token: viewer.token });
    expect(next.status).toBe(200);
    expect(next.errors).toBeUndefined();
  });

  it('answers a malformed JSON body with 400 BAD_USER_INPUT', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: headers(operator),
      body: '{"query": "{ agents { totalCount } }",',
    });
    expect(response.status).toBe(400);
    const json = (await response.json()) as { errors?: GraphQLFormattedError[] };
    expect(codes(json)).toEqual(['BAD_USER_INPUT']);
  });
});
