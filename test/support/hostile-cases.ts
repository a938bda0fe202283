import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  Kind,
  parse,
  print,
  typeFromAST,
  visit,
  type DocumentNode,
  type FieldNode,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { Prng } from '../../src/compression/prng.js';
import * as sdk from '../../src/sdk/generated/graphql.js';

/*
 * Hostile requests for test/hostile-input.test.ts, generated deterministically from a seed. Every case
 * is something a correct server must refuse: the test asserts a typed GraphQL error (or a protocol close)
 * for each, over HTTP and over graphql-ws. Generated strings use a small alphabet (`SAFE`) that cannot
 * spell a path, an SQL keyword or a stack frame, so finding one of those in a response is the server's.
 */

/** Who sends a request: a signed-in ADMIN (most cases), a VIEWER, nobody, or this Authorization header. */
export type Auth = 'admin' | 'viewer' | 'none' | { authorization: string };

export interface GraphQLParams {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
  extensions?: unknown;
}

export interface HttpSpec {
  method?: 'GET' | 'POST';
  /** POST body: `json` is serialised; `raw` (text or bytes) is sent as it is; `chunks` as a chunked stream. */
  json?: unknown;
  raw?: string | Uint8Array;
  chunks?: { chunk: Uint8Array; count: number };
  /** GET query string parameters. */
  search?: Record<string, string>;
  /** Extra headers; `content-type` defaults to application/json on POST (null: none at all). */
  headers?: Record<string, string>;
  contentType?: string | null;
  auth?: Auth;
}

export type WsSpec =
  /** A `subscribe` message on an acknowledged socket of this caller. */
  | { kind: 'subscribe'; payload: GraphQLParams; auth?: Auth }
  /** One raw frame on a fresh acknowledged ADMIN socket (or before `connection_init`). */
  | { kind: 'frame'; data: string | Uint8Array; binary?: boolean; beforeInit?: boolean };

export interface HostileCase {
  generator: GeneratorName;
  label: string;
  /** `small`: the instance started with a small BODY_LIMIT_BYTES (see the test). */
  server: 'main' | 'small';
  http?: HttpSpec;
  ws?: WsSpec;
}

/** Ids of things that exist on the server, so some cases reach real rows. */
export interface HostileContext {
  agentId: string;
  conversationId: string;
  viewerToken: string;
}

export const SMALL_BODY_LIMIT_BYTES = 64 * 1024;

/** Characters of generated strings: no whitespace, slash, quote or letters that could spell a word. */
const SAFE = Array.from('xq0123456789ßÿéæ');

export class Rand {
  private readonly prng: Prng;
  constructor(seed: number) {
    this.prng = new Prng(seed);
  }
  float(): number {
    return this.prng.next() / 2 ** 32;
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }
  /** Log-uniform in [min, max]: as many small sizes as large ones. */
  size(min: number, max: number): number {
    return Math.round(Math.exp(Math.log(min) + this.float() * (Math.log(max) - Math.log(min))));
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  /** A GraphQL name that no schema has. */
  name(prefix = 'zz'): string {
    return `${prefix}${this.prng.next().toString(36)}`;
  }
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(0, 15).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
  }
  /** `length` UTF-16 code units from the safe alphabet (a random block, repeated). */
  text(length: number): string {
    const block = Array.from({ length: Math.min(length, 997) }, () => this.pick(SAFE)).join('');
    return block.repeat(Math.ceil(length / Math.max(1, block.length))).slice(0, length);
  }
}

const root = path.resolve(import.meta.dirname, '../..');
let schemaCache: GraphQLSchema | undefined;
export function servedSchema(): GraphQLSchema {
  return (schemaCache ??= buildSchema(readFileSync(path.join(root, 'schema.graphql'), 'utf8')));
}

/** Every operation of the typed SDK, as the documents clients really send. */
export function sdkDocuments(): { name: string; document: DocumentNode }[] {
  return Object.entries(sdk)
    .filter(
      ([name, value]) =>
        name.endsWith('Document') && (value as { kind?: string } | null)?.kind === Kind.DOCUMENT,
    )
    .map(([name, value]) => ({ name: name.slice(0, -'Document'.length), document: value as DocumentNode }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

const operationOf = (document: DocumentNode) =>
  document.definitions.find(
    (definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION,
  )!;

/** A GraphQL request sent the same way over both transports. */
function documentCase(
  generator: GeneratorName,
  label: string,
  params: GraphQLParams,
  options: { auth?: Auth; server?: 'main' | 'small'; ws?: boolean } = {},
): HostileCase {
  return {
    generator,
    label,
    server: options.server ?? 'main',
    http: { json: params, auth: options.auth },
    ws: options.ws === false ? undefined : { kind: 'subscribe', payload: params, auth: options.auth },
  };
}

const bytes = (...parts: (string | number[] | Uint8Array)[]) =>
  Buffer.concat(
    parts.map((part) =>
      typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part as Uint8Array),
    ),
  );

const nest = (open: string, inner: string, close: string, depth: number) =>
  `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

/* ------------------------------------------------------------------------------------------------ */

type Generator = (rng: Rand, context: HostileContext) => HostileCase[];

/** Depth well past any limit: introspection chains and unknown fields below real ones. */
const deepSelection: Generator = (rng) => {
  const cases: HostileCase[] = [];
  for (let i = 0; i < 80; i++) {
    const depth = rng.int(40, 300);
    const style = rng.pick(['ofType', 'fields', 'real-prefix', 'real-prefix', 'aliased'] as const);
    let query: string;
    if (style === 'ofType') {
      query = `{ __schema { types { ${nest('ofType { ', 'name ', '} ', depth)}} } }`;
    } else if (style === 'fields') {
      query = `{ __type(name: "Query") { ${nest('fields { type { ', 'name ', '} } ', Math.ceil(depth / 2))}} }`;
    } else if (style === 'aliased') {
      const levels = Array.from({ length: depth }, (_, level) => `l${level}: ${rng.name('f')} { `).join('');
      query = `{ me { ${levels}id ${'} '.repeat(depth)}} }`;
    } else {
      const prefix = rng.pick([
        'debates(first: 1) { edges { node { participants { agent { owner { ',
        'conversations(first: 1) { edges { node { agent { owner { ',
        'agents(first: 1) { edges { node { owner { ',
      ]);
      const opened = (prefix.match(/\{/g) ?? []).length;
      const field = rng.name('x');
      query = `{ ${prefix}${nest(`${field} { `, 'id ', '} ', depth)}${'} '.repeat(opened)}}`;
    }
    cases.push(documentCase('deep-selection', `${style} depth ${depth}`, { query }));
  }
  return cases;
};

/** Depth reached through chains of fragment spreads (and inline fragments). */
const deepFragments: Generator = (rng) => {
  const cases: HostileCase[] = [];
  for (let i = 0; i < 40; i++) {
    const length = rng.int(40, 250);
    const style = rng.pick(['named', 'named-shuffled', 'inline', 'unknown-fields'] as const);
    let query: string;
    if (style === 'unknown-fields') {
      // Below `me`, through fragments on User whose fields do not exist: depth must follow the spreads.
      const fragments = Array.from({ length }, (_, k) =>
        k === length - 1
          ? `fragment F${k} on User { id }`
          : `fragment F${k} on User { u${k} { ...F${k + 1} } }`,
      );
      query = `{ me { ...F0 } } ${fragments.join(' ')}`;
    } else if (style === 'inline') {
      query = `{ __schema { types { ${nest('ofType { ... on __Type { ', 'name ', '} } ', length)}} } }`;
    } else {
      const fragments = Array.from({ length }, (_, k) =>
        k === length - 1
          ? `fragment F${k} on __Type { name }`
          : `fragment F${k} on __Type { ofType { ...F${k + 1} } }`,
      );
      if (style === 'named-shuffled') fragments.sort(() => rng.float() - 0.5);
      query = `{ __schema { types { ...F0 } } } ${fragments.join(' ')}`;
    }
    cases.push(documentCase('deep-fragments', `${style} ${length} levels`, { query }));
  }
  return cases;
};

/** Nesting deep enough to threaten a recursive parser or validator (thousands of levels). */
const deepParserNesting: Generator = (rng) => {
  const cases: HostileCase[] = [];
  for (let i = 0; i < 24; i++) {
    const style = rng.pick(['unknown-fields', 'inline-fragments', 'list-literal', 'object-literal'] as const);
    const depth = rng.size(1_000, 30_000);
    const query =
      style === 'unknown-fields'
        ? `{ ${nest('a { ', 'b ', '} ', depth)}}`
        : style === 'inline-fragments'
          ? `{ ${nest('... on Query { ', '__typename ', '} ', depth)}}`
          : style === 'list-literal'
            ? `{ agents(first: ${nest('[', '1', ']', depth)}) { totalCount } }`
            : `{ agents(filter: ${nest('{ a: ', '1', ' }', depth)}) { totalCount } }`;
    cases.push(documentCase('deep-parser-nesting', `${style} ${depth} levels`, { query }));
  }
  return cases;
};

/** Thousands of aliases, flat and nested, on cheap and on database-backed fields. */
const aliasBomb: Generator = (rng, context) => {
  const cases: HostileCase[] = [];
  const list = (n: number, each: (k: number) => string) =>
    Array.from({ length: n }, (_, k) => each(k)).join(' ');
  for (let i = 0; i < 60; i++) {
    const style = rng.pick(['typename', 'me', 'nested', 'algorithms', 'agent'] as const);
    let query: string;
    let label: string;
    if (style === 'typename') {
      const n = rng.size(1_000, 8_000);
      query = `{ ${list(n, (k) => `a${k}: __typename`)} }`;
      label = `${n} × __typename`;
    } else if (style === 'me') {
      const n = rng.size(1_000, 3_000);
      query = `{ ${list(n, (k) => `m${k}: me { id }`)} }`;
      label = `${n} × me`;
    } else if (style === 'nested') {
      const n = rng.int(40, 90);
      query = `{ ${list(n, (k) => `m${k}: me { ${list(n, (j) => `i${j}: id`)} }`)} }`;
      label = `${n} × me × ${n} ids`;
    } else if (style === 'algorithms') {
      const n = rng.size(1_000, 2_000);
      query = `{ ${list(n, (k) => `c${k}: compressionAlgorithms { name }`)} }`;
      label = `${n} × compressionAlgorithms`;
    } else {
      const n = rng.size(1_000, 1_500);
      query = `{ ${list(n, (k) => `g${k}: agent(id: "${context.agentId}") { id owner { id } }`)} }`;
      label = `${n} × agent`;
    }
    cases.push(documentCase('alias-bomb', label, { query }));
  }
  return cases;
};

/**
 * Exponential fragment expansion: each fragment spreads the next one under several aliases. Through
 * introspection's own types (chains of `ofType`, `fields`, ...), through the real schema (debates down to
 * agent owners), and the polynomial introspection bomb: n aliases at each of four levels of
 * `types → fields → type.ofType → fields`, about n⁴ × 30,000 fields from a few hundred bytes (n is kept
 * small here: n = 4 takes the server about 0.8 s and 13 MB, n = 6 about 3 s and 68 MB; n = 20 would not finish).
 */
const fragmentBomb: Generator = (rng) => {
  const cases: HostileCase[] = [];
  const aliases = (n: number, each: (j: number) => string) =>
    Array.from({ length: n }, (_, j) => each(j)).join(' ');
  for (let i = 0; i < 40; i++) {
    const style = rng.pick([
      'introspection-chain',
      'introspection-chain',
      'real-types',
      'introspection-aliases',
    ] as const);
    if (style === 'real-types') {
      const n = rng.int(2, 5);
      const query = [
        '{ ...Q }',
        `fragment Q on Query { ${aliases(n, (j) => `q${j}: debates(first: 100) { ...DC }`)} }`,
        `fragment DC on DebateConnection { ${aliases(n, (j) => `e${j}: edges { ...DE }`)} }`,
        `fragment DE on DebateEdge { ${aliases(n, (j) => `n${j}: node { ...D }`)} }`,
        `fragment D on Debate { ${aliases(n, (j) => `p${j}: participants { ...P }`)} }`,
        `fragment P on DebateParticipant { ${aliases(n, (j) => `a${j}: agent { ...A }`)} }`,
        `fragment A on Agent { ${aliases(n, (j) => `o${j}: owner { id email }`)} }`,
      ].join(' ');
      cases.push(documentCase('fragment-bomb', `${n}^6 through debates`, { query }));
      continue;
    }
    if (style === 'introspection-aliases') {
      const n = rng.int(3, 4);
      const query = [
        '{ __schema { ...S } }',
        `fragment S on __Schema { ${aliases(n, (j) => `t${j}: types { ...T }`)} }`,
        `fragment T on __Type { ${aliases(n, (j) => `f${j}: fields { ...F }`)} }`,
        `fragment F on __Field { ${aliases(n, (j) => `y${j}: type { ofType { ...U } }`)} }`,
        `fragment U on __Type { ${aliases(n, (j) => `g${j}: fields { name description }`)} }`,
      ].join(' ');
      cases.push(documentCase('fragment-bomb', `${n}^4 introspection aliases`, { query }));
      continue;
    }
    const branching = rng.int(2, 6);
    const levels = Math.max(rng.int(8, 40), Math.ceil(16 / Math.log2(branching)));
    const field = rng.pick(['ofType', 'fields { type', 'interfaces', 'possibleTypes'] as const);
    const closing = field === 'fields { type' ? '} }' : '}';
    const fragments = ['fragment B0 on __Type { name }'];
    for (let k = 1; k <= levels; k++) {
      fragments.push(
        `fragment B${k} on __Type { ${aliases(branching, (j) => `b${j}: ${field} { ...B${k - 1} ${closing}`)} }`,
      );
    }
    const query = `{ __schema { types { ...B${levels} } } } ${fragments.join(' ')}`;
    cases.push(documentCase('fragment-bomb', `${branching}^${levels} via ${field.split(' ')[0]}`, { query }));
  }
  return cases;
};

/** Fragments that spread themselves, directly or around a cycle, at the root and under fields. */
const circularFragments: Generator = (rng) => {
  const cases: HostileCase[] = [];
  for (let i = 0; i < 40; i++) {
    const length = rng.int(1, 40);
    const style = rng.pick(['root', 'user', 'introspection', 'inline'] as const);
    const ring = (type: string, body: (next: string) => string, entry: string) => {
      const fragments = Array.from(
        { length },
        (_, k) => `fragment C${k} on ${type} { ${body(`C${(k + 1) % length}`)} }`,
      );
      return `${entry} ${fragments.join(' ')}`;
    };
    const query =
      style === 'root'
        ? ring('Query', (next) => `__typename ...${next}`, '{ ...C0 }')
        : style === 'user'
          ? ring('User', (next) => `id ...${next}`, '{ me { ...C0 } }')
          : style === 'introspection'
            ? ring('__Type', (next) => `ofType { ...${next} }`, '{ __schema { types { ...C0 } } }')
            : ring('Query', (next) => `... on Query { me { id } ...${next} }`, '{ ...C0 }');
    cases.push(documentCase('circular-fragments', `${style} cycle of ${length}`, { query }));
  }
  return cases;
};

/** Directives by the hundred and thousand, repeated, unknown, on every alias, with many arguments. */
const directiveFlood: Generator = (rng) => {
  const cases: HostileCase[] = [];
  for (let i = 0; i < 50; i++) {
    const style = rng.pick(['include', 'skip', 'unknown', 'per-alias', 'arguments', 'variable'] as const);
    const n = rng.size(200, 4_000);
    let params: GraphQLParams;
    if (style === 'include') params = { query: `{ me ${'@include(if: true) '.repeat(n)}{ id } }` };
    else if (style === 'skip') params = { query: `{ __typename ${'@skip(if: false) '.repeat(n)}}` };
    else if (style === 'unknown') params = { query: `{ me { id ${`@${rng.name()} `.repeat(n)}} }` };
    else if (style === 'per-alias') {
      const fields = Array.from({ length: n }, (_, k) => `a${k}: __typename @include(if: true)`).join(' ');
      params = { query: `{ ${fields} }` };
    } else if (style === 'arguments') {
      const args = Array.from({ length: n }, (_, k) => `a${k}: ${k}`).join(', ');
      params = { query: `{ me @include(if: true, ${args}) { id } }` };
    } else {
      params = {
        query: `query Flood($t: Boolean!) { me { id ${'@include(if: $t) @skip(if: $t) '.repeat(Math.ceil(n / 2))}} }`,
        variables: { t: true },
      };
    }
    cases.push(documentCase('directive-flood', `${style} × ${n}`, params));
  }
  return cases;
};

const CREATE_AGENT = print(sdk.CreateAgentDocument);
const CREATE_DEBATE = print(sdk.CreateDebateDocument);
const AGENT = print(sdk.AgentDocument);
const LOGIN = print(sdk.LoginDocument);
const SEND_MESSAGE = print(sdk.SendMessageDocument);
const UPDATE_AGENT = print(sdk.UpdateAgentDocument);
const START_CONVERSATION = print(sdk.StartConversationDocument);

/** Strings and lists in variables far past every input limit (up to several MiB). */
const hugeVariables: Generator = (rng, context) => {
  const cases: HostileCase[] = [];
  const agentInput = (overrides: Record<string, unknown>) => ({
    input: { name: rng.name('agent'), model: 'llama3.2:3b', ...overrides },
  });
  for (let i = 0; i < 80; i++) {
    const style = rng.pick([
      'name',
      'name',
      'description',
      'systemPrompt',
      'model',
      'stop-list',
      'algorithms-list',
      'seats-list',
      'topic',
      'agent-id',
      'login',
      'message',
    ] as const);
    let params: GraphQLParams;
    let size: number;
    switch (style) {
      case 'name':
        size = rng.size(101, 3_000_000);
        params = { query: CREATE_AGENT, variables: agentInput({ name: rng.text(size) }) };
        break;
      case 'description':
        size = rng.size(2_001, 3_000_000);
        params = { query: CREATE_AGENT, variables: agentInput({ description: rng.text(size) }) };
        break;
      case 'systemPrompt':
        size = rng.size(32_001, 5_000_000);
        params = { query: CREATE_AGENT, variables: agentInput({ systemPrompt: rng.text(size) }) };
        break;
      case 'model':
        size = rng.size(201, 1_000_000);
        params = { query: CREATE_AGENT, variables: agentInput({ model: `m${'0'.repeat(size)}` }) };
        break;
      case 'stop-list':
        size = rng.size(9, 200_000);
        params = {
          query: CREATE_AGENT,
          variables: agentInput({ options: { stop: Array.from({ length: size }, () => rng.text(4)) } }),
        };
        break;
      case 'algorithms-list':
        size = rng.size(2, 200_000);
        params = {
          query: CREATE_AGENT,
          variables: agentInput({ supportedAlgorithms: Array.from({ length: size }, () => 'GZIP') }),
        };
        break;
      case 'seats-list':
        size = rng.size(9, 50_000);
        params = {
          query: CREATE_DEBATE,
          variables: {
            input: {
              topic: 'Is this too many seats?',
              participants: Array.from({ length: size }, () => ({ agentId: context.agentId })),
            },
          },
        };
        break;
      case 'topic':
        size = rng.size(2_001, 3_000_000);
        params = {
          query: CREATE_DEBATE,
          variables: {
            input: {
              topic: rng.text(size),
              participants: [{ agentId: context.agentId }, { agentId: context.agentId }],
            },
          },
        };
        break;
      case 'agent-id':
        size = rng.size(1_000, 3_000_000);
        params = { query: AGENT, variables: { id: rng.text(size) } };
        break;
      case 'login':
        size = rng.size(1_000, 2_000_000);
        params = {
          query: LOGIN,
          variables: { email: `${rng.text(size)}@example.test`, password: rng.text(size) },
        };
        break;
      case 'message':
        size = rng.size(100_001, 3_000_000);
        params = {
          query: SEND_MESSAGE,
          variables: { conversationId: context.conversationId, content: rng.text(size) },
        };
        break;
    }
    cases.push(documentCase('huge-variables', `${style} ${size}`, params));
  }
  return cases;
};

/** Invalid UTF-8 and NUL bytes in the body, in the document and in strings that would reach the database. */
const badBytes: Generator = (rng, context) => {
  const cases: HostileCase[] = [];
  const invalidSequences = [
    [0xff],
    [0xfe, 0xff],
    [0xc0, 0xaf],
    [0xe0, 0x80, 0xaf],
    [0xed, 0xa0, 0x80],
    [0x80],
    [0xf8, 0x88, 0x80, 0x80, 0x80],
    [0xc3],
    [0xf4, 0x90, 0x80, 0x80],
  ];
  const rawCase = (label: string, body: Uint8Array, binaryFrame = false): HostileCase => ({
    generator: 'bad-bytes',
    label,
    server: 'main',
    http: { raw: body },
    ws: {
      kind: 'frame',
      data: bytes('{"id":"bytes","type":"subscribe","payload":', body, '}'),
      binary: binaryFrame,
    },
  });
  for (let i = 0; i < 60; i++) {
    const style = rng.pick([
      'invalid-in-query',
      'invalid-in-query',
      'invalid-outside-string',
      'raw-nul-in-string',
      'raw-nul-outside',
      'escaped-nul-in-query',
      'nul-in-agent-name',
      'nul-in-agent-name',
      'nul-in-description',
      'nul-in-update',
      'nul-in-title',
      'nul-in-message',
      'nul-in-login',
      'nul-in-id',
      'lone-surrogate-id',
    ] as const);
    const sequence = rng.pick(invalidSequences);
    const where = `${style} ${sequence.map((b) => b.toString(16)).join(' ')}`;
    const nul = `${rng.text(rng.int(1, 20))}\u0000${rng.text(rng.int(0, 20))}`;
    switch (style) {
      case 'invalid-in-query':
        cases.push(rawCase(where, bytes('{"query":"{ me { id ', sequence, ' } }"}'), rng.chance(0.5)));
        break;
      case 'invalid-outside-string':
        cases.push(rawCase(where, bytes('{"query":', sequence, '"{ me { id } }"}'), rng.chance(0.5)));
        break;
      case 'raw-nul-in-string':
        cases.push(rawCase(style, bytes('{"query":"{ me { id } ', [0], '}"}')));
        break;
      case 'raw-nul-outside':
        cases.push(rawCase(style, bytes('{"query":"{ me { id } }"', [0], '}')));
        break;
      case 'escaped-nul-in-query':
        cases.push(
          documentCase('bad-bytes', style, { query: `{ me { id ${'\u0000'.repeat(rng.int(1, 5))}} }` }),
        );
        break;
      case 'nul-in-agent-name':
        cases.push(
          documentCase('bad-bytes', style, {
            query: CREATE_AGENT,
            variables: { input: { name: nul, model: 'llama3.2:3b' } },
          }),
        );
        break;
      case 'nul-in-description':
        cases.push(
          documentCase('bad-bytes', style, {
            query: CREATE_AGENT,
            variables: { input: { name: rng.name('agent'), model: 'llama3.2:3b', description: nul } },
          }),
        );
        break;
      case 'nul-in-update':
        cases.push(
          documentCase('bad-bytes', style, {
            query: UPDATE_AGENT,
            variables: { id: context.agentId, input: { systemPrompt: nul } },
          }),
        );
        break;
      case 'nul-in-title':
        cases.push(
          documentCase('bad-bytes', style, {
            query: START_CONVERSATION,
            variables: { agentId: context.agentId, title: nul },
          }),
        );
        break;
      case 'nul-in-message':
        cases.push(
          documentCase('bad-bytes', style, {
            query: SEND_MESSAGE,
            variables: { conversationId: context.conversationId, content: nul },
          }),
        );
        break;
      case 'nul-in-login':
        cases.push(
          documentCase('bad-bytes', style, {
            query: LOGIN,
            variables: { email: `${nul}@example.test`, password: nul },
          }),
        );
        break;
      case 'nul-in-id':
        cases.push(documentCase('bad-bytes', style, { query: AGENT, variables: { id: nul } }));
        break;
      case 'lone-surrogate-id':
        cases.push(
          documentCase('bad-bytes', style, {
            query: `{ agent(id: "${rng.text(3)}\\ud800${rng.text(3)}") { id } }`,
          }),
        );
        break;
    }
  }
  return cases;
};

/** A wrong value for an input type: one that GraphQL's own coercion must refuse. */
function wrongValue(rng: Rand, type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return rng.chance(0.3) ? null : wrongValue(rng, type.ofType);
  if (isListType(type)) return [wrongValue(rng, type.ofType), wrongValue(rng, type.ofType)];
  if (isInputObjectType(type)) {
    return rng.pick(['not an object', 42, true, { [rng.name()]: 1 }]);
  }
  if (isEnumType(type)) return rng.pick(['NOT_A_VALUE', 'gzip', 7, { value: 'GZIP' }, ['GZIP']]);
  switch (type.name) {
    case 'Int':
      return rng.pick(['12', 1.5, 2 ** 31, -(2 ** 31) - 1, 1e300, true, { n: 1 }]);
    case 'Float':
      return rng.pick(['1.5', true, { n: 1 }, 'NaN']);
    case 'Boolean':
      return rng.pick(['true', 0, 1, { b: true }]);
    case 'ID':
      return rng.pick([true, 1.5, { id: 'x' }, ['x']]);
    case 'String':
      return rng.pick([42, true, { s: 'x' }, 1.5]);
    case 'DateTimeISO':
      return rng.pick(['not a date', '2024-13-45T99:99:99Z', true, { at: 1 }]);
    default:
      return rng.pick([{ nested: [1, 2] }, 'unexpected', true]);
  }
}

/** Real operations of the SDK with one variable of the wrong type (the others left out). */
const wrongVariableTypes: Generator = (rng) => {
  const schema = servedSchema();
  const withVariables = sdkDocuments().filter(
    ({ document }) => (operationOf(document).variableDefinitions ?? []).length > 0,
  );
  const cases: HostileCase[] = [];
  for (let i = 0; i < 180; i++) {
    const { name, document } = withVariables[i % withVariables.length]!;
    const definitions = operationOf(document).variableDefinitions!;
    const definition = rng.pick(definitions);
    const type = typeFromAST(schema, definition.type as never) as GraphQLInputType;
    const value = wrongValue(rng, type);
    const variable = definition.variable.name.value;
    cases.push(
      documentCase(
        'wrong-variable-types',
        `${name} $${variable}: ${String(type)} = ${JSON.stringify(value)}`,
        {
          query: print(document),
          operationName: operationOf(document).name?.value,
          variables: { [variable]: value },
        },
      ),
    );
  }
  return cases;
};

const fieldNodes = (document: DocumentNode): FieldNode[] => {
  const fields: FieldNode[] = [];
  visit(document, { Field: (node) => void fields.push(node) });
  return fields;
};

/** Real operations of the SDK with one change that validation must refuse. */
const unknownFieldsAndArguments: Generator = (rng) => {
  const documents = sdkDocuments();
  const cases: HostileCase[] = [];
  const mutations = [
    'unknown-field',
    'unknown-argument',
    'misspelt-field',
    'unknown-fragment',
    'undefined-variable',
    'wrong-literal',
    'unknown-type-condition',
    'selection-on-leaf',
    'missing-selection',
    'missing-required-argument',
  ] as const;
  for (let i = 0; i < 180; i++) {
    const { name, document } = documents[i % documents.length]!;
    const fields = fieldNodes(document);
    const target = rng.pick(fields);
    const withArguments = fields.filter((field) => (field.arguments ?? []).length > 0);
    const composite = fields.filter((field) => field.selectionSet);
    const leaves = fields.filter((field) => !field.selectionSet && field.name.value !== '__typename');
    let mutation = rng.pick(mutations);
    if (
      (mutation === 'undefined-variable' ||
        mutation === 'wrong-literal' ||
        mutation === 'missing-required-argument') &&
      withArguments.length === 0
    ) {
      mutation = 'unknown-argument';
    }
    if (mutation === 'selection-on-leaf' && leaves.length === 0) mutation = 'unknown-field';
    if (mutation === 'missing-selection' && composite.length === 0) mutation = 'unknown-field';
    const bogus = rng.name();
    const pickArgumentField = () => rng.pick(withArguments);
    const chosen =
      mutation === 'undefined-variable' ||
      mutation === 'wrong-literal' ||
      mutation === 'missing-required-argument'
        ? pickArgumentField()
        : mutation === 'selection-on-leaf'
          ? rng.pick(leaves)
          : mutation === 'missing-selection'
            ? rng.pick(composite)
            : mutation === 'unknown-field' ||
                mutation === 'unknown-fragment' ||
                mutation === 'unknown-type-condition'
              ? rng.pick(composite.length > 0 ? composite : fields)
              : target;
    const addToSelection = (node: FieldNode, selection: string): FieldNode => {
      const extra = parseSelection(selection).selections;
      return {
        ...node,
        selectionSet: {
          kind: Kind.SELECTION_SET,
          selections: [...(node.selectionSet?.selections ?? []), ...extra],
        },
      };
    };
    const changed = visit(document, {
      Field: (node) => {
        if (node !== chosen) return undefined;
        switch (mutation) {
          case 'unknown-field':
            return node.selectionSet
              ? addToSelection(node, `{ ${bogus} }`)
              : { ...node, name: { ...node.name, value: bogus } };
          case 'misspelt-field':
            return { ...node, name: { ...node.name, value: `${node.name.value}${bogus}` } };
          case 'unknown-fragment':
            return addToSelection(node, `{ ...${bogus} }`);
          case 'unknown-type-condition':
            return addToSelection(node, `{ ... on ${bogus} { id } }`);
          case 'selection-on-leaf':
            return addToSelection(node, `{ ${bogus} }`);
          case 'missing-selection':
            return { ...node, selectionSet: undefined };
          case 'unknown-argument':
            return {
              ...node,
              arguments: [
                ...(node.arguments ?? []),
                {
                  kind: Kind.ARGUMENT,
                  name: { kind: Kind.NAME, value: bogus },
                  value: { kind: Kind.INT, value: '1' },
                },
              ],
            };
          case 'undefined-variable':
            return {
              ...node,
              arguments: node.arguments!.map((argument, index) =>
                index === 0
                  ? { ...argument, value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: bogus } } }
                  : argument,
              ),
            };
          case 'wrong-literal':
            return {
              ...node,
              arguments: node.arguments!.map((argument, index) =>
                index === 0
                  ? {
                      ...argument,
                      value: rng.pick([
                        { kind: Kind.OBJECT, fields: [] },
                        { kind: Kind.LIST, values: [{ kind: Kind.OBJECT, fields: [] }] },
                        { kind: Kind.ENUM, value: 'NOT_A_VALUE' },
                        { kind: Kind.FLOAT, value: '1.5' },
                      ]),
                    }
                  : argument,
              ),
            };
          case 'missing-required-argument':
            return { ...node, arguments: [] };
        }
      },
    }) as DocumentNode;
    cases.push(
      documentCase('unknown-fields-args', `${name}: ${mutation} at ${chosen.name.value}`, {
        query: print(changed),
        operationName: operationOf(document).name?.value,
      }),
    );
  }
  return cases;
};

/** A selection set written as text (`{ ... }`), as an AST node. */
function parseSelection(text: string): SelectionSetNode {
  const operation = parse(`{ x ${text} }`).definitions[0] as OperationDefinitionNode;
  return (operation.selectionSet.selections[0] as FieldNode).selectionSet!;
}

/** Bodies that are not (valid) GraphQL-over-HTTP requests: broken JSON, wrong shapes, wrong content types. */
const malformedRequests: Generator = (rng) => {
  const cases: HostileCase[] = [];
  const valid = JSON.stringify({ query: '{ me { id } }' });
  const shapes: (() => { label: string; http: HttpSpec; frame?: string })[] = [
    () => {
      const cut = rng.int(1, valid.length - 2);
      return { label: `truncated at ${cut}`, http: { raw: valid.slice(0, cut) }, frame: valid.slice(0, cut) };
    },
    () => ({ label: 'query is a number', http: { json: { query: rng.int(0, 1e6) } } }),
    () => ({ label: 'query is an object', http: { json: { query: { kind: 'Document' } } } }),
    () => ({ label: 'query is a list', http: { json: { query: ['{ me { id } }'] } } }),
    () => ({ label: 'query is null', http: { json: { query: null } } }),
    () => ({ label: 'empty object', http: { json: {} } }),
    () => ({ label: 'JSON null', http: { raw: 'null' }, frame: 'null' }),
    () => ({ label: 'JSON string', http: { raw: '"{ me { id } }"' }, frame: '"{ me { id } }"' }),
    () => ({ label: 'JSON number', http: { raw: String(rng.int(0, 1e9)) } }),
    () => ({
      label: 'variables is a string',
      http: { json: { query: '{ me { id } }', variables: rng.text(10) } },
    }),
    () => ({ label: 'variables is a list', http: { json: { query: '{ me { id } }', variables: [1, 2] } } }),
    () => ({ label: 'extensions is a string', http: { json: { query: '{ me { id } }', extensions: 'x' } } }),
    () => ({
      label: 'operationName is a number',
      http: { json: { query: '{ me { id } }', operationName: 5 } },
    }),
    () => ({
      label: 'trailing comma',
      http: { raw: '{"query":"{ me { id } }",}' },
      frame: '{"type":"ping",}',
    }),
    () => ({ label: 'single quotes', http: { raw: "{'query':'{ me { id } }'}" }, frame: "{'type':'ping'}" }),
    () => ({ label: 'NaN', http: { raw: '{"query":"{ me { id } }","variables":{"a":NaN}}' } }),
    () => ({
      label: 'comment',
      http: { raw: '{"query":"{ me { id } }" /* x */}' },
      frame: '{"type":"ping" /* x */}',
    }),
    () => {
      const depth = rng.size(1_000, 200_000);
      const text = `{"query":"{ me { id } }","variables":{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;
      return {
        label: `variables nested ${depth} deep`,
        http: { raw: `${text}` },
        frame: `{"type":"ping","payload":${'['.repeat(depth)}`,
      };
    },
    () => ({
      label: 'persisted query hash unknown',
      http: { json: { extensions: { persistedQuery: { version: 1, sha256Hash: 'f'.repeat(64) } } } },
    }),
    () => ({
      label: 'persisted query hash mismatch',
      http: {
        json: {
          query: '{ me { id } }',
          extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } },
        },
      },
    }),
    () => ({
      label: 'persisted query bad version',
      http: { json: { extensions: { persistedQuery: { version: 99 } } } },
    }),
    () => ({
      label: '__proto__ body',
      http: { raw: '{"__proto__":{"query":"{ me { id } }"}}' },
      frame: '{"__proto__":{"type":"ping"}}',
    }),
    () => ({ label: 'text/plain', http: { raw: valid, contentType: 'text/plain' } }),
    () => ({ label: 'no content-type', http: { raw: valid, contentType: null } }),
    () => ({
      label: 'form-urlencoded',
      http: {
        raw: 'query=%7B%20me%20%7B%20id%20%7D%20%7D',
        contentType: 'application/x-www-form-urlencoded',
      },
    }),
    () => ({
      label: 'application/graphql',
      http: { raw: '{ me { id } }', contentType: 'application/graphql' },
    }),
    () => ({
      label: 'unknown charset',
      http: { raw: valid, contentType: 'application/json; charset=ebcdic-xx' },
    }),
    () => ({
      label: 'GET mutation',
      http: {
        method: 'GET',
        search: { query: 'mutation { logout(token: "x") }' },
        headers: { 'apollo-require-preflight': 'true' },
      },
    }),
    () => ({
      label: 'GET without query',
      http: { method: 'GET', search: { variables: '{}' }, headers: { 'apollo-require-preflight': 'true' } },
    }),
    () => ({
      label: 'GET broken variables',
      http: {
        method: 'GET',
        search: { query: '{ me { id } }', variables: '{' },
        headers: { 'apollo-require-preflight': 'true' },
      },
    }),
    () => ({
      label: 'random bytes',
      http: { raw: Uint8Array.from({ length: rng.int(1, 500) }, () => rng.int(0, 255)) },
    }),
  ];
  const frames = [
    () => ({
      label: 'ws: subscribe without id',
      frame: JSON.stringify({ type: 'subscribe', payload: { query: '{ me { id } }' } }),
    }),
    () => ({
      label: 'ws: query not a string',
      frame: JSON.stringify({ id: 'q', type: 'subscribe', payload: { query: 5 } }),
    }),
    () => ({ label: 'ws: unknown type', frame: JSON.stringify({ id: 'q', type: rng.name() }) }),
    () => ({
      label: 'ws: payload a string',
      frame: JSON.stringify({ id: 'q', type: 'subscribe', payload: 'x' }),
    }),
    () => ({ label: 'ws: number', frame: String(rng.int(0, 1e6)) }),
  ];
  for (let i = 0; i < 80; i++) {
    if (i % 8 === 7) {
      const { label, frame } = rng.pick(frames)();
      const beforeInit = rng.chance(0.3);
      cases.push({
        generator: 'malformed-requests',
        label: `${label}${beforeInit ? ' (before connection_init)' : ''}`,
        server: 'main',
        ws: { kind: 'frame', data: frame, beforeInit },
      });
      continue;
    }
    const { label, http, frame } = rng.pick(shapes)();
    cases.push({
      generator: 'malformed-requests',
      label,
      server: 'main',
      http,
      ws: frame ? { kind: 'frame', data: frame } : undefined,
    });
  }
  return cases;
};

/** Bodies over BODY_LIMIT_BYTES, sent to the instance with the small limit. */
const oversizedBodies: Generator = (rng) => {
  const cases: HostileCase[] = [];
  for (let i = 0; i < 40; i++) {
    const size = rng.size(SMALL_BODY_LIMIT_BYTES + 1_000, 8 * 1024 * 1024);
    const style = rng.pick([
      'whitespace',
      'comment',
      'variable',
      'gzip',
      'deflate',
      'chunked',
      'batch',
    ] as const);
    const padded = (pad: string) => `{ me { id } }${pad}`;
    let spec: HttpSpec;
    let ws: WsSpec | undefined;
    switch (style) {
      case 'whitespace': {
        const query = padded(' '.repeat(size));
        spec = { json: { query } };
        ws = { kind: 'subscribe', payload: { query } };
        break;
      }
      case 'comment': {
        const query = padded(`\n# ${rng.text(size)}\n`);
        spec = { json: { query } };
        ws = { kind: 'subscribe', payload: { query } };
        break;
      }
      case 'variable': {
        const payload = { query: AGENT, variables: { id: rng.text(size) } };
        spec = { json: payload };
        ws = { kind: 'subscribe', payload };
        break;
      }
      case 'gzip':
      case 'deflate': {
        const body = JSON.stringify({ query: padded(' '.repeat(size)) });
        spec = {
          raw: style === 'gzip' ? gzipSync(body) : deflateSync(body),
          headers: { 'content-encoding': style },
        };
        break;
      }
      case 'chunked': {
        const chunk = Buffer.from(' '.repeat(16 * 1024));
        spec = { chunks: { chunk, count: Math.ceil(size / chunk.length) } };
        break;
      }
      case 'batch': {
        const count = Math.ceil(size / 30);
        spec = { json: Array.from({ length: count }, () => ({ query: '{ me { id } }' })) };
        break;
      }
    }
    cases.push({
      generator: 'oversized-bodies',
      label: `${style} ${size} bytes`,
      server: 'small',
      http: spec,
      ws,
    });
  }
  return cases;
};

/** Several operations in one request: HTTP batches, and documents with many operations. */
const batchedOperations: Generator = (rng) => {
  const cases: HostileCase[] = [];
  for (let i = 0; i < 60; i++) {
    const style = rng.pick([
      'http-array',
      'http-array',
      'many-unnamed',
      'unknown-name',
      'duplicate-names',
    ] as const);
    const n = rng.size(2, 2_000);
    if (style === 'http-array') {
      const operations = Array.from({ length: n }, (_, k) => ({ query: `query Q${k} { me { id } }` }));
      cases.push({
        generator: 'batched-operations',
        label: `array of ${n}`,
        server: 'main',
        http: { json: operations },
        ws: {
          kind: 'frame',
          data: JSON.stringify(
            operations.slice(0, 50).map((payload, k) => ({ id: `b${k}`, type: 'subscribe', payload })),
          ),
        },
      });
      continue;
    }
    const names = Array.from({ length: n }, (_, k) => (style === 'duplicate-names' ? 'Same' : `Op${k}`));
    const query = names.map((name) => `query ${name} { me { id } }`).join(' ');
    cases.push(
      documentCase('batched-operations', `${style} × ${n}`, {
        query,
        operationName:
          style === 'unknown-name' ? rng.name('Missing') : style === 'duplicate-names' ? 'Same' : undefined,
      }),
    );
  }
  return cases;
};

/** Admin-only and identity operations without a token, with a forged or broken one, or as a VIEWER. */
const authProbing: Generator = (rng) => {
  const cases: HostileCase[] = [];
  const header = () =>
    rng.pick([
      'Bearer',
      'Bearer ',
      `Bearer ${rng.text(40)}`,
      `Bearer ${'x'.repeat(rng.size(1_000, 8_000))}`,
      `Basic ${Buffer.from('admin:admin').toString('base64')}`,
      `Bearer ${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"x","role":"ADMIN"}').toString('base64url')}.`,
      `Bearer ${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"x","role":"ADMIN"}').toString('base64url')}.${rng.text(43)}`,
      `bearer  ${rng.text(20)} ${rng.text(20)}`,
    ]);
  const adminOnly = [
    '{ users(first: 5) { totalCount } }',
    '{ auditEvents(first: 5) { totalCount } }',
    'mutation { createUser(input: { email: "intruder@example.test", password: "correct horse battery", role: ADMIN }) { id } }',
    `mutation { updateUserRole(id: "${rng.uuid()}", role: ADMIN) { id } }`,
    'mutation { resetCircuitBreaker(name: "database") }',
  ];
  for (let i = 0; i < 30; i++) {
    const style = rng.pick(['anonymous', 'forged', 'viewer', 'refresh'] as const);
    if (style === 'refresh') {
      cases.push(
        documentCase('auth-probing', 'refresh with a junk token', {
          query: print(sdk.RefreshTokenDocument),
          variables: { token: rng.text(rng.int(1, 500)) },
        }),
      );
      continue;
    }
    const query = rng.pick(adminOnly);
    const auth: Auth =
      style === 'anonymous' ? 'none' : style === 'viewer' ? 'viewer' : { authorization: header() };
    const label = `${style}: ${query.slice(0, 40)}${typeof auth === 'object' ? ` (${auth.authorization.slice(0, 24)})` : ''}`;
    cases.push(
      documentCase(
        'auth-probing',
        label,
        { query: style === 'forged' ? '{ me { id email role } }' : query },
        { auth },
      ),
    );
  }
  return cases;
};

export const generators = {
  'deep-selection': deepSelection,
  'deep-fragments': deepFragments,
  'deep-parser-nesting': deepParserNesting,
  'alias-bomb': aliasBomb,
  'fragment-bomb': fragmentBomb,
  'circular-fragments': circularFragments,
  'directive-flood': directiveFlood,
  'huge-variables': hugeVariables,
  'bad-bytes': badBytes,
  'wrong-variable-types': wrongVariableTypes,
  'unknown-fields-args': unknownFieldsAndArguments,
  'malformed-requests': malformedRequests,
  'oversized-bodies': oversizedBodies,
  'batched-operations': batchedOperations,
  'auth-probing': authProbing,
} satisfies Record<string, Generator>;

export type GeneratorName = keyof typeof generators;

/**
 * Generators whose cases must be refused before anything executes: no `data` key at all in the answer
 * (over graphql-ws, an `error` message, a `next` without `data`, or a close).
 */
export const refusedBeforeExecution = new Set<GeneratorName>([
  'deep-selection',
  'deep-fragments',
  'deep-parser-nesting',
  'alias-bomb',
  'fragment-bomb',
  'circular-fragments',
  'directive-flood',
  'wrong-variable-types',
  'unknown-fields-args',
  'malformed-requests',
  'oversized-bodies',
  'batched-operations',
]);

/** Every case, in a fixed order, from one seed (each generator has a stream of its own). */
export function generateCases(seed: number, context: HostileContext): HostileCase[] {
  return Object.entries(generators).flatMap(([name, generate], index) =>
    generate(new Rand((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0), context).map((each) => {
      if (each.generator !== name) throw new Error(`${name} produced a case of ${each.generator}`);
      return each;
    }),
  );
}
