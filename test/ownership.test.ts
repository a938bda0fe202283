import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import {
  getNamedType,
  isInputObjectType,
  type GraphQLArgument,
  type GraphQLFormattedError,
  type GraphQLInputField,
  type GraphQLSchema,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthUser } from '../src/modules/auth/access-tokens.js';
import { CompressionAlgorithm } from '../src/modules/compression/compression-algorithm.js';
import { CorpusKind } from '../src/modules/compression/compression-input.js';
import { buildBaseSchema } from '../src/graphql/schema.js';
import { Role } from '../src/modules/users/role.js';
import {
  AgentDocument,
  AgentEventsDocument,
  AgentsDocument,
  AuditEventsDocument,
  CancelCompressionRunDocument,
  CancelDebateDocument,
  CompressionRunDocument,
  CompressionRunsDocument,
  CompressionRunUpdatedDocument,
  CompressionSuiteDocument,
  CompressionSuiteUpdatedDocument,
  ConversationDocument,
  ConversationEventsDocument,
  CreateCompressionRunDocument,
  CreateCompressionSuiteDocument,
  CreateDebateDocument,
  DebateDocument,
  DebateEventsDocument,
  DebatesDocument,
  DeleteAgentDocument,
  InterjectDocument,
  PauseDebateDocument,
  RegenerateReplyDocument,
  ResumeDebateDocument,
  SendMessageDocument,
  StartConversationDocument,
  StartDebateDocument,
  StopGenerationDocument,
  UpdateAgentDocument,
  UpdateUserRoleDocument,
} from '../src/sdk/generated/graphql.js';
import { createActor, type Actor } from './support/actors.js';
import { execute } from './support/client.js';
import { query } from './support/database.js';
import { eventually } from './support/eventually.js';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.js';
import { objectTypes } from './support/schema.js';
import { startTestServer, type TestServer } from './support/server.js';
import { connectWs, subscribe } from './support/ws.js';

/*
 * Ownership, operation by operation: one row for every root field that takes an id (an `ID` argument,
 * or an `…Id` argument, at any depth of its input), each tried by a VIEWER, an ANALYST and an OPERATOR
 * who do not own the resource it names, then by an ADMIN (the control: the id is real and reachable).
 *
 * What is whose (the domain, DESIGN.md "Security" and issues 5/6):
 * - PRIVATE: a conversation and its messages belong to their owner (an ADMIN aside). Anyone else gets
 *   exactly what a made-up id gets (NOT_FOUND, same message and extensions): existence is not revealed.
 * - OWNER_OR_ADMIN: agents, debates and compression runs are readable by every VIEWER, but acting on one
 *   (update, delete, start/pause/resume/cancel, interject, cancel a run) is for its owner or an ADMIN:
 *   anyone else (with the role for the operation) gets FORBIDDEN, and nothing changes.
 * - READABLE: reading or watching an agent, a debate, a compression run or suite is VIEWER+ by design
 *   ("VIEWER+ to watch/read", issues 5 and 6), whoever owns it.
 * - REFERENCE: the id names a readable resource the caller only uses for something of their own (their
 *   conversation with someone's agent, their debate or compression run seating someone's agent): allowed
 *   from the operation's role floor; the agent itself is not changed.
 * - ADMIN_ONLY: users and the audit trail; the id does not matter, everyone else gets FORBIDDEN.
 * Below an operation's role floor the answer is FORBIDDEN whatever the id (also checked against a
 * made-up id). Every refusal must carry no data and none of the resource's text in its errors.
 */

enum Policy {
  PRIVATE = 'private to its owner (ADMIN aside)',
  OWNER_OR_ADMIN = 'readable by all, changed only by its owner or an ADMIN',
  READABLE = 'readable by every VIEWER by design',
  REFERENCE = 'uses a readable resource for the caller’s own',
  ADMIN_ONLY = 'ADMIN only',
}

type RootType = 'Query' | 'Mutation' | 'Subscription';
type Verdict = 'allowed' | 'NOT_FOUND' | 'FORBIDDEN';

interface Target {
  /** The id the operation is given. */
  id: string;
  /** Text of the resource that must never appear in a refusal (titles, message contents, prompts). */
  secrets: string[];
}

interface Attempt {
  data?: unknown;
  errors?: readonly GraphQLFormattedError[];
}

interface Row {
  field: `${RootType}.${string}`;
  /** The lowest role the permission layer lets call the operation at all. */
  floor: Role;
  policy: Policy;
  /** A resource owned by `owner` (an OPERATOR), made through the service layer. */
  setup(): Promise<Target>;
  /** The call as a client makes it, with `id` where the resource's id goes. */
  attempt(caller: Actor, id: string): Promise<Attempt>;
  /** For mutations: whether the operation took effect on the target (a refused call must not). */
  effect?(target: Target): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------------
// The world: an OPERATOR who owns everything, three intruders of rising role, and an ADMIN.
// ---------------------------------------------------------------------------------------------------

const FAST = 'llama3.2:3b'; // the fake answers at once
const HANGING = 'qwen2.5:7b'; // the fake never answers: replies and turns stay in flight

let ollama: FakeOllama;
let server: TestServer;
let owner: Actor;
let viewer: Actor;
let analyst: Actor;
let otherOperator: Actor;
let admin: Actor;

beforeAll(async () => {
  ollama = await startFakeOllama({ perModel: { [HANGING]: { hang: true } } });
  server = await startTestServer({
    env: { OLLAMA_HOST: ollama.url, COMPRESSION_MAX_ACTIVE_PER_USER: '1000' },
  });
  [owner, viewer, analyst, otherOperator, admin] = await Promise.all([
    createActor(server, Role.OPERATOR, 'own-owner'),
    createActor(server, Role.VIEWER, 'own-viewer'),
    createActor(server, Role.ANALYST, 'own-analyst'),
    createActor(server, Role.OPERATOR, 'own-other-operator'),
    createActor(server, Role.ADMIN, 'own-admin'),
  ]);
});
afterAll(async () => {
  await server?.close();
  await ollama?.close();
});

const hierarchy = [Role.VIEWER, Role.ANALYST, Role.OPERATOR, Role.ADMIN];
const atLeast = (role: Role, floor: Role) => hierarchy.indexOf(role) >= hierarchy.indexOf(floor);
const authUser = (actor: Actor): AuthUser => ({
  id: actor.session.user.id,
  email: actor.email,
  role: actor.role,
});
const em = () => server.app.orm.em.fork();
const secret = (label: string) => `secret-${label}-${randomUUID().slice(0, 8)}`;

const http = <TData, TVariables>(
  caller: Actor,
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
): Promise<Attempt> => execute(server.url, document, variables, { token: caller.token });

/** Subscribes over graphql-ws and reports the first event (or the refusal). */
async function firstEvent<TData, TVariables extends Record<string, unknown>>(
  caller: Actor,
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
): Promise<Attempt> {
  const ws = connectWs(server.wsUrl, caller.token);
  try {
    const events = subscribe(ws, document, variables);
    await Promise.race([events.ended, events.waitFor(1, 5_000).catch(() => undefined)]);
    events.unsubscribe();
    const errors = events.errors.flat();
    return { data: events.received[0] ?? null, ...(errors.length > 0 ? { errors } : {}) };
  } finally {
    await ws.dispose();
  }
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const rows = await query<{ count: string }>(server.databaseUrl, sql, params);
  return Number(rows[0]!.count);
}

// ---------------------------------------------------------------------------------------------------
// The owner's resources.
// ---------------------------------------------------------------------------------------------------

async function ownersAgent(model = FAST): Promise<Target> {
  const prompt = secret('prompt');
  const agent = await server.app.services.agents.create(em(), authUser(owner), {
    name: secret('agent'),
    model,
    systemPrompt: prompt,
    supportedAlgorithms: [CompressionAlgorithm.GZIP, CompressionAlgorithm.BROTLI],
  });
  return { id: agent.id, secrets: [agent.name, prompt] };
}

interface OwnedConversation {
  conversationId: string;
  messageId: string;
  secrets: string[];
}

/** The owner's conversation with one message; with FAST its reply is stored, with HANGING it never ends. */
async function ownersConversation(model: string): Promise<OwnedConversation> {
  const agent = await ownersAgent(model);
  const title = secret('title');
  const content = secret('message');
  const conversations = server.app.services.conversations;
  const conversation = await conversations.start(em(), authUser(owner), agent.id, title);
  const message = await conversations.send(em(), authUser(owner), conversation.id, content);
  if (model === FAST) {
    await eventually(
      async () =>
        (await count(
          `select count(*) from messages where reply_to = $1 and role = 'ASSISTANT' and status = 'COMPLETE'`,
          [message.id],
        )) > 0 || undefined,
      { timeoutMs: 15_000, what: 'the reply to be stored' },
    );
  }
  return {
    conversationId: conversation.id,
    messageId: message.id,
    secrets: [title, content, ...agent.secrets],
  };
}

/** The owner's debate between two agents that never answer, in `status`. */
async function ownersDebate(status: 'PENDING' | 'RUNNING' | 'PAUSED'): Promise<Target> {
  const agents = [await ownersAgent(HANGING), await ownersAgent(HANGING)];
  const topic = secret('topic');
  const debates = server.app.services.debates;
  const debate = await debates.create(em(), authUser(owner), {
    topic,
    participants: agents.map((agent) => ({ agentId: agent.id, stance: secret('stance') })),
    maxRounds: 3,
    consensusThreshold: 1,
  });
  if (status !== 'PENDING') await debates.start(em(), authUser(owner), debate.id);
  if (status === 'PAUSED') await debates.pause(em(), authUser(owner), debate.id);
  return { id: debate.id, secrets: [topic] };
}

async function ownersRun(slow = false): Promise<Target> {
  const text = secret('data');
  const run = await server.app.services.compression.create(
    em(),
    authUser(owner),
    slow
      ? // Brotli 11 manages about 1 MB/s: 8 MiB keeps it running while the intruders and the ADMIN try.
        {
          algorithm: CompressionAlgorithm.BROTLI,
          level: 11,
          data: { corpus: { kind: CorpusKind.TEXT, sizeBytes: 8 << 20, seed: 7 } },
          keepInput: false,
        }
      : { algorithm: CompressionAlgorithm.GZIP, data: { text }, keepInput: true },
  );
  return { id: run.id, secrets: [text] };
}

async function ownersSuite(): Promise<Target> {
  const text = secret('data');
  const suite = await server.app.services.compression.createSuite(em(), authUser(owner), {
    data: { text },
    runs: [{ algorithm: CompressionAlgorithm.GZIP }, { algorithm: CompressionAlgorithm.DEFLATE }],
    keepInput: true,
  });
  // Finished, so that its events are there to replay.
  await eventually(
    async () =>
      (await count(`select count(*) from compression_suites where id = $1 and status = 'COMPLETE'`, [
        suite.id,
      ])) > 0 || undefined,
    { timeoutMs: 15_000, what: 'the suite to complete' },
  );
  return { id: suite.id, secrets: [text] };
}

const conversationTarget = async (model: string): Promise<Target> => {
  const owned = await ownersConversation(model);
  return { id: owned.conversationId, secrets: owned.secrets };
};

const streamEvents = (stream: string, type: string) =>
  count(`select count(*) from events where stream = $1 and type = $2`, [stream, type]);
const debateStatus = async (id: string) =>
  (await query<{ status: string }>(server.databaseUrl, 'select status from debates where id = $1', [id]))[0]
    ?.status;

// ---------------------------------------------------------------------------------------------------
// The table: one row per id-taking root field.
// ---------------------------------------------------------------------------------------------------

const rows: Row[] = [
  // Conversations and messages: private.
  {
    field: 'Query.conversation',
    floor: Role.VIEWER,
    policy: Policy.PRIVATE,
    setup: () => conversationTarget(FAST),
    attempt: (caller, id) => http(caller, ConversationDocument, { id, first: 10 }),
  },
  {
    field: 'Mutation.sendMessage',
    floor: Role.ANALYST,
    policy: Policy.PRIVATE,
    setup: () => conversationTarget(FAST),
    attempt: (caller, id) =>
      http(caller, SendMessageDocument, { conversationId: id, content: `probe by ${caller.email}` }),
    effect: async (target) =>
      (await count(`select count(*) from messages where conversation_id = $1 and content like 'probe by %'`, [
        target.id,
      ])) > 0,
  },
  {
    field: 'Mutation.regenerateReply',
    floor: Role.ANALYST,
    policy: Policy.PRIVATE,
    setup: async () => {
      const owned = await ownersConversation(FAST); // the reply is stored, so regenerating is possible
      return { id: owned.messageId, secrets: owned.secrets };
    },
    attempt: (caller, id) => http(caller, RegenerateReplyDocument, { messageId: id }),
    effect: async (target) =>
      (await count(
        `select count(*) from events e join messages m on e.stream = 'conversation:' || m.conversation_id
          where m.id = $1 and e.type = 'REPLY_REQUESTED'`,
        [target.id],
      )) > 0,
  },
  {
    field: 'Mutation.stopGeneration',
    floor: Role.ANALYST,
    policy: Policy.PRIVATE,
    setup: () => conversationTarget(HANGING), // a reply in flight, so there is something to stop
    attempt: (caller, id) => http(caller, StopGenerationDocument, { conversationId: id }),
    effect: async (target) => (await streamEvents(`conversation:${target.id}`, 'STOP_REQUESTED')) > 0,
  },
  {
    field: 'Subscription.conversationEvents',
    floor: Role.VIEWER,
    policy: Policy.PRIVATE,
    setup: () => conversationTarget(FAST),
    attempt: (caller, id) =>
      firstEvent(caller, ConversationEventsDocument, { conversationId: id, afterSeq: 0 }),
  },

  // Agents: readable by all, changed by their owner or an ADMIN.
  {
    field: 'Query.agent',
    floor: Role.VIEWER,
    policy: Policy.READABLE,
    setup: () => ownersAgent(),
    attempt: (caller, id) => http(caller, AgentDocument, { id }),
  },
  {
    field: 'Query.agents',
    floor: Role.VIEWER,
    policy: Policy.READABLE,
    setup: async () => {
      await ownersAgent();
      return { id: owner.session.user.id, secrets: [] };
    },
    attempt: (caller, id) => http(caller, AgentsDocument, { first: 5, filter: { ownerId: id } }),
  },
  {
    field: 'Mutation.updateAgent',
    floor: Role.OPERATOR,
    policy: Policy.OWNER_OR_ADMIN,
    setup: () => ownersAgent(),
    attempt: (caller, id) =>
      http(caller, UpdateAgentDocument, { id, input: { description: `changed by ${caller.email}` } }),
    effect: async (target) =>
      (await count(`select count(*) from agents where id = $1 and description like 'changed by %'`, [
        target.id,
      ])) > 0,
  },
  {
    field: 'Mutation.deleteAgent',
    floor: Role.OPERATOR,
    policy: Policy.OWNER_OR_ADMIN,
    setup: () => ownersAgent(), // in no conversation or debate, so deleting it can succeed
    attempt: (caller, id) => http(caller, DeleteAgentDocument, { id }),
    effect: async (target) => (await count(`select count(*) from agents where id = $1`, [target.id])) === 0,
  },
  {
    field: 'Subscription.agentEvents',
    floor: Role.VIEWER,
    policy: Policy.READABLE,
    setup: () => ownersAgent(),
    attempt: (caller, id) => firstEvent(caller, AgentEventsDocument, { agentId: id, afterSeq: 0 }),
  },
  {
    field: 'Mutation.startConversation',
    floor: Role.ANALYST,
    policy: Policy.REFERENCE,
    setup: () => ownersAgent(),
    attempt: (caller, id) => http(caller, StartConversationDocument, { agentId: id, title: 'mine' }),
    // The conversation is the caller's own; the agent is only talked to.
  },

  // Debates: watched by all, run by their creator or an ADMIN.
  {
    field: 'Query.debate',
    floor: Role.VIEWER,
    policy: Policy.READABLE,
    setup: () => ownersDebate('PENDING'),
    attempt: (caller, id) => http(caller, DebateDocument, { id, turnsFirst: 5 }),
  },
  {
    field: 'Query.debates',
    floor: Role.VIEWER,
    policy: Policy.READABLE,
    setup: () => ownersDebate('PENDING'),
    attempt: async (caller, id) => {
      const [seat] = await query<{ agent_id: string }>(
        server.databaseUrl,
        'select agent_id from debate_participants where debate_id = $1 order by seat limit 1',
        [id],
      );
      return http(caller, DebatesDocument, {
        first: 5,
        turnsFirst: 1,
        filter: { createdById: owner.session.user.id, participantAgentId: seat?.agent_id ?? id },
      });
    },
  },
  {
    field: 'Mutation.createDebate',
    floor: Role.OPERATOR,
    policy: Policy.REFERENCE,
    setup: () => ownersAgent(HANGING),
    attempt: (caller, id) =>
      http(caller, CreateDebateDocument, {
        input: {
          topic: 'my own debate',
          participants: [{ agentId: id }, { agentId: id }],
          moderatorAgentId: id,
          maxRounds: 1,
          consensusThreshold: 1,
        },
      }),
    // The debate is the caller's; the owner's agent only takes seats in it.
  },
  {
    field: 'Mutation.startDebate',
    floor: Role.OPERATOR,
    policy: Policy.OWNER_OR_ADMIN,
    setup: () => ownersDebate('PENDING'),
    attempt: (caller, id) => http(caller, StartDebateDocument, { id }),
    effect: async (target) => (await debateStatus(target.id)) !== 'PENDING',
  },
  {
    field: 'Mutation.pauseDebate',
    floor: Role.OPERATOR,
    policy: Policy.OWNER_OR_ADMIN,
    setup: () => ownersDebate('RUNNING'),
    attempt: (caller, id) => http(caller, PauseDebateDocument, { id }),
    effect: async (target) => (await debateStatus(target.id)) === 'PAUSED',
  },
  {
    field: 'Mutation.resumeDebate',
    floor: Role.OPERATOR,
    policy: Policy.OWNER_OR_ADMIN,
    setup: () => ownersDebate('PAUSED'),
    attempt: (caller, id) => http(caller, ResumeDebateDocument, { id }),
    effect: async (target) => (await debateStatus(target.id)) === 'RUNNING',
  },
  {
    field: 'Mutation.cancelDebate',
    floor: Role.OPERATOR,
    policy: Policy.OWNER_OR_ADMIN,
    setup: () => ownersDebate('PENDING'),
    attempt: (caller, id) => http(caller, CancelDebateDocument, { id }),
    effect: async (target) => (await debateStatus(target.id)) === 'CANCELLED',
  },
  {
    field: 'Mutation.interject',
    floor: Role.OPERATOR,
    policy: Policy.OWNER_OR_ADMIN,
    setup: () => ownersDebate('PENDING'),
    attempt: (caller, id) => http(caller, InterjectDocument, { debateId: id, content: 'let me in' }),
    effect: async (target) =>
      (await count(`select count(*) from debate_interjections where debate_id = $1`, [target.id])) > 0,
  },
  {
    field: 'Subscription.debateEvents',
    floor: Role.VIEWER,
    policy: Policy.READABLE,
    setup: () => ownersDebate('PENDING'),
    attempt: (caller, id) => firstEvent(caller, DebateEventsDocument, { debateId: id, afterSeq: 0 }),
  },

  // Compression runs and suites: readable by all, cancelled by who asked or an ADMIN.
  {
    field: 'Query.compressionRun',
    floor: Role.VIEWER,
    policy: Policy.READABLE,
    setup: () => ownersRun(),
    attempt: (caller, id) => http(caller, CompressionRunDocument, { id }),
  },
  {
    field: 'Query.compressionRuns',
    floor: Role.VIEWER,
    policy: Policy.READABLE,
    setup: async () => {
      const agent = await ownersAgent();
      await server.app.services.compression.create(em(), authUser(owner), {
        algorithm: CompressionAlgorithm.GZIP,
        data: { text: secret('data') },
        keepInput: false,
        agentId: agent.id,
      });
      return agent;
    },
    attempt: (caller, id) => http(caller, CompressionRunsDocument, { first: 5, filter: { agentId: id } }),
  },
  {
    field: 'Query.compressionSuite',
    floor: Role.VIEWER,
    policy: Policy.READABLE,
    setup: () => ownersSuite(),
    attempt: (caller, id) => http(caller, CompressionSuiteDocument, { id }),
  },
  {
    field: 'Mutation.createCompressionRun',
    floor: Role.ANALYST,
    policy: Policy.REFERENCE,
    setup: () => ownersAgent(),
    attempt: (caller, id) =>
      http(caller, CreateCompressionRunDocument, {
        input: { algorithm: CompressionAlgorithm.GZIP, data: { text: 'my own data' }, agentId: id },
      }),
    // The run is the caller's; the owner's agent is named as its executor.
  },
  {
    field: 'Mutation.createCompressionSuite',
    floor: Role.ANALYST,
    policy: Policy.REFERENCE,
    setup: () => ownersAgent(),
    attempt: (caller, id) =>
      http(caller, CreateCompressionSuiteDocument, {
        input: {
          data: { text: 'my own data' },
          runs: [{ algorithm: CompressionAlgorithm.GZIP }, { algorithm: CompressionAlgorithm.BROTLI }],
          agentId: id,
        },
      }),
  },
  {
    field: 'Mutation.cancelCompressionRun',
    floor: Role.ANALYST,
    policy: Policy.OWNER_OR_ADMIN,
    setup: () => ownersRun(true),
    attempt: (caller, id) => http(caller, CancelCompressionRunDocument, { id }),
    effect: async (target) =>
      (await count(
        `select count(*) from compression_runs where id = $1 and (status = 'CANCELLED' or cancel_requested)`,
        [target.id],
      )) > 0,
  },
  {
    field: 'Subscription.compressionRunUpdated',
    floor: Role.VIEWER,
    policy: Policy.READABLE,
    setup: () => ownersRun(),
    attempt: (caller, id) => firstEvent(caller, CompressionRunUpdatedDocument, { id, afterSeq: 0 }),
  },
  {
    field: 'Subscription.compressionSuiteUpdated',
    floor: Role.VIEWER,
    policy: Policy.READABLE,
    setup: () => ownersSuite(),
    attempt: (caller, id) => firstEvent(caller, CompressionSuiteUpdatedDocument, { id, afterSeq: 0 }),
  },

  // Users and the audit trail: ADMIN only, whoever the id names.
  {
    field: 'Mutation.updateUserRole',
    floor: Role.ADMIN,
    policy: Policy.ADMIN_ONLY,
    setup: async () => {
      const bystander = await createActor(server, Role.VIEWER, `own-bystander-${randomUUID().slice(0, 8)}`);
      return { id: bystander.session.user.id, secrets: [] };
    },
    attempt: (caller, id) => http(caller, UpdateUserRoleDocument, { id, role: Role.OPERATOR }),
    effect: async (target) =>
      (await count(`select count(*) from users where id = $1 and role = 'OPERATOR'`, [target.id])) > 0,
  },
  {
    field: 'Query.auditEvents',
    floor: Role.ADMIN,
    policy: Policy.ADMIN_ONLY,
    setup: async () => ({ id: owner.session.user.id, secrets: [] }),
    attempt: (caller, id) => http(caller, AuditEventsDocument, { first: 5, actorId: id }),
  },
];

// ---------------------------------------------------------------------------------------------------
// Coverage: the table has a row for every id-taking root field, and nothing else.
// ---------------------------------------------------------------------------------------------------

const ID_NAME = /^id$|Id$/;

/** Whether an argument is an id, or an input holding one at any depth. */
function holdsId(arg: GraphQLArgument | GraphQLInputField, seen = new Set<string>()): boolean {
  if (ID_NAME.test(arg.name)) return true;
  const type = getNamedType(arg.type);
  if (type.name === 'ID') return true;
  if (!isInputObjectType(type) || seen.has(type.name)) return false;
  seen.add(type.name);
  return Object.values(type.getFields()).some((field) => holdsId(field, seen));
}

function idTakingRootFields(schema: GraphQLSchema): string[] {
  return objectTypes(schema)
    .filter((type) => ['Query', 'Mutation', 'Subscription'].includes(type.name))
    .flatMap((type) =>
      Object.values(type.getFields())
        .filter((field) => field.args.some((arg) => holdsId(arg)))
        .map((field) => `${type.name}.${field.name}`),
    )
    .sort();
}

describe('the ownership table covers the schema', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildBaseSchema();
  });

  it('has one row for every root field that takes an id, and a row only for those', () => {
    const fields = rows.map((row) => row.field);
    expect(new Set(fields).size).toBe(fields.length);
    expect([...fields].sort()).toEqual(idTakingRootFields(schema));
  });

  it('would notice a new id-taking field', () => {
    // The detector itself: fields known to take an id only inside an input, or as a String `…Id`.
    const found = idTakingRootFields(schema);
    expect(found).toEqual(
      expect.arrayContaining(['Mutation.createDebate', 'Query.agents', 'Query.auditEvents']),
    );
    expect(found).not.toContain('Query.me');
    expect(found).not.toContain('Mutation.login');
  });
});

// ---------------------------------------------------------------------------------------------------
// The checks.
// ---------------------------------------------------------------------------------------------------

interface Caller {
  label: string;
  actor: () => Actor;
}
const intruders: Caller[] = [
  { label: 'a VIEWER', actor: () => viewer },
  { label: 'an ANALYST', actor: () => analyst },
  { label: 'another OPERATOR', actor: () => otherOperator },
];

function verdictFor(row: Row, role: Role): Verdict {
  if (!atLeast(role, row.floor)) return 'FORBIDDEN';
  switch (row.policy) {
    case Policy.PRIVATE:
      return 'NOT_FOUND';
    case Policy.OWNER_OR_ADMIN:
    case Policy.ADMIN_ONLY:
      return 'FORBIDDEN';
    case Policy.READABLE:
    case Policy.REFERENCE:
      return 'allowed';
  }
}

/** What a client learns from errors: messages and extensions, with the id asked about blanked out. */
const learned = (attempt: Attempt, id: string) =>
  JSON.stringify(
    (attempt.errors ?? []).map((error) => ({ message: error.message, extensions: error.extensions })),
  ).replaceAll(id, '<id>');

describe.each(rows)('$field ($policy)', (row) => {
  let target: Target;
  beforeAll(async () => {
    target = await row.setup();
  }, 60_000);

  it.each(intruders)('$label who does not own it', async ({ actor }) => {
    const caller = actor();
    const verdict = verdictFor(row, caller.role);
    const result = await row.attempt(caller, target.id);

    if (verdict === 'allowed') {
      expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
      expect(JSON.stringify(result.data)).toContain(target.id);
      return;
    }

    expect(
      (result.errors ?? []).map((error) => error.extensions?.code),
      JSON.stringify(result.errors),
    ).toEqual([verdict]);
    expect(result.data ?? null).toBeNull(); // nothing of it, not even a partial object
    const errorText = JSON.stringify(result.errors);
    for (const text of target.secrets) expect(errorText).not.toContain(text);
    if (verdict === 'FORBIDDEN' && !atLeast(caller.role, row.floor))
      expect(result.errors?.[0]?.message).toMatch(/^Requires role /);
    if (row.policy === Policy.OWNER_OR_ADMIN && atLeast(caller.role, row.floor))
      expect(result.errors?.[0]?.message).toMatch(/^Only (the|who)/);

    if (row.policy === Policy.PRIVATE || !atLeast(caller.role, row.floor)) {
      // Indistinguishable from an id that names nothing: existence is not revealed.
      const missing = randomUUID();
      const probe = await row.attempt(caller, missing);
      expect(learned(result, target.id)).toBe(learned(probe, missing));
    }
    if (row.effect) expect(await row.effect(target)).toBe(false);
  });

  it('an ADMIN may (the control: the id is real and reachable)', async () => {
    const result = await row.attempt(admin, target.id);
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    expect(result.data ?? null).not.toBeNull();
    if (row.effect) expect(await row.effect(target)).toBe(true);
  });
});
