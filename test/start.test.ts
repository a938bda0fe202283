import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AgentsDocument,
  CreateAgentDocument,
  LoginDocument,
  SendMessageDocument,
  StartConversationDocument,
} from '../src/sdk/generated/graphql.js';
import { execute } from './support/client.js';
import { createTestDatabase, dropTestDatabase, query } from './support/database.js';
import { startFakeOllama } from './support/fake-ollama.js';
import { freePort } from '../src/testing/ports.js';

/**
 * `npm start` on a machine with no database: the built server starts an embedded PostgreSQL, migrates,
 * creates the demo admin, serves, shuts down cleanly on SIGTERM, and a second start reuses the data.
 */
const root = path.resolve(import.meta.dirname, '..');
let dataDir: string;

interface Started {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

async function startBuiltServer(env: Record<string, string>): Promise<Started> {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: root,
    env: { ...inherited, NODE_ENV: 'development', LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.resume();
  const base = `http://127.0.0.1:${env.PORT}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`server not ready in 60 s: ${stderr}`);
    const ready = await fetch(`${base}/health/ready`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) return { child, url: `${base}/graphql`, stderr: () => stderr };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

function demoCredentials(stderr: string): { email: string; password: string } {
  const match = /Demo admin[^:]*: (\S+) \/ (\S+)/.exec(stderr);
  if (!match) throw new Error(`no demo admin credentials printed:\n${stderr}`);
  return { email: match[1]!, password: match[2]! };
}

beforeAll(async () => {
  await promisify(execFile)(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'],
    {
      cwd: root,
    },
  );
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'parley-start-'));
  await chmod(dataDir, 0o755);
}, 120_000);

afterAll(async () => {
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('npm start with no DATABASE_URL', () => {
  it('serves on an embedded PostgreSQL, stops cleanly, and reuses the data on the next start', async () => {
    const env = {
      PARLEY_DATA_DIR: dataDir,
      PORT: String(await freePort()),
      EMBEDDED_PG_PORT: String(await freePort()),
    };

    const first = await startBuiltServer(env);
    const credentials = demoCredentials(first.stderr());
    expect(first.stderr()).toContain('(created now)');
    const login = await execute(first.url, LoginDocument, credentials);
    expect(login.data?.login.user.role).toBe('ADMIN');
    const agents = await execute(
      first.url,
      AgentsDocument,
      { first: 5 },
      { token: login.data!.login.accessToken },
    );
    expect(agents.errors).toBeUndefined();
    expect(agents.data?.agents.edges).toEqual([]);

    expect(await stop(first.child)).toBe(0);
    expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);

    const second = await startBuiltServer(env);
    try {
      expect(demoCredentials(second.stderr())).toEqual(credentials);
      expect(second.stderr()).not.toContain('(created now)');
      const again = await execute(second.url, LoginDocument, credentials);
      expect(again.data?.login.user.email).toBe(credentials.email);
    } finally {
      expect(await stop(second.child)).toBe(0);
    }
  }, 120_000);
});

describe('a process killed while a reply streams', () => {
  it('kill -9, restart: the reply resumes within 10 s and is stored exactly once', async () => {
    const fake = await startFakeOllama({ tokenDelayMs: 100, replyTokens: 40 });
    const databaseUrl = await createTestDatabase();
    const admin = { email: 'crash-admin@example.test', password: 'a long enough password' };
    const env = {
      PARLEY_DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      OLLAMA_HOST: fake.url,
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      JOB_LEASE_MS: '3000',
      JOB_POLL_MS: '200',
    };
    try {
      const first = await startBuiltServer({ ...env, PORT: String(await freePort()) });
      const token = (await execute(first.url, LoginDocument, admin)).data!.login.accessToken;
      const agent = await execute(
        first.url,
        CreateAgentDocument,
        { input: { name: 'crashy', model: 'llama3.2:3b' } },
        { token },
      );
      const conversation = await execute(
        first.url,
        StartConversationDocument,
        { agentId: agent.data!.createAgent.id, title: 'crash' },
        { token },
      );
      const sent = await execute(
        first.url,
        SendMessageDocument,
        { conversationId: conversation.data!.startConversation.id, content: 'Tell me a long story' },
        { token },
      );
      const messageId = sent.data!.sendMessage.id;

      // Wait until the reply is streaming, then kill the only process without warning.
      const deadline = Date.now() + 10_000;
      while (!fake.requests.some((request) => request.path === '/api/chat')) {
        if (Date.now() > deadline) throw new Error('the reply never started');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      first.child.kill('SIGKILL');
      await new Promise((resolve) => first.child.once('exit', resolve));
      const chatsBefore = fake.requests.filter((request) => request.path === '/api/chat').length;

      const second = await startBuiltServer({ ...env, PORT: String(await freePort()) });
      const restartedAt = Date.now();
      try {
        let resumedAfterMs: number | undefined;
        const replies = () =>
          query<{ status: string; content: string }>(
            databaseUrl,
            `select status, content from messages where reply_to = $1 and role = 'ASSISTANT'`,
            [messageId],
          );
        for (;;) {
          if (
            resumedAfterMs === undefined &&
            fake.requests.filter((request) => request.path === '/api/chat').length > chatsBefore
          ) {
            resumedAfterMs = Date.now() - restartedAt;
          }
          if ((await replies()).length > 0) break;
          if (Date.now() - restartedAt > 30_000) throw new Error('the reply was never stored');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(resumedAfterMs).toBeDefined();
        expect(resumedAfterMs!).toBeLessThan(10_000);
        await new Promise((resolve) => setTimeout(resolve, 1_000)); // nothing else may arrive
        const stored = await replies();
        expect(stored).toHaveLength(1);
        expect(stored[0]!.status).toBe('COMPLETE');
        expect(stored[0]!.content.length).toBeGreaterThan(0);
        const [job] = await query<{ status: string }>(databaseUrl, `select status from jobs where key = $1`, [
          `reply:${messageId}:1`,
        ]);
        expect(job!.status).toBe('SUCCEEDED');
      } finally {
        expect(await stop(second.child)).toBe(0);
      }
    } finally {
      await fake.close();
      await dropTestDatabase(databaseUrl);
    }
  }, 120_000);
});
