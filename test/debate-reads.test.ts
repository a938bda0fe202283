import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import {
  DebateDocument,
  DebatesDocument,
  type DebateFilter,
  type DebatesQueryVariables,
} from '../src/sdk/generated/graphql.js';
import { createActor, type Actor } from './support/actors.js';
import { execute } from './support/client.js';
import { query } from './support/database.js';
import { createAgent, FAST } from './support/debates.js';
import { startTestServer, type TestServer } from './support/server.js';

/*
 * Batched nested reads: a page of debates with their turns, the turns' agents and the participants
 * costs the same number of SQL statements whatever the page size.
 */

describe('nested reads', () => {
  let readServer: TestServer;
  let owner: Actor;
  const readAgents: string[] = [];

  beforeAll(async () => {
    // Nothing runs on this server, and the job poller stays quiet: every statement is the request's.
    readServer = await startTestServer({
      env: { OLLAMA_HOST: 'http://127.0.0.1:9', JOB_POLL_MS: '3600000' },
    });
    owner = await createActor(readServer, Role.OPERATOR, 'reads-operator');
    for (const name of ['Ivy', 'Jules', 'Kepler'])
      readAgents.push(await createAgent(readServer, owner, name, FAST));
  });

  afterAll(async () => {
    await readServer?.close();
  });

  /** Concluded debates with 3 seats, 4 rounds and 12 turns each, written straight into the tables. */
  async function seedDebates(count: number): Promise<void> {
    const ids = Array.from({ length: count }, () => randomUUID());
    const userId = owner.session.user.id;
    const sql = `
      with d as (
        insert into debates (id, topic, status, created_by_id, max_rounds, consensus_threshold, current_round,
                             turn_count, tokens_used, conclusion_reason, summary, verdict, consensus,
                             started_at, ended_at, created_at, updated_at)
        select id, 'Seeded debate ' || id, 'CONCLUDED', $2, 4, 1, 4, 12, 1200, 'MAX_ROUNDS', 'Seeded.', 'yes', 0.5,
               now() - interval '1 hour', now(), clock_timestamp(), now()
          from unnest($1::uuid[]) as id
        returning id
      ), p as (
        insert into debate_participants (id, debate_id, seat, agent_id)
        select gen_random_uuid(), d.id, s, ($3::uuid[])[s] from d, generate_series(1, 3) s
      ), r as (
        insert into debate_rounds (id, debate_id, number, consensus, leading_position, position_changes, turns,
                                   tokens, completed_at)
        select gen_random_uuid(), d.id, n, 0.5, 'yes', 0, 3, 300, now() from d, generate_series(1, 4) n
      )
      insert into debate_turns (id, debate_id, round, seat, agent_id, content, position, confidence, valid,
                                repaired, prompt_tokens, completion_tokens, latency_ms, created_at)
      select gen_random_uuid(), d.id, n, s, ($3::uuid[])[s], 'Because.', 'yes', 0.5, true, false, 80, 20, 5, now()
        from d, generate_series(1, 4) n, generate_series(1, 3) s`;
    await query(readServer.databaseUrl, sql, [ids, userId, readAgents]);
  }

  async function countStatements(first: number): Promise<{ statements: string[]; nodes: number }> {
    const knex = readServer.app.orm.em.getConnection().getKnex();
    const statements: string[] = [];
    const listener = (data: { sql: string }) => statements.push(data.sql);
    knex.on('query', listener);
    try {
      const result = await execute(
        readServer.url,
        DebatesDocument,
        { first, turnsFirst: 10 },
        { token: owner.token },
      );
      expect(result.errors).toBeUndefined();
      const nodes = result.data!.debates.nodes;
      for (const node of nodes) {
        expect(node.turns.nodes).toHaveLength(10);
        expect(node.turns.nodes.map((turn) => turn.agent.name)).toEqual([
          'Ivy',
          'Jules',
          'Kepler',
          'Ivy',
          'Jules',
          'Kepler',
          'Ivy',
          'Jules',
          'Kepler',
          'Ivy',
        ]);
        expect(node.participants.map((participant) => participant.agent.name)).toEqual([
          'Ivy',
          'Jules',
          'Kepler',
        ]);
        expect(node.figures).toMatchObject({ rounds: 4, turns: 12 });
      }
      return { statements: [...statements], nodes: nodes.length };
    } finally {
      knex.removeListener('query', listener);
    }
  }

  it('reading 20 debates with their turns, turn agents and participants takes as many statements as reading 5', async () => {
    await seedDebates(5);
    const five = await countStatements(20);
    expect(five.nodes).toBe(5);

    await seedDebates(15);
    const twenty = await countStatements(20);
    expect(twenty.nodes).toBe(20);

    expect(twenty.statements.length, twenty.statements.join('\n')).toBeLessThanOrEqual(8);
    expect(twenty.statements.length, twenty.statements.join('\n')).toBe(five.statements.length);
  });

  it('filters by status, participant and creator, and pages debates and turns by cursor without gaps', async () => {
    await seedDebates(3);
    const other = await createActor(readServer, Role.OPERATOR, 'reads-other');
    const lone = await createAgent(readServer, other, 'Lone', FAST);
    const [pending] = await query<{ id: string }>(
      readServer.databaseUrl,
      `insert into debates (id, topic, status, created_by_id, max_rounds, consensus_threshold, created_at, updated_at)
       values (gen_random_uuid(), 'Pending', 'PENDING', $1, 3, 1, now(), now()) returning id`,
      [other.session.user.id],
    );
    await query(
      readServer.databaseUrl,
      `insert into debate_participants (id, debate_id, seat, agent_id)
       values (gen_random_uuid(), $1, 1, $2), (gen_random_uuid(), $1, 2, $3)`,
      [pending!.id, lone, readAgents[0]],
    );
    const list = (variables: DebatesQueryVariables) =>
      execute(readServer.url, DebatesDocument, { turnsFirst: 1, ...variables }, { token: owner.token });
    const ids = async (filter: DebateFilter) =>
      (await list({ first: 100, filter })).data!.debates.nodes.map((node) => node.id);

    expect(await ids({ status: 'PENDING' })).toEqual([pending!.id]);
    expect(await ids({ participantAgentId: lone })).toEqual([pending!.id]);
    expect(await ids({ createdById: other.session.user.id })).toEqual([pending!.id]);
    expect(await ids({ status: 'CONCLUDED', participantAgentId: lone })).toEqual([]);

    // Every debate of the owner, newest first, in pages of 7: the same list the table gives, once each.
    const expected = (
      await query<{ id: string }>(
        readServer.databaseUrl,
        'select id from debates where created_by_id = $1 order by created_at desc, id desc',
        [owner.session.user.id],
      )
    ).map((row) => row.id);
    const seen: string[] = [];
    let after: string | null | undefined;
    for (;;) {
      const page = (await list({ first: 7, after, filter: { createdById: owner.session.user.id } })).data!
        .debates;
      expect(page.totalCount).toBe(expected.length);
      seen.push(...page.nodes.map((node) => node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected);

    // A debate's turns, 5 at a time, continue exactly where the last page ended.
    const turns: string[] = [];
    let turnsAfter: string | null | undefined;
    for (;;) {
      const page = (
        await execute(
          readServer.url,
          DebateDocument,
          { id: expected[0]!, turnsFirst: 5, turnsAfter },
          { token: owner.token },
        )
      ).data!.debate.turns;
      expect(page.totalCount).toBe(12);
      turns.push(...page.nodes.map((turn) => `${turn.round}.${turn.seat}`));
      if (!page.pageInfo.hasNextPage) break;
      turnsAfter = page.pageInfo.endCursor;
    }
    expect(turns).toEqual([
      '1.1',
      '1.2',
      '1.3',
      '2.1',
      '2.2',
      '2.3',
      '3.1',
      '3.2',
      '3.3',
      '4.1',
      '4.2',
      '4.3',
    ]);
  });
});
