import 'reflect-metadata';
import { createHash, randomUUID } from 'node:crypto';
import type { GraphQLFormattedError, GraphQLSchema } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBaseSchema } from '../src/graphql/schema.js';
import { Role } from '../src/modules/users/role.js';
import {
  AgentDocument,
  AgentEventsDocument,
  AgentsDocument,
  AuditEventsDocument,
  CreateAgentDocument,
  CreateUserDocument,
  DeleteAgentDocument,
  LoginDocument,
  LogoutDocument,
  MeDocument,
  RefreshTokenDocument,
  UpdateAgentDocument,
  UpdateUserRoleDocument,
  UsersDocument,
  CircuitBreakerChangedDocument,
  CircuitBreakersDocument,
  ConversationDocument,
  ConversationEventsDocument,
  ConversationsDocument,
  RegenerateReplyDocument,
  SendMessageDocument,
  StartConversationDocument,
  StopGenerationDocument,
  CancelDebateDocument,
  CreateDebateDocument,
  DebateDocument,
  DebateEventsDocument,
  DebatesDocument,
  InterjectDocument,
  PauseDebateDocument,
  ResumeDebateDocument,
  StartDebateDocument,
  CancelCompressionRunDocument,
  CompressionAlgorithmsDocument,
  CompressionRunDocument,
  CompressionRunUpdatedDocument,
  CompressionRunsDocument,
  CreateCompressionRunDocument,
  CreateCompressionSuiteDocument,
  CompressionSuiteDocument,
  CompressionSuiteUpdatedDocument,
  ModelsDocument,
  ResetCircuitBreakerDocument,
} from '../src/sdk/generated/graphql.js';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.js';
import { createActor, createActors, type Actor, type Actors } from './support/actors.js';
import { codes, execute, type GraphQLResponse } from './support/client.js';
import { query } from './support/database.js';
import { objectTypes } from './support/schema.js';
import { startTestServer, type TestServer } from './support/server.js';
import { connectWs, subscribe } from './support/ws.js';

// ---------------------------------------------------------------------------------------------------
// The spec. Who may call each root field; everyone below the minimum is refused.
// ---------------------------------------------------------------------------------------------------

type RootType = 'Query' | 'Mutation' | 'Subscription';
const rootTypes: RootType[] = ['Query', 'Mutation', 'Subscription'];

const PUBLIC = 'public';
const AUTHENTICATED = 'any signed-in user';
type Access = typeof PUBLIC | typeof AUTHENTICATED | Role;

const minimumAccess = {
  Query: {
    me: AUTHENTICATED,
    agents: Role.VIEWER,
    agent: Role.VIEWER,
    users: Role.ADMIN,
    auditEvents: Role.ADMIN,
    models: Role.VIEWER,
    circuitBreakers: Role.VIEWER,
    conversations: Role.VIEWER,
    conversation: Role.VIEWER,
    debates: Role.VIEWER,
    debate: Role.VIEWER,
    compressionAlgorithms: Role.VIEWER,
    compressionRuns: Role.VIEWER,
    compressionRun: Role.VIEWER,
    compressionSuite: Role.VIEWER,
  },
  Mutation: {
    login: PUBLIC,
    refreshToken: PUBLIC,
    logout: PUBLIC,
    createAgent: Role.OPERATOR,
    updateAgent: Role.OPERATOR,
    deleteAgent: Role.OPERATOR,
    createUser: Role.ADMIN,
    updateUserRole: Role.ADMIN,
    resetCircuitBreaker: Role.ADMIN,
    startConversation: Role.ANALYST,
    sendMessage: Role.ANALYST,
    regenerateReply: Role.ANALYST,
    stopGeneration: Role.ANALYST,
    createDebate: Role.OPERATOR,
    startDebate: Role.OPERATOR,
    pauseDebate: Role.OPERATOR,
    resumeDebate: Role.OPERATOR,
    cancelDebate: Role.OPERATOR,
    interject: Role.OPERATOR,
    createCompressionRun: Role.ANALYST,
    createCompressionSuite: Role.ANALYST,
    cancelCompressionRun: Role.ANALYST,
  },
  Subscription: {
    agentEvents: Role.VIEWER,
    circuitBreakerChanged: Role.VIEWER,
    conversationEvents: Role.VIEWER,
    debateEvents: Role.VIEWER,
    compressionRunUpdated: Role.VIEWER,
    compressionSuiteUpdated: Role.VIEWER,
  },
} as const satisfies Record<RootType, Record<string, Access>>;

/** Roles inherit, lowest first: ADMIN ⊃ OPERATOR ⊃ ANALYST ⊃ VIEWER. Written here, not imported: it is spec. */
const hierarchy = [Role.VIEWER, Role.ANALYST, Role.OPERATOR, Role.ADMIN];
const ANONYMOUS = 'anonymous';
type Caller = typeof ANONYMOUS | Role;
const callers: Caller[] = [ANONYMOUS, ...hierarchy];

type Denial = 'UNAUTHENTICATED' | 'FORBIDDEN';
type Verdict = 'allowed' | Denial;

function verdictFor(access: Access, caller: Caller): Verdict {
  if (access === PUBLIC) return 'allowed';
  if (caller === ANONYMOUS) return 'UNAUTHENTICATED';
  if (access === AUTHENTICATED) return 'allowed';
  return hierarchy.indexOf(caller) >= hierarchy.indexOf(access) ? 'allowed' : 'FORBIDDEN';
}

// ---------------------------------------------------------------------------------------------------
// How each operation is tried. Every call is one a real client could send (queries and mutations over
// HTTP, subscriptions over graphql-ws), against data that exists, so an allowed call succeeds outright
// and a refusal can only come from the permission layer. Mutations report what they changed, read back
// with SQL: a refused call must change nothing.
// ---------------------------------------------------------------------------------------------------

interface Attempt {
  /** What the client got: the HTTP response, or a subscription's first event and its errors. */
  response: { data?: Record<string, unknown> | null; errors?: readonly GraphQLFormattedError[] };
  /** What the database shows changed afterwards (mutations only). */
  writes?: string[];
  /** Whether the server still had the operation running when we looked (subscriptions only). */
  live?: boolean;
}

interface Scenario {
  attempt(caller: Caller): Promise<Attempt>;
  /** What an allowed call writes; a refused one must write none of it. Mutations only. */
  writes?: string[];
}

let server: TestServer;
let actors: Actors;

const tokenOf = (caller: Caller) => (caller === ANONYMOUS ? undefined : actors[caller].token);

function call<TData extends Record<string, unknown>, TVariables>(
  caller: Caller,
  document: TypedDocumentNode<TData, TVariables>,
  variables?: TVariables,
): Promise<GraphQLResponse<TData>> {
  return execute(server.url, document, variables, { token: tokenOf(caller) });
}

const unique = (label: string) => `matrix-${label}-${randomUUID().slice(0, 8)}`.toLowerCase();

/** Subscribes as the caller and reports the first event (or the refusal), and whether it stayed open. */
async function firstEvent<TData extends Record<string, unknown>, TVariables extends Record<string, unknown>>(
  caller: Caller,
  document: TypedDocumentNode<TData, TVariables>,
  variables: TVariables,
): Promise<Attempt> {
  const ws = connectWs(server.wsUrl, tokenOf(caller));
  try {
    const events = subscribe(ws, document, variables);
    let live = true;
    void events.ended.then(() => (live = false));
    await Promise.race([events.ended, events.waitFor(1, 5_000).catch(() => undefined)]);
    events.unsubscribe();
    const errors = events.errors.flat();
    return { response: { data: events.received[0] ?? null, ...(errors.length > 0 ? { errors } : {}) }, live };
  } finally {
    await ws.dispose();
  }
}

/** An agent owned by the caller (the ADMIN for anonymous): ownership never explains a refusal. */
async function agentOwnedBy(caller: Caller): Promise<string> {
  const owner = actors[caller === ANONYMOUS ? Role.ADMIN : caller];
  const agent = await server.app.services.agents.create(
    server.app.orm.em.fork(),
    { id: owner.session.user.id, email: owner.email, role: owner.role },
    { name: unique('agent'), model: 'llama3.2:3b', description: 'original' },
  );
  return agent.id;
}

const actorOf = (caller: Caller) => {
  const owner = actors[caller === ANONYMOUS ? Role.ADMIN : caller];
  return { id: owner.session.user.id, email: owner.email, role: owner.role };
};

/** A conversation owned by the caller (the ADMIN for anonymous), with an agent to talk to. */
async function conversationOwnedBy(caller: Caller): Promise<string> {
  const agentId = await agentOwnedBy(caller === ANONYMOUS || caller === Role.VIEWER ? Role.ADMIN : caller);
  const conversation = await server.app.services.conversations.start(
    server.app.orm.em.fork(),
    actorOf(caller),
    agentId,
    unique('conversation'),
  );
  return conversation.id;
}

/**
 * A debate the caller created (the ADMIN's for callers who may not create one), in `status`. Ollama
 * hangs while the scenario runs, so a RUNNING debate stays RUNNING.
 */
async function debateOf(
  caller: Caller,
  status: 'PENDING' | 'RUNNING' | 'PAUSED' = 'PENDING',
): Promise<string> {
  const creator: Caller =
    caller === ANONYMOUS || caller === Role.VIEWER || caller === Role.ANALYST ? Role.ADMIN : caller;
  const agentIds = [await agentOwnedBy(Role.ADMIN), await agentOwnedBy(Role.ADMIN)];
  const em = () => server.app.orm.em.fork();
  const debates = server.app.services.debates;
  const debate = await debates.create(em(), actorOf(creator), {
    topic: unique('topic'),
    participants: agentIds.map((agentId) => ({ agentId })),
    maxRounds: 3,
    consensusThreshold: 1,
  });
  if (status !== 'PENDING') await debates.start(em(), actorOf(creator), debate.id);
  if (status === 'PAUSED') await debates.pause(em(), actorOf(creator), debate.id);
  return debate.id;
}

/** A queued compression run asked for by the caller (the ADMIN for callers who may not ask). */
async function runOf(caller: Caller): Promise<string> {
  const requester: Caller = caller === ANONYMOUS || caller === Role.VIEWER ? Role.ADMIN : caller;
  const run = await server.app.services.compression.create(server.app.orm.em.fork(), actorOf(requester), {
    algorithm: 'GZIP' as never,
    data: { text: unique('data') },
    keepInput: false,
  });
  return run.id;
}

/** A suite asked for by the caller (the ADMIN for callers who may not ask); its runs are queued. */
async function suiteOf(caller: Caller): Promise<string> {
  const requester: Caller = caller === ANONYMOUS || caller === Role.VIEWER ? Role.ADMIN : caller;
  const suite = await server.app.services.compression.createSuite(
    server.app.orm.em.fork(),
    actorOf(requester),
    {
      data: { text: unique('data') },
      runs: [{ algorithm: 'GZIP' as never }, { algorithm: 'ZSTD' as never }],
      keepInput: false,
    },
  );
  return suite.id;
}

const debateStatus = async (id: string) =>
  (await query<{ status: string }>(server.databaseUrl, 'select status from debates where id = $1', [id]))[0]!
    .status;

/** A signed-in account to log in, refresh or log out with: the caller's own, or a bystander's. */
async function accountFor(caller: Caller): Promise<Actor> {
  return caller === ANONYMOUS ? createActor(server, Role.VIEWER, unique('anonymous-login')) : actors[caller];
}

async function rowCount(sql: string, params: unknown[]): Promise<number> {
  const rows = await query<{ count: string }>(server.databaseUrl, sql, params);
  return Number(rows[0]!.count);
}

/** A new sign-in's refresh token for the caller's account (a bystander's for anonymous). */
async function freshRefreshToken(caller: Caller): Promise<string> {
  const account = await accountFor(caller);
  const login = await execute(server.url, LoginDocument, {
    email: account.email,
    password: account.password,
  });
  return login.data!.login.refreshToken;
}

const refreshTokenRow = (token: string) =>
  query<{ used_at: Date | null; revoked_at: Date | null }>(
    server.databaseUrl,
    `select used_at, revoked_at from refresh_tokens where token_hash = encode(sha256($1::bytea), 'hex')`,
    [token],
  ).then((rows) => rows[0]!);

const scenarios: { [T in RootType]: Record<keyof (typeof minimumAccess)[T], Scenario> } = {
  Query: {
    me: { attempt: async (caller) => ({ response: await call(caller, MeDocument) }) },
    agents: {
      attempt: async (caller) => {
        await agentOwnedBy(caller); // a non-empty page, so the Agent and User field rules run too
        return { response: await call(caller, AgentsDocument, { first: 5 }) };
      },
    },
    agent: {
      attempt: async (caller) => ({
        response: await call(caller, AgentDocument, { id: await agentOwnedBy(caller) }),
      }),
    },
    users: { attempt: async (caller) => ({ response: await call(caller, UsersDocument, { first: 5 }) }) },
    auditEvents: {
      attempt: async (caller) => ({ response: await call(caller, AuditEventsDocument, { first: 5 }) }),
    },
    models: { attempt: async (caller) => ({ response: await call(caller, ModelsDocument) }) },
    circuitBreakers: {
      attempt: async (caller) => ({ response: await call(caller, CircuitBreakersDocument) }),
    },
    conversations: {
      attempt: async (caller) => {
        await conversationOwnedBy(caller);
        return { response: await call(caller, ConversationsDocument, { first: 5 }) };
      },
    },
    conversation: {
      attempt: async (caller) => ({
        response: await call(caller, ConversationDocument, { id: await conversationOwnedBy(caller) }),
      }),
    },
    compressionAlgorithms: {
      attempt: async (caller) => ({ response: await call(caller, CompressionAlgorithmsDocument) }),
    },
    compressionRuns: {
      attempt: async (caller) => {
        await runOf(caller); // a non-empty page, so the run's field rules run too
        return { response: await call(caller, CompressionRunsDocument, { first: 5 }) };
      },
    },
    compressionRun: {
      attempt: async (caller) => ({
        response: await call(caller, CompressionRunDocument, { id: await runOf(caller) }),
      }),
    },
    compressionSuite: {
      attempt: async (caller) => ({
        response: await call(caller, CompressionSuiteDocument, { id: await suiteOf(caller) }),
      }),
    },
    debates: {
      attempt: async (caller) => {
        await debateOf(caller); // a non-empty page, so the nested field rules run too
        return { response: await call(caller, DebatesDocument, { first: 5, turnsFirst: 5 }) };
      },
    },
    debate: {
      attempt: async (caller) => ({
        response: await call(caller, DebateDocument, { id: await debateOf(caller), turnsFirst: 5 }),
      }),
    },
  },
  Mutation: {
    login: {
      writes: ['session started'],
      attempt: async (caller) => {
        const account = await accountFor(caller);
        const sessions = `select count(*) from refresh_tokens where user_id = $1`;
        const before = await rowCount(sessions, [account.session.user.id]);
        const response = await call(caller, LoginDocument, {
          email: account.email,
          password: account.password,
        });
        const after = await rowCount(sessions, [account.session.user.id]);
        return { response, writes: after > before ? ['session started'] : [] };
      },
    },
    refreshToken: {
      writes: ['refresh token spent'],
      attempt: async (caller) => {
        const refreshToken = await freshRefreshToken(caller);
        const response = await call(caller, RefreshTokenDocument, { token: refreshToken });
        const row = await refreshTokenRow(refreshToken);
        return { response, writes: row.used_at ? ['refresh token spent'] : [] };
      },
    },
    logout: {
      writes: ['sign-in ended'],
      attempt: async (caller) => {
        const refreshToken = await freshRefreshToken(caller);
        const response = await call(caller, LogoutDocument, { token: refreshToken });
        const row = await refreshTokenRow(refreshToken);
        return { response, writes: row.revoked_at ? ['sign-in ended'] : [] };
      },
    },
    createAgent: {
      writes: ['agent created'],
      attempt: async (caller) => {
        const name = unique('created');
        const response = await call(caller, CreateAgentDocument, { input: { name, model: 'llama3.2:3b' } });
        const created = await rowCount(`select count(*) from agents where name = $1`, [name]);
        return { response, writes: created > 0 ? ['agent created'] : [] };
      },
    },
    updateAgent: {
      writes: ['agent changed'],
      attempt: async (caller) => {
        const id = await agentOwnedBy(caller);
        const response = await call(caller, UpdateAgentDocument, {
          id,
          input: { description: `changed by ${caller}` },
        });
        const changed = await rowCount(
          `select count(*) from agents where id = $1 and description <> 'original'`,
          [id],
        );
        return { response, writes: changed > 0 ? ['agent changed'] : [] };
      },
    },
    deleteAgent: {
      writes: ['agent deleted'],
      attempt: async (caller) => {
        const id = await agentOwnedBy(caller);
        const response = await call(caller, DeleteAgentDocument, { id });
        const left = await rowCount(`select count(*) from agents where id = $1`, [id]);
        return { response, writes: left === 0 ? ['agent deleted'] : [] };
      },
    },
    createUser: {
      writes: ['user created'],
      attempt: async (caller) => {
        const email = `${unique('new-user')}@example.test`;
        const response = await call(caller, CreateUserDocument, {
          input: { email, password: 'a long enough password', role: 'VIEWER' },
        });
        const created = await rowCount(`select count(*) from users where email = $1`, [email]);
        return { response, writes: created > 0 ? ['user created'] : [] };
      },
    },
    startConversation: {
      writes: ['conversation started'],
      attempt: async (caller) => {
        const title = unique('conversation');
        const response = await call(caller, StartConversationDocument, {
          agentId: await agentOwnedBy(caller),
          title,
        });
        const started = await rowCount(`select count(*) from conversations where title = $1`, [title]);
        return { response, writes: started > 0 ? ['conversation started'] : [] };
      },
    },
    sendMessage: {
      writes: ['message stored'],
      attempt: async (caller) => {
        const conversationId = await conversationOwnedBy(caller);
        const response = await call(caller, SendMessageDocument, { conversationId, content: 'hello' });
        const stored = await rowCount(`select count(*) from messages where conversation_id = $1`, [
          conversationId,
        ]);
        return { response, writes: stored > 0 ? ['message stored'] : [] };
      },
    },
    regenerateReply: {
      writes: ['reply queued'],
      attempt: async (caller) => {
        // A user message stored without a reply job, so nothing is being generated for it.
        const conversationId = await conversationOwnedBy(caller);
        const [message] = await query<{ id: string }>(
          server.databaseUrl,
          `insert into messages (id, conversation_id, position, role, content, status, version, prompt_tokens, completion_tokens, created_at)
           values (gen_random_uuid(), $1, 1, 'USER', 'hello', 'COMPLETE', 1, 0, 0, now()) returning id`,
          [conversationId],
        );
        const response = await call(caller, RegenerateReplyDocument, { messageId: message!.id });
        const queued = await rowCount(`select count(*) from jobs where payload->>'userMessageId' = $1`, [
          message!.id,
        ]);
        return { response, writes: queued > 0 ? ['reply queued'] : [] };
      },
    },
    stopGeneration: {
      writes: ['stop requested'],
      attempt: async (caller) => {
        // A reply that never finishes (Ollama hangs), so there is always something to stop.
        ollama.setBehaviour({ hang: true });
        try {
          const conversationId = await conversationOwnedBy(caller);
          await server.app.services.conversations.send(
            server.app.orm.em.fork(),
            actorOf(caller),
            conversationId,
            'hi',
          );
          const stops = `select count(*) from events where stream = $1 and type = 'STOP_REQUESTED'`;
          const response = await call(caller, StopGenerationDocument, { conversationId });
          const after = await rowCount(stops, [`conversation:${conversationId}`]);
          return { response, writes: after > 0 ? ['stop requested'] : [] };
        } finally {
          ollama.setBehaviour({ hang: undefined });
        }
      },
    },
    createDebate: {
      writes: ['debate created'],
      attempt: async (caller) => {
        const topic = unique('created-debate');
        const agentIds = [await agentOwnedBy(Role.ADMIN), await agentOwnedBy(Role.ADMIN)];
        const response = await call(caller, CreateDebateDocument, {
          input: { topic, participants: agentIds.map((agentId) => ({ agentId })) },
        });
        const created = await rowCount(`select count(*) from debates where topic = $1`, [topic]);
        return { response, writes: created > 0 ? ['debate created'] : [] };
      },
    },
    startDebate: {
      writes: ['debate started'],
      attempt: async (caller) => {
        ollama.setBehaviour({ hang: true });
        try {
          const id = await debateOf(caller);
          const response = await call(caller, StartDebateDocument, { id });
          return { response, writes: (await debateStatus(id)) === 'RUNNING' ? ['debate started'] : [] };
        } finally {
          ollama.setBehaviour({ hang: undefined });
        }
      },
    },
    pauseDebate: {
      writes: ['debate paused'],
      attempt: async (caller) => {
        ollama.setBehaviour({ hang: true });
        try {
          const id = await debateOf(caller, 'RUNNING');
          const response = await call(caller, PauseDebateDocument, { id });
          return { response, writes: (await debateStatus(id)) === 'PAUSED' ? ['debate paused'] : [] };
        } finally {
          ollama.setBehaviour({ hang: undefined });
        }
      },
    },
    resumeDebate: {
      writes: ['debate resumed'],
      attempt: async (caller) => {
        ollama.setBehaviour({ hang: true });
        try {
          const id = await debateOf(caller, 'PAUSED');
          const response = await call(caller, ResumeDebateDocument, { id });
          return { response, writes: (await debateStatus(id)) === 'RUNNING' ? ['debate resumed'] : [] };
        } finally {
          ollama.setBehaviour({ hang: undefined });
        }
      },
    },
    cancelDebate: {
      writes: ['debate cancelled'],
      attempt: async (caller) => {
        const id = await debateOf(caller);
        const response = await call(caller, CancelDebateDocument, { id });
        return { response, writes: (await debateStatus(id)) === 'CANCELLED' ? ['debate cancelled'] : [] };
      },
    },
    interject: {
      writes: ['interjection stored'],
      attempt: async (caller) => {
        const debateId = await debateOf(caller);
        const response = await call(caller, InterjectDocument, { debateId, content: 'Consider the bun.' });
        const stored = await rowCount(`select count(*) from debate_interjections where debate_id = $1`, [
          debateId,
        ]);
        return { response, writes: stored > 0 ? ['interjection stored'] : [] };
      },
    },
    createCompressionRun: {
      writes: ['run queued'],
      attempt: async (caller) => {
        const text = unique('compress me');
        const response = await call(caller, CreateCompressionRunDocument, {
          input: { algorithm: 'ZSTD', data: { text } },
        });
        const checksum = createHash('sha256').update(text).digest('hex');
        const queued = await rowCount(`select count(*) from compression_runs where input_checksum = $1`, [
          checksum,
        ]);
        return { response, writes: queued > 0 ? ['run queued'] : [] };
      },
    },
    createCompressionSuite: {
      writes: ['suite queued'],
      attempt: async (caller) => {
        const text = unique('suite data');
        const response = await call(caller, CreateCompressionSuiteDocument, {
          input: { data: { text }, runs: [{ algorithm: 'GZIP' }, { algorithm: 'BROTLI' }] },
        });
        // Its runs carry the data's checksum: any run with it means the suite was stored.
        const checksum = createHash('sha256').update(text).digest('hex');
        const queued = await rowCount(`select count(*) from compression_runs where input_checksum = $1`, [
          checksum,
        ]);
        return { response, writes: queued > 0 ? ['suite queued'] : [] };
      },
    },
    cancelCompressionRun: {
      writes: ['run cancelled'],
      attempt: async (caller) => {
        const id = await runOf(caller);
        const response = await call(caller, CancelCompressionRunDocument, { id });
        const cancelled = await rowCount(
          `select count(*) from compression_runs where id = $1 and (status = 'CANCELLED' or cancel_requested)`,
          [id],
        );
        return { response, writes: cancelled > 0 ? ['run cancelled'] : [] };
      },
    },
    resetCircuitBreaker: {
      writes: ['reset requested'],
      attempt: async (caller) => {
        const name = server.app.services.circuits.snapshots()[0]!.name;
        const requests = `select count(*) from events where stream = 'breakers' and type = 'RESET_REQUESTED'`;
        const before = await rowCount(requests, []);
        const response = await call(caller, ResetCircuitBreakerDocument, { name });
        const after = await rowCount(requests, []);
        return { response, writes: after > before ? ['reset requested'] : [] };
      },
    },
    updateUserRole: {
      writes: ['role changed', 'sessions ended'],
      attempt: async (caller) => {
        // A VIEWER with a live session: promoting them must also end it, refusing must leave both alone.
        const target = await createActor(server, Role.VIEWER, unique('target'));
        const id = target.session.user.id;
        const response = await call(caller, UpdateUserRoleDocument, { id, role: 'ANALYST' });
        const [user] = await query<{ role: string }>(
          server.databaseUrl,
          `select role from users where id = $1`,
          [id],
        );
        const revoked = await rowCount(
          `select count(*) from refresh_tokens where user_id = $1 and revoked_at is not null`,
          [id],
        );
        return {
          response,
          writes: [
            ...(user!.role !== Role.VIEWER ? ['role changed'] : []),
            ...(revoked > 0 ? ['sessions ended'] : []),
          ],
        };
      },
    },
  },
  Subscription: {
    conversationEvents: {
      attempt: async (caller) => {
        // A stored message to replay (afterSeq 0), so anyone allowed gets one event at once.
        const conversationId = await conversationOwnedBy(caller);
        await server.app.services.conversations.send(
          server.app.orm.em.fork(),
          actorOf(caller),
          conversationId,
          'hi',
        );
        return firstEvent(caller, ConversationEventsDocument, { conversationId, afterSeq: 0 });
      },
    },
    circuitBreakerChanged: {
      attempt: async (caller) => {
        // A stored event to replay (afterSeq 0), so anyone allowed gets one at once.
        const name = server.app.services.circuits.snapshots()[0]!.name;
        const admin = actors[Role.ADMIN];
        await server.app.services.breakers.requestReset(
          server.app.orm.em.fork(),
          { id: admin.session.user.id, email: admin.email, role: admin.role },
          name,
        );
        return firstEvent(caller, CircuitBreakerChangedDocument, { afterSeq: 0 });
      },
    },
    compressionSuiteUpdated: {
      // Nothing is stored for a suite until a run ends: wait for its first RUN_FINISHED.
      attempt: async (caller) =>
        firstEvent(caller, CompressionSuiteUpdatedDocument, { id: await suiteOf(caller), afterSeq: 0 }),
    },
    compressionRunUpdated: {
      // Its QUEUED event is stored: replaying from seq 0 delivers it at once to anyone allowed.
      attempt: async (caller) =>
        firstEvent(caller, CompressionRunUpdatedDocument, { id: await runOf(caller), afterSeq: 0 }),
    },
    debateEvents: {
      // Its creation is a stored event: replaying from seq 0 delivers it at once to anyone allowed.
      attempt: async (caller) =>
        firstEvent(caller, DebateEventsDocument, { debateId: await debateOf(caller), afterSeq: 0 }),
    },
    agentEvents: {
      attempt: async (caller) => {
        // Replaying from seq 0, filtered to a fresh agent, delivers its CREATED event at once to anyone
        // allowed: no waiting for the subscription to register before something happens.
        const agentId = await agentOwnedBy(caller);
        return firstEvent(caller, AgentEventsDocument, { agentId, afterSeq: 0 });
      },
    },
  },
};

// ---------------------------------------------------------------------------------------------------

const denials = new Set<string>(['UNAUTHENTICATED', 'FORBIDDEN'] satisfies Denial[]);

/** [`Type.field`, minimum access, field, scenario] for every row of the table. */
const operations = rootTypes.flatMap((type) =>
  Object.entries(minimumAccess[type]).map(
    ([field, access]: [string, Access]) =>
      [`${type}.${field}`, access, field, (scenarios[type] as Record<string, Scenario>)[field]!] as const,
  ),
);

let ollama: FakeOllama;

beforeAll(async () => {
  ollama = await startFakeOllama();
  server = await startTestServer({
    env: { OLLAMA_HOST: ollama.url, COMPRESSION_MAX_ACTIVE_PER_USER: '1000' },
  });
  actors = await createActors(server, 'matrix');
});
afterAll(async () => {
  await server?.close();
  await ollama?.close();
});

describe('the role matrix covers the schema', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildBaseSchema();
  });

  it.each(rootTypes)('every %s field has a row, and every row a field', (type) => {
    const root = objectTypes(schema).find((candidate) => candidate.name === type);
    const inSchema = Object.keys(root?.getFields() ?? {});
    const inTable = Object.keys(minimumAccess[type]);
    expect(
      inSchema.filter((field) => !inTable.includes(field)),
      `${type} fields with no row in minimumAccess: add them`,
    ).toEqual([]);
    expect(
      inTable.filter((field) => !inSchema.includes(field)),
      `minimumAccess rows for ${type} fields that no longer exist`,
    ).toEqual([]);
  });
});

function expectAllowed(field: string, scenario: Scenario, { response, writes, live }: Attempt): void {
  expect(
    codes(response).filter((code) => denials.has(code)),
    'an allowed caller must not be refused',
  ).toEqual([]);
  expect(response.errors).toBeUndefined();
  expect(response.data?.[field] ?? null).not.toBeNull();
  if (scenario.writes) expect(writes).toEqual(scenario.writes);
  if (live !== undefined) expect(live, 'an allowed subscription stays open').toBe(true);
}

function expectRefused(field: string, code: Denial, scenario: Scenario, attempt: Attempt): void {
  const { response, writes, live } = attempt;
  expect(codes(response)).toEqual([code]);
  expect(response.errors?.[0]?.path).toEqual([field]);
  expect(response.data).toBeNull();
  if (scenario.writes) expect(writes, 'a refused mutation must change nothing').toEqual([]);
  // One error and the server ends it: not an open stream that sends an error for every event.
  if (live !== undefined) expect(live, 'a refused subscription is ended by the server').toBe(false);
}

describe.each(operations)('%s (minimum: %s)', (_operation, access, field, scenario) => {
  const cases = callers.map((caller) => [caller, verdictFor(access, caller)] as const);
  it.each(cases)('%s → %s', async (caller, verdict) => {
    const attempt = await scenario.attempt(caller);
    if (verdict === 'allowed') expectAllowed(field, scenario, attempt);
    else expectRefused(field, verdict, scenario, attempt);
  });
});
