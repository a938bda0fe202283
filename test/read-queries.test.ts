import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENTS_WITH_OWNERS,
  DEBATE_WITH_PARTICIPANTS_AND_TURNS,
  RECENT_DEBATES_WITH_TURNS,
  TARGETS,
  type AgentsAnswer,
  type DebateAnswer,
  type DebatesAnswer,
} from '../bench/queries-documents.js';
import { SEED_PASSWORD, SEED_VIEWER_EMAIL, seedDataset, type SeedCounts } from '../bench/seed-data.js';
import { LoginDocument } from '../src/sdk/generated/graphql.js';
import { execute } from './support/client.js';
import { rememberSecret } from './support/secrets-audit.js';
import { startTestServer, type TestServer } from './support/server.js';

/*
 * Issue 10's read queries (bench/queries-documents.ts, the ones `npm run bench:queries` drives) against
 * the benchmark's seed, small: their answers are the rows in the tables, and each costs a fixed number of
 * SQL statements however many rows the page holds and the tables have.
 */

const SMALL: SeedCounts = { users: 6, agents: 24, debates: 22 };
const LARGER: SeedCounts = { users: 40, agents: 400, debates: 80 };

describe('read queries', () => {
  let server: TestServer;
  let db: pg.Client;
  let token: string;
  let debateIds: string[];

  beforeAll(async () => {
    // Nothing runs on this server and the job poller stays quiet: every statement is the request's.
    server = await startTestServer({ env: { OLLAMA_HOST: 'http://127.0.0.1:9', JOB_POLL_MS: '3600000' } });
    db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
    debateIds = (await seedDataset(db, SMALL)).debateIds;
    const login = await execute(server.url, LoginDocument, {
      email: SEED_VIEWER_EMAIL,
      password: SEED_PASSWORD,
    });
    expect(login.data?.login.user.role).toBe('VIEWER');
    token = login.data!.login.accessToken;
    rememberSecret(SEED_PASSWORD, token, login.data!.login.refreshToken);
  });

  afterAll(async () => {
    await db?.end();
    await server?.close();
  });

  /** One request, with the SQL statements the app sent while it ran (knex's `query` events). */
  async function read<T>(query: string, variables: Record<string, unknown> = {}) {
    const knex = server.app.orm.em.getConnection().getKnex();
    const statements: string[] = [];
    const listener = (data: { sql: string }) => statements.push(data.sql);
    knex.on('query', listener);
    try {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: T; errors?: unknown[] };
      expect(body.errors).toBeUndefined();
      return { data: body.data!, statements };
    } finally {
      knex.removeListener('query', listener);
    }
  }

  const rows = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
    (await db.query<T>(sql, params)).rows;

  /** A debate's turns as the API shows them, from the tables. */
  const turnsOf = (debateId: string) =>
    rows(
      `select t.round, t.seat, t.position, t.confidence, t.content, a.id as agent_id, a.name, a.model
         from debate_turns t join agents a on a.id = t.agent_id
        where t.debate_id = $1 order by t.round, t.seat`,
      [debateId],
    );

  describe('answers', () => {
    it('Q1: the 20 newest agents with their id, name, model and owner’s email', async () => {
      const { data } = await read<AgentsAnswer>(AGENTS_WITH_OWNERS);
      const expected = await rows(
        `select a.id, a.name, a.model, u.email from agents a join users u on u.id = a.owner_id
          order by a.created_at desc, a.id desc limit 20`,
      );
      expect(expected).toHaveLength(20);
      expect(data.agents.edges.map(({ node }) => node)).toEqual(
        expected.map((row) => ({
          id: row.id,
          name: row.name,
          model: row.model,
          owner: { email: row.email },
        })),
      );
    });

    it('Q2: the 20 newest debates, each with its 9 turns in order and each turn’s agent', async () => {
      const { data } = await read<DebatesAnswer>(RECENT_DEBATES_WITH_TURNS);
      const expected = await rows(
        'select id, topic, status from debates order by created_at desc, id desc limit 20',
      );
      expect(
        data.debates.edges.map(({ node }) => ({ id: node.id, topic: node.topic, status: node.status })),
      ).toEqual(expected);
      for (const { node } of data.debates.edges) {
        const turns = await turnsOf(node.id);
        expect(turns).toHaveLength(9);
        expect(node.turns.edges.map((edge) => edge.node)).toEqual(
          turns.map((turn) => ({
            round: turn.round,
            seat: turn.seat,
            position: turn.position,
            confidence: turn.confidence,
            content: turn.content,
            agent: { name: turn.name },
          })),
        );
      }
    });

    it('Q3: one debate with its seats, its turns and their agents', async () => {
      const id = debateIds[3]!;
      const { data } = await read<DebateAnswer>(DEBATE_WITH_PARTICIPANTS_AND_TURNS, { id });
      const [debate] = await rows('select id, topic, status from debates where id = $1', [id]);
      const participants = await rows(
        `select p.seat, a.id, a.name, a.model from debate_participants p join agents a on a.id = p.agent_id
          where p.debate_id = $1 order by p.seat`,
        [id],
      );
      const turns = await turnsOf(id);
      expect(participants).toHaveLength(3);
      expect(data.debate).toEqual({
        ...debate,
        participants: participants.map((row) => ({
          seat: row.seat,
          agent: { id: row.id, name: row.name, model: row.model },
        })),
        turns: {
          edges: turns.map((turn) => ({
            node: {
              round: turn.round,
              seat: turn.seat,
              position: turn.position,
              confidence: turn.confidence,
              content: turn.content,
              agent: { id: turn.agent_id, name: turn.name, model: turn.model },
            },
          })),
        },
      });
    });
  });

  describe('SQL statements per request', () => {
    /** Statement lists by query and case: pages of 5 and 20 on the small seed, 20 on the larger one. */
    const counted: Record<string, string[][]> = { Q1: [], Q2: [], Q3: [] };

    beforeAll(async () => {
      for (const counts of [SMALL, LARGER]) {
        if (counts === LARGER) debateIds = (await seedDataset(db, LARGER)).debateIds;
        for (const first of counts === SMALL ? [5, 20] : [20]) {
          counted.Q1!.push((await read(AGENTS_WITH_OWNERS, { first })).statements);
          counted.Q2!.push((await read(RECENT_DEBATES_WITH_TURNS, { first })).statements);
        }
        counted.Q3!.push((await read(DEBATE_WITH_PARTICIPANTS_AND_TURNS, { id: debateIds[3] })).statements);
      }
    });

    it.each(['Q1', 'Q2', 'Q3'] as const)('%s stays within its bound whatever the rows', (name) => {
      const lists = counted[name]!;
      const shown = lists.map((list) => `${list.length}:\n  ${list.join('\n  ')}`).join('\n');
      for (const list of lists) expect(list.length, shown).toBeLessThanOrEqual(TARGETS[name].statements);
      expect(new Set(lists.map((list) => list.length)).size, shown).toBe(1);
    });
  });
});
