import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLY_JOB } from '../src/modules/conversations/conversations.service.js';
import { Role } from '../src/modules/users/role.js';
import { CreateAgentDocument, StartConversationDocument } from '../src/sdk/generated/graphql.js';
import { createActor } from './support/actors.js';
import { execute } from './support/client.js';
import { query } from './support/database.js';
import { eventually } from './support/eventually.js';
import { startFakeOllama, type FakeOllama } from './support/fake-ollama.js';
import { startTestServer, type TestServer } from './support/server.js';

// A job whose worker died on its last attempt (say the work ran the process out of memory) must not be
// claimed again and again, taking down one replica after another: it fails, once, with a clear reason.
let fake: FakeOllama;
let server: TestServer;

beforeAll(async () => {
  fake = await startFakeOllama();
  server = await startTestServer({ env: { OLLAMA_HOST: fake.url, JOB_POLL_MS: '100' } });
});

afterAll(async () => {
  await server?.close();
  await fake?.close();
});

describe('a job whose worker died on its last attempt', () => {
  it('is failed (its final-failure handler runs once), never claimed again', async () => {
    const operator = await createActor(server, Role.OPERATOR, 'exhausted-operator');
    const agent = await execute(
      server.url,
      CreateAgentDocument,
      { input: { name: 'doomed', model: 'llama3.2:3b' } },
      { token: operator.token },
    );
    const conversation = await execute(
      server.url,
      StartConversationDocument,
      { agentId: agent.data!.createAgent.id, title: 'doomed' },
      { token: operator.token },
    );
    const conversationId = conversation.data!.startConversation.id;
    // A user message and its reply job as a dead worker left them: RUNNING, last attempt, lease run out.
    const [message] = await query<{ id: string }>(
      server.databaseUrl,
      `insert into messages (id, conversation_id, position, role, content, status, version, prompt_tokens, completion_tokens, created_at)
       values (gen_random_uuid(), $1, 1, 'USER', 'hello', 'COMPLETE', 1, 0, 0, now()) returning id`,
      [conversationId],
    );
    const requestsBefore = fake.requests.length;
    await query(
      server.databaseUrl,
      `insert into jobs (id, kind, key, payload, status, attempts, max_attempts, run_after, lease_owner, lease_expires_at, created_at, updated_at)
       values (gen_random_uuid(), $1, $2, $3::jsonb, 'RUNNING', 5, 5, now(), 'dead-replica:x', now() - interval '1 second', now(), now())`,
      [
        REPLY_JOB,
        `reply:${message!.id}:1`,
        JSON.stringify({ conversationId, userMessageId: message!.id, version: 1 }),
      ],
    );

    const [job] = await eventually(
      async () => {
        const rows = await query<{ status: string; attempts: number; last_error: string }>(
          server.databaseUrl,
          `select status, attempts, last_error from jobs where key = $1`,
          [`reply:${message!.id}:1`],
        );
        return rows[0]?.status === 'FAILED' ? rows : undefined;
      },
      { timeoutMs: 5_000, what: 'the job to fail' },
    );
    expect(job).toMatchObject({ attempts: 5, last_error: expect.stringContaining('worker stopped') });
    // The reply handler's final-failure effect: one FAILED reply, and Ollama never asked.
    const replies = await eventually(async () => {
      const rows = await query<{ status: string; error: string }>(
        server.databaseUrl,
        `select status, error from messages where reply_to = $1`,
        [message!.id],
      );
      return rows.length > 0 ? rows : undefined;
    });
    expect(replies).toEqual([{ status: 'FAILED', error: expect.stringContaining('worker stopped') }]);
    expect(fake.requests.length).toBe(requestsBefore);
  });
});
