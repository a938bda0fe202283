import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  getIntrospectionQuery,
  Kind,
  Lexer,
  parse,
  print,
  Source,
  specifiedRules,
  TokenKind,
  validate,
  visit,
  type ASTNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { MessageType } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/config.js';
import { buildBaseSchema } from '../src/graphql/schema.js';
import { Role } from '../src/modules/users/role.js';
import {
  checkSource,
  documentLimitRules,
  operationCost,
  type DocumentLimitName,
  type DocumentLimits,
} from '../src/security/document-limits.js';
import { createActor, type Actor } from './support/actors.js';
import { query as sql } from './support/database.js';
import { RawWsClient } from './support/raw-ws.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * Every document limit (characters, tokens, depth, aliases, directives, cost, batch) over HTTP and over
 * graphql-ws: one just over is refused with BAD_USER_INPUT naming the limit, its value and what was sent,
 * before anything executes (a mutation in it creates nothing); one within it is served.
 */

/** Small limits, so the documents stay readable. */
const SMALL = {
  maxCharacters: 2000,
  maxTokens: 100,
  maxDepth: 5,
  maxAliases: 3,
  maxDirectives: 3,
  maxCost: 40,
  defaultListSize: 4,
};

/** The defaults (src/config/config.ts), as documented. */
const DEFAULTS = {
  maxCharacters: 20_000,
  maxTokens: 2_000,
  maxDepth: 12,
  maxAliases: 30,
  maxDirectives: 50,
  maxCost: 50_000,
  defaultListSize: 10,
  maxBatch: 1,
};

const NO_DEBATE = '00000000-0000-4000-8000-000000000000';

interface Doc {
  query: string;
  variables?: Record<string, unknown>;
}

interface Reply {
  status: number;
  data?: unknown;
  errors?: GraphQLFormattedError[];
}

let server: TestServer; // default limits
let small: TestServer; // SMALL limits, same database
let operator: Actor;
const sockets: RawWsClient[] = [];
let defaultWs: RawWsClient;
let smallWs: RawWsClient;

async function openWs(target: TestServer): Promise<RawWsClient> {
  const client = new RawWsClient(target.wsUrl);
  sockets.push(client);
  await client.init(operator.token);
  return client;
}

beforeAll(async () => {
  server = await startTestServer();
  operator = await createActor(server, Role.OPERATOR, 'limits-operator');
  small = await startTestServer({
    databaseUrl: server.databaseUrl,
    env: {
      GRAPHQL_MAX_CHARACTERS: String(SMALL.maxCharacters),
      GRAPHQL_MAX_TOKENS: String(SMALL.maxTokens),
      GRAPHQL_MAX_DEPTH: String(SMALL.maxDepth),
      GRAPHQL_MAX_ALIASES: String(SMALL.maxAliases),
      GRAPHQL_MAX_DIRECTIVES: String(SMALL.maxDirectives),
      GRAPHQL_MAX_COST: String(SMALL.maxCost),
      GRAPHQL_DEFAULT_LIST_SIZE: String(SMALL.defaultListSize),
    },
  });
  defaultWs = await openWs(server);
  smallWs = await openWs(small);
});

afterAll(async () => {
  for (const socket of sockets) socket.dispose();
  await small?.close();
  await server?.close();
});

async function overHttp(
  target: TestServer,
  body: Doc | Doc[],
  headers: Record<string, string> = {},
): Promise<Reply> {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${operator.token}`, ...headers },
    body: JSON.stringify(body),
  });
  const parsed = (await response.json()) as Omit<Reply, 'status'>;
  return { status: response.status, ...parsed };
}

let operationSeq = 0;

/** One operation over graphql-ws: its `next` payloads, or the errors it ended with. */
async function overWs(
  client: RawWsClient,
  doc: Doc,
): Promise<{ errors?: GraphQLFormattedError[]; nexts: { data?: unknown; errors?: unknown[] }[] }> {
  const id = `op-${++operationSeq}`;
  client.subscribe(id, doc.query, doc.variables);
  const end = await client.waitFor(
    (message) =>
      message.id === id && (message.type === MessageType.Error || message.type === MessageType.Complete),
    `the end of ${id}`,
  );
  return {
    errors: end.type === MessageType.Error ? (end.payload as GraphQLFormattedError[]) : undefined,
    nexts: client.nexts(id),
  };
}

function expectLimitError(
  errors: readonly GraphQLFormattedError[] | undefined,
  limit: DocumentLimitName,
  max: number,
  actual: number,
): void {
  expect(errors, JSON.stringify(errors)).toHaveLength(1);
  expect(errors![0]!.message).toContain(`the ${limit} limit`);
  expect(errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', limit, max, actual });
}

function expectRefusedOverHttp(reply: Reply, limit: DocumentLimitName, max: number, actual: number): void {
  expect(reply.status).toBe(400);
  expect(reply.data).toBeUndefined();
  expectLimitError(reply.errors, limit, max, actual);
}

async function expectRefusedOverWs(
  client: RawWsClient,
  doc: Doc,
  limit: DocumentLimitName,
  max: number,
  actual: number,
): Promise<void> {
  const result = await overWs(client, doc);
  expect(result.nexts).toEqual([]);
  expectLimitError(result.errors, limit, max, actual);
}

function tokenCount(text: string): number {
  const lexer = new Lexer(new Source(text));
  let tokens = 0;
  while (lexer.advance().kind !== TokenKind.EOF) tokens++;
  return tokens;
}

/** `open … close` with `__typename` selections in between (no depth, no cost) to make `total` tokens. */
function withTokens(open: string, close: string, total: number): string {
  const text = `${open} ${'__typename '.repeat(total - tokenCount(open + close))}${close}`;
  expect(tokenCount(text)).toBe(total);
  return text;
}

/** The document padded with a comment (characters, no tokens) to exactly `length` characters. */
function withCharacters(document: string, length: number): string {
  const text = `${document}\n#${'x'.repeat(length - document.length - 2)}`;
  expect(text).toHaveLength(length);
  return text;
}

async function agentsNamed(name: string): Promise<number> {
  const rows = await sql<{ count: string }>(
    server.databaseUrl,
    'select count(*) from agents where name = $1',
    [name],
  );
  return Number(rows[0]!.count);
}

interface LimitCase {
  label: string;
  limit: DocumentLimitName;
  max: number;
  over: Doc;
  actual: number;
  within: Doc;
}

const me = (fields: string) => `{ me { ${fields} } }`;
const agentsPage = (first: number | string) => `{ agents(first: ${first}) { edges { node { id name } } } }`;
const agentsPageByVariable = 'query Page($n: Int!) { agents(first: $n) { edges { node { id name } } } }';

/**
 * Costs with SMALL.defaultListSize = 4: a field costs 1, a list multiplies what is inside it by its
 * page size (or 4 when it takes none); a page's own edges/nodes are not counted twice.
 */
const limitCases: LimitCase[] = [
  {
    label: 'characters',
    limit: 'maxCharacters',
    max: SMALL.maxCharacters,
    over: { query: withCharacters(me('id'), SMALL.maxCharacters + 1) },
    actual: SMALL.maxCharacters + 1,
    within: { query: withCharacters(me('id'), SMALL.maxCharacters) },
  },
  {
    label: 'tokens',
    limit: 'maxTokens',
    max: SMALL.maxTokens,
    over: { query: withTokens('{ me { id', '} }', SMALL.maxTokens + 1) },
    // The lexer stops counting once past the limit.
    actual: SMALL.maxTokens + 1,
    within: { query: withTokens('{ me { id', '} }', SMALL.maxTokens) },
  },
  {
    label: 'depth',
    limit: 'maxDepth',
    max: SMALL.maxDepth,
    over: { query: '{ debates(first: 1) { edges { node { participants { agent { id } } } } } }' },
    actual: 6,
    within: { query: '{ debates(first: 1) { edges { node { participants { id } } } } }' },
  },
  {
    label: 'depth, counted through fragments',
    limit: 'maxDepth',
    max: SMALL.maxDepth,
    over: {
      query: `{ debates(first: 1) { edges { node { ...Seats } } } }
        fragment Seats on Debate { participants { ... on DebateParticipant { agent { id } } } }`,
    },
    actual: 6,
    within: {
      query: `{ debates(first: 1) { edges { node { ...Seats } } } }
        fragment Seats on Debate { participants { ... on DebateParticipant { id } } }`,
    },
  },
  {
    label: 'aliases',
    limit: 'maxAliases',
    max: SMALL.maxAliases,
    over: { query: '{ a: me { id } b: me { email } c: me { role } d: me { createdAt } }' },
    actual: 4,
    within: { query: '{ a: me { id } b: me { email } c: me { role } }' },
  },
  {
    label: 'directives',
    limit: 'maxDirectives',
    max: SMALL.maxDirectives,
    over: {
      query: me(
        'id @include(if: true) email @skip(if: false) role @include(if: true) createdAt @skip(if: false)',
      ),
    },
    actual: 4,
    within: { query: me('id @include(if: true) email @skip(if: false) role @include(if: true)') },
  },
  {
    // agents: 1 + first × (edges 1 + node (1 + id 1 + name 1)) = 1 + 4 × first
    label: 'cost, page size as a literal',
    limit: 'maxCost',
    max: SMALL.maxCost,
    over: { query: agentsPage(10) },
    actual: 41,
    within: { query: agentsPage(9) },
  },
  {
    label: 'cost, page size as a variable',
    limit: 'maxCost',
    max: SMALL.maxCost,
    over: { query: agentsPageByVariable, variables: { n: 10 } },
    actual: 41,
    within: { query: agentsPageByVariable, variables: { n: 9 } },
  },
  {
    // compressionAlgorithms: 1 + 4 × 5 = 21; circuitBreakers: 1 + 4 × leaves (4 → 17, 5 → 21)
    label: 'cost, lists without a page size count GRAPHQL_DEFAULT_LIST_SIZE',
    limit: 'maxCost',
    max: SMALL.maxCost,
    over: {
      query: `{ compressionAlgorithms { algorithm defaultLevel description maxLevel minLevel }
        circuitBreakers { name replica state failureRate callsInWindow } }`,
    },
    actual: 42,
    within: {
      query: `{ compressionAlgorithms { algorithm defaultLevel description maxLevel minLevel }
        circuitBreakers { name replica state failureRate } }`,
    },
  },
];

describe.each(limitCases)('$label (GRAPHQL_MAX_* small)', ({ limit, max, over, actual, within }) => {
  it('over HTTP: just over is refused with 400 BAD_USER_INPUT naming the limit', async () => {
    expectRefusedOverHttp(await overHttp(small, over), limit, max, actual);
  });

  it('over HTTP: within is served', async () => {
    const reply = await overHttp(small, within);
    expect(reply.errors).toBeUndefined();
    expect(reply.status).toBe(200);
    expect(reply.data).toBeTruthy();
  });

  it('over graphql-ws: just over is refused with BAD_USER_INPUT naming the limit', async () => {
    await expectRefusedOverWs(smallWs, over, limit, max, actual);
  });

  it('over graphql-ws: within is served', async () => {
    const result = await overWs(smallWs, within);
    expect(result.errors).toBeUndefined();
    expect(result.nexts).toHaveLength(1);
    expect(result.nexts[0]!.errors).toBeUndefined();
    expect(result.nexts[0]!.data).toBeTruthy();
  });
});

describe('a subscription document is held to the same limits over graphql-ws', () => {
  it('four aliases in agentEvents are refused before it subscribes', async () => {
    await expectRefusedOverWs(
      smallWs,
      { query: 'subscription { agentEvents { a: seq b: type c: agentId d: occurredAt } }' },
      'maxAliases',
      SMALL.maxAliases,
      4,
    );
  });

  it('four directives in agentEvents are refused before it subscribes', async () => {
    await expectRefusedOverWs(
      smallWs,
      {
        query: `subscription { agentEvents {
          seq @include(if: true) type @include(if: true) agentId @skip(if: false) occurredAt @skip(if: false) } }`,
      },
      'maxDirectives',
      SMALL.maxDirectives,
      4,
    );
  });
});

describe('GET requests are held to the same limits', () => {
  const get = async (target: TestServer, query: string): Promise<Reply> => {
    const response = await fetch(`${target.url}?query=${encodeURIComponent(query)}`, {
      headers: { authorization: `Bearer ${operator.token}`, 'apollo-require-preflight': 'true' },
    });
    return { status: response.status, ...((await response.json()) as Omit<Reply, 'status'>) };
  };

  it('tokens (checked before parsing) and depth (checked in validation)', async () => {
    expectRefusedOverHttp(
      await get(small, withTokens('{ me { id', '} }', SMALL.maxTokens + 1)),
      'maxTokens',
      SMALL.maxTokens,
      SMALL.maxTokens + 1,
    );
    expectRefusedOverHttp(
      await get(small, '{ debates(first: 1) { edges { node { participants { agent { id } } } } } }'),
      'maxDepth',
      SMALL.maxDepth,
      6,
    );
    const within = await get(small, me('id'));
    expect(within.status).toBe(200);
    expect(within.errors).toBeUndefined();
  });
});

describe('a mutation in a document over a limit creates nothing (decided before execution)', () => {
  const CREATE = 'mutation Create($input: CreateAgentInput!) { createAgent(input: $input) { id';
  const input = (name: string) => ({ name, model: 'llama3.2:3b' });

  interface MutationCase {
    label: string;
    limit: DocumentLimitName;
    max: number;
    actual: number;
    doc: (name: string) => Doc;
  }

  /**
   * Each document names createAgent first: executed, it would create the agent before anything after it
   * (cancelDebate of a debate that does not exist) could fail.
   */
  const mutationCases: MutationCase[] = [
    {
      label: 'characters',
      limit: 'maxCharacters',
      max: SMALL.maxCharacters,
      actual: SMALL.maxCharacters + 1,
      doc: (name) => ({
        query: withCharacters(`${CREATE} } }`, SMALL.maxCharacters + 1),
        variables: { input: input(name) },
      }),
    },
    {
      label: 'tokens',
      limit: 'maxTokens',
      max: SMALL.maxTokens,
      actual: SMALL.maxTokens + 1,
      doc: (name) => ({
        query: withTokens(CREATE, '} }', SMALL.maxTokens + 1),
        variables: { input: input(name) },
      }),
    },
    {
      label: 'depth',
      limit: 'maxDepth',
      max: SMALL.maxDepth,
      actual: 6,
      doc: (name) => ({
        query: `${CREATE} }
          cancelDebate(id: "${NO_DEBATE}") { turns(first: 1) { edges { node { agent { id } } } } } }`,
        variables: { input: input(name) },
      }),
    },
    {
      label: 'aliases',
      limit: 'maxAliases',
      max: SMALL.maxAliases,
      actual: 4,
      doc: (name) => ({
        query: `mutation Create($input: CreateAgentInput!) {
          created: createAgent(input: $input) { agentId: id agentName: name agentModel: model } }`,
        variables: { input: input(name) },
      }),
    },
    {
      label: 'directives',
      limit: 'maxDirectives',
      max: SMALL.maxDirectives,
      actual: 4,
      doc: (name) => ({
        query: `${CREATE} @include(if: true) name @include(if: true)
          model @skip(if: false) description @skip(if: false) } }`,
        variables: { input: input(name) },
      }),
    },
    {
      // createAgent 2 + cancelDebate (1 + turns (1 + n × (nodes 1 + 3 leaves))) = 4 + 4n; n = 10 → 44
      label: 'cost (page size as a variable)',
      limit: 'maxCost',
      max: SMALL.maxCost,
      actual: 44,
      doc: (name) => ({
        query: `mutation Create($input: CreateAgentInput!, $n: Int!) {
          createAgent(input: $input) { id }
          cancelDebate(id: "${NO_DEBATE}") { turns(first: $n) { nodes { id round seat } } } }`,
        variables: { input: input(name), n: 10 },
      }),
    },
  ];

  describe.each(mutationCases)('$label', ({ limit, max, actual, doc }) => {
    it('over HTTP', async () => {
      const name = `over-${limit}-http`;
      expectRefusedOverHttp(await overHttp(small, doc(name)), limit, max, actual);
      expect(await agentsNamed(name)).toBe(0);
    });

    it('over graphql-ws', async () => {
      const name = `over-${limit}-ws`;
      await expectRefusedOverWs(smallWs, doc(name), limit, max, actual);
      expect(await agentsNamed(name)).toBe(0);
    });
  });

  it('(control) the same mutation within the limits creates the agent, over HTTP and graphql-ws', async () => {
    const http = await overHttp(small, {
      query: `${CREATE} } }`,
      variables: { input: input('within-http') },
    });
    expect(http.errors).toBeUndefined();
    expect(await agentsNamed('within-http')).toBe(1);
    const ws = await overWs(smallWs, { query: `${CREATE} } }`, variables: { input: input('within-ws') } });
    expect(ws.errors).toBeUndefined();
    expect(await agentsNamed('within-ws')).toBe(1);
  });
});

describe('the defaults', () => {
  const nested = (levels: number) => `{ ${'a { '.repeat(levels - 1)}a${' }'.repeat(levels - 1)} }`;

  it('characters: 20,000', async () => {
    expectRefusedOverHttp(
      await overHttp(server, { query: withCharacters(me('id'), DEFAULTS.maxCharacters + 1) }),
      'maxCharacters',
      DEFAULTS.maxCharacters,
      DEFAULTS.maxCharacters + 1,
    );
  });

  it('tokens: 2,000', async () => {
    const reply = await overHttp(server, { query: `{ ${'a '.repeat(DEFAULTS.maxTokens - 1)}}` });
    expectRefusedOverHttp(reply, 'maxTokens', DEFAULTS.maxTokens, DEFAULTS.maxTokens + 1);
  });

  it('depth: 12 (no path in the schema is that deep, so the fields here are unknown ones)', async () => {
    const reply = await overHttp(server, { query: nested(DEFAULTS.maxDepth + 1) });
    expect(reply.status).toBe(400);
    const depth = reply.errors?.find((error) => error.extensions?.limit === 'maxDepth');
    expect(depth?.extensions).toEqual({
      code: 'BAD_USER_INPUT',
      limit: 'maxDepth',
      max: DEFAULTS.maxDepth,
      actual: DEFAULTS.maxDepth + 1,
    });
    const atLimit = await overHttp(server, { query: nested(DEFAULTS.maxDepth) });
    expect(atLimit.errors?.filter((error) => error.extensions?.limit)).toEqual([]);
  });

  it('aliases: 30, over HTTP and graphql-ws', async () => {
    const aliases = (count: number) =>
      `{ ${Array.from({ length: count }, (_, index) => `a${index}: __typename`).join(' ')} }`;
    const over = { query: aliases(DEFAULTS.maxAliases + 1) };
    expectRefusedOverHttp(await overHttp(server, over), 'maxAliases', DEFAULTS.maxAliases, 31);
    await expectRefusedOverWs(defaultWs, over, 'maxAliases', DEFAULTS.maxAliases, 31);
    const within = await overHttp(server, { query: aliases(DEFAULTS.maxAliases) });
    expect(within.errors).toBeUndefined();
  });

  it('directives: 50', async () => {
    const directives = (count: number) => me('id @include(if: true) '.repeat(count));
    expectRefusedOverHttp(
      await overHttp(server, { query: directives(DEFAULTS.maxDirectives + 1) }),
      'maxDirectives',
      DEFAULTS.maxDirectives,
      DEFAULTS.maxDirectives + 1,
    );
    expect((await overHttp(server, { query: directives(DEFAULTS.maxDirectives) })).errors).toBeUndefined();
  });

  it('cost: 50,000, with nested pages multiplying', async () => {
    // debates: 1 + 100 × (edges 1 + node (1 + turns (1 + t × (edges 1 + node (1 + id 1)))))
    const pages = (turns: number) =>
      `{ debates(first: 100) { edges { node { turns(first: ${turns}) { edges { node { id } } } } } } }`;
    expectRefusedOverHttp(await overHttp(server, { query: pages(200) }), 'maxCost', DEFAULTS.maxCost, 60_301);
    const within = await overHttp(server, { query: pages(100) }); // 30,301
    expect(within.errors).toBeUndefined();
  });

  it('lists without a page size count 10', async () => {
    // debates: 1 + 100 × (nodes 1 + 5 × rounds (1 + 10 × 9) + participants (1 + 10 × (5 + agent 2)))
    const rounds =
      'id number consensus leadingPosition positionChanges turns tokens moderatorNote completedAt';
    const query = `{ debates(first: 100) { nodes {
      rounds { ${rounds} } r2: rounds { ${rounds} } r3: rounds { ${rounds} } r4: rounds { ${rounds} }
      r5: rounds { ${rounds} }
      participants { id seat stance finalPosition finalConfidence agent { id } } } } }`;
    expectRefusedOverHttp(await overHttp(server, { query }), 'maxCost', DEFAULTS.maxCost, 52_701);
  });
});

describe('batching (maxBatch)', () => {
  const batchOf = (count: number, doc: (index: number) => Doc = () => ({ query: me('id') })) =>
    Array.from({ length: count }, (_, index) => doc(index));
  const createNamed = (prefix: string) => (index: number) => ({
    query: 'mutation Create($input: CreateAgentInput!) { createAgent(input: $input) { id } }',
    variables: { input: { name: `${prefix}-${index}`, model: 'llama3.2:3b' } },
  });

  it('is off by default: an array body gets 400 naming maxBatch, and runs none of it', async () => {
    const reply = await overHttp(server, batchOf(2, createNamed('batch-off')));
    expectRefusedOverHttp(reply, 'maxBatch', DEFAULTS.maxBatch, 2);
    expect(reply.errors![0]!.message).toMatch(/batching is off/);
    expect(await agentsNamed('batch-off-0')).toBe(0);
  });

  describe('GRAPHQL_MAX_BATCH=3', () => {
    let batching: TestServer;
    beforeAll(async () => {
      batching = await startTestServer({ databaseUrl: server.databaseUrl, env: { GRAPHQL_MAX_BATCH: '3' } });
    });
    afterAll(() => batching?.close());

    const post = async (body: Doc[]) => {
      const response = await fetch(batching.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${operator.token}` },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as unknown };
    };

    it('a batch of 3 is served, one result per operation', async () => {
      const reply = await post(batchOf(3, createNamed('batch-three')));
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual(
        [1, 2, 3].map(() => ({ data: { createAgent: { id: expect.any(String) } } })),
      );
      for (const index of [0, 1, 2]) expect(await agentsNamed(`batch-three-${index}`)).toBe(1);
    });

    it('a batch of 4 is refused with 400 naming maxBatch, and runs none of it', async () => {
      const reply = await post(batchOf(4, createNamed('batch-four')));
      expectRefusedOverHttp(
        { status: reply.status, ...(reply.body as Omit<Reply, 'status'>) },
        'maxBatch',
        3,
        4,
      );
      for (const index of [0, 1, 2, 3]) expect(await agentsNamed(`batch-four-${index}`)).toBe(0);
    });

    it('a batch with one document over the characters limit is refused whole, before the others run', async () => {
      const reply = await post([
        createNamed('batch-oversized')(0),
        { query: withCharacters(me('id'), DEFAULTS.maxCharacters + 1) },
      ]);
      expectRefusedOverHttp(
        { status: reply.status, ...(reply.body as Omit<Reply, 'status'>) },
        'maxCharacters',
        DEFAULTS.maxCharacters,
        DEFAULTS.maxCharacters + 1,
      );
      expect(await agentsNamed('batch-oversized-0')).toBe(0);
    });
  });
});

describe('fragment bombs and circular fragments are refused', () => {
  /** F(n) spreads F(n-1) twice: expanded, F0 appears 2^n times. */
  const bomb = (levels: number, leaf: string) =>
    [
      `query Bomb { ...F${levels} }`,
      `fragment F0 on Query { ${leaf} }`,
      ...Array.from(
        { length: levels },
        (_, index) => `fragment F${index + 1} on Query { ...F${index} ...F${index} }`,
      ),
    ].join('\n');
  const aliasBomb = { query: bomb(30, 'a: __typename') };
  const costBomb = { query: bomb(30, 'me { id }') };
  const circular = {
    query: `query Loop { me { ...A } }
      fragment A on User { id ...B }
      fragment B on User { email ...A }`,
  };

  it('an alias bomb (2^30 aliases expanded), over HTTP and graphql-ws', async () => {
    expectRefusedOverHttp(await overHttp(server, aliasBomb), 'maxAliases', DEFAULTS.maxAliases, 2 ** 30);
    await expectRefusedOverWs(defaultWs, aliasBomb, 'maxAliases', DEFAULTS.maxAliases, 2 ** 30);
  });

  it('a cost bomb (2^30 copies of `me { id }`), over HTTP and graphql-ws', async () => {
    expectRefusedOverHttp(await overHttp(server, costBomb), 'maxCost', DEFAULTS.maxCost, 2 ** 31);
    await expectRefusedOverWs(defaultWs, costBomb, 'maxCost', DEFAULTS.maxCost, 2 ** 31);
  });

  it('circular fragments over HTTP: 400 GRAPHQL_VALIDATION_FAILED', async () => {
    const reply = await overHttp(server, circular);
    expect(reply.status).toBe(400);
    expect(reply.data).toBeUndefined();
    expect(reply.errors?.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(reply.errors![0]!.message).toMatch(/Cannot spread fragment "A" within itself/);
  });

  it('circular fragments over graphql-ws: refused, nothing runs', async () => {
    const result = await overWs(defaultWs, circular);
    expect(result.nexts).toEqual([]);
    expect(result.errors).toHaveLength(1);
  });

  it('circular fragments over graphql-ws: GRAPHQL_VALIDATION_FAILED, as over HTTP', async () => {
    const result = await overWs(defaultWs, circular);
    expect(result.errors?.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(result.errors![0]!.message).toMatch(/Cannot spread fragment "A" within itself/);
  });

  it('an unknown field and a syntax error over graphql-ws keep their codes, as over HTTP', async () => {
    const unknown = await overWs(defaultWs, { query: '{ nope }' });
    expect(unknown.errors?.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const syntax = await overWs(defaultWs, { query: '{ me { ' });
    expect(syntax.errors?.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_PARSE_FAILED']);
  });
});

describe('the standard introspection query passes the default limits (NODE_ENV=test)', () => {
  const queries = {
    'getIntrospectionQuery()': getIntrospectionQuery(),
    'getIntrospectionQuery with every option (as Sandbox sends it)': getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
    }),
  };

  it.each(Object.entries(queries))('%s over HTTP and graphql-ws', async (_label, query) => {
    const http = await overHttp(server, { query });
    expect(http.errors).toBeUndefined();
    expect(http.status).toBe(200);
    const schema = (http.data as { __schema: { queryType: { name: string }; types: unknown[] } }).__schema;
    expect(schema.queryType.name).toBe('Query');
    expect(schema.types.length).toBeGreaterThan(20);
    const ws = await overWs(defaultWs, { query });
    expect(ws.errors).toBeUndefined();
    expect(ws.nexts[0]?.errors).toBeUndefined();
  });
});

describe('limits that are not enforced yet (bugs: see the comments)', () => {
  it('a page size from a variable default counts (`$n: Int! = 10`, no variables sent)', async () => {
    const reply = await overHttp(small, {
      query: 'query Page($n: Int! = 10) { agents(first: $n) { edges { node { id name } } } }',
    });
    expectRefusedOverHttp(reply, 'maxCost', SMALL.maxCost, 41); // counted as 14, served 10 per page
  });

  it("a page size left to the argument's default counts (`first: Int! = 20`)", async () => {
    const reply = await overHttp(small, { query: '{ agents { edges { node { id name } } } }' });
    expectRefusedOverHttp(reply, 'maxCost', SMALL.maxCost, 81); // counted as 14, served 20 per page
  });

  it('aliases inside an introspection field count', async () => {
    const query = `{ __schema { ${Array.from({ length: 4 }, (_, index) => `t${index}: types { name }`).join(' ')} } }`;
    expectRefusedOverHttp(await overHttp(small, { query }), 'maxAliases', SMALL.maxAliases, 4);
  });
});

describe('every operation of the SDK (src/sdk/operations) is within the default limits', () => {
  const limits: DocumentLimits = loadConfig({ NODE_ENV: 'test' }).documentLimits;
  const directory = path.resolve('src/sdk/operations');
  const files = readdirSync(directory).filter((file) => file.endsWith('.graphql'));
  // Codegen reads the files as one set of documents: fragments may be used across files.
  const all = parse(files.map((file) => readFileSync(path.join(directory, file), 'utf8')).join('\n'));
  const fragments = new Map(
    all.definitions
      .filter(
        (definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION,
      )
      .map((fragment) => [fragment.name.value, fragment]),
  );
  const operations = all.definitions.filter(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  );

  /** The operation with the fragments it uses, as the SDK sends it. */
  const documentOf = (operation: OperationDefinitionNode): DocumentNode => {
    const used = new Set<string>();
    const collect = (node: ASTNode) =>
      visit(node, {
        FragmentSpread(spread) {
          if (used.has(spread.name.value)) return;
          used.add(spread.name.value);
          collect(fragments.get(spread.name.value)!);
        },
      });
    collect(operation);
    return {
      kind: Kind.DOCUMENT,
      definitions: [operation, ...[...used].map((name) => fragments.get(name)!)],
    };
  };
  /** Every page-size variable (`$first`, `$turnsFirst`, …) set to `size`. */
  const pageVariables = (operation: OperationDefinitionNode, size: number) =>
    Object.fromEntries(
      (operation.variableDefinitions ?? [])
        .map((definition) => definition.variable.name.value)
        .filter((name) => /^(first|last|limit)$|First$/.test(name))
        .map((name) => [name, size]),
    );

  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildBaseSchema();
  });

  it('found the operations', () => {
    expect(files.length).toBeGreaterThanOrEqual(8);
    expect(operations.length).toBeGreaterThan(30);
  });

  it.each(operations.map((operation) => [operation.name!.value, operation] as const))(
    '%s: characters, tokens, depth, aliases, directives and cost (no variables; default pages of 20)',
    (_name, operation) => {
      const document = documentOf(operation);
      expect(() => checkSource(print(document), limits)).not.toThrow();
      expect(validate(schema, document, [...specifiedRules, ...documentLimitRules(limits)])).toEqual([]);
      expect(operationCost(schema, document, operation, {}, limits)).toBeLessThanOrEqual(limits.maxCost);
      // What the server returns when the SDK leaves page sizes out (the schema's default: 20).
      expect(
        operationCost(schema, document, operation, pageVariables(operation, 20), limits),
      ).toBeLessThanOrEqual(limits.maxCost);
    },
  );

  const paged = operations.filter((operation) => Object.keys(pageVariables(operation, 1)).length > 0);
  const singleLevel = paged.filter((operation) => operation.name!.value !== 'Debates');

  it.each(singleLevel.map((operation) => [operation.name!.value, operation] as const))(
    '%s: within the cost limit at the largest page (first: 100)',
    (_name, operation) => {
      const document = documentOf(operation);
      expect(
        operationCost(schema, document, operation, pageVariables(operation, 100), limits),
      ).toBeLessThanOrEqual(limits.maxCost);
    },
  );

  it('Debates: within the cost limit at the largest page the schema allows (first: 100)', () => {
    const operation = paged.find((candidate) => candidate.name!.value === 'Debates')!;
    const document = documentOf(operation);
    const cost = operationCost(schema, document, operation, { first: 100, turnsFirst: 20 }, limits);
    expect(cost).toBeLessThanOrEqual(limits.maxCost);
  });
});
