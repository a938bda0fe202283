import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CancelDebateDocument,
  CreateDebateDocument,
  DebateDocument,
  InterjectDocument,
  PauseDebateDocument,
  ResumeDebateDocument,
  StartDebateDocument,
  UpdateAgentDocument,
  type CreateDebateInput,
} from '../src/sdk/generated/graphql.js';
import type { Actor } from './support/actors.js';
import { codes, execute } from './support/client.js';
import { query } from './support/database.js';
import { createAgent, debateBench, eventsOf, FAST, turnReply, waitForEvent } from './support/debates.js';
import type { TestServer } from './support/server.js';

/*
 * What a debate refuses: bad input to createDebate, controls that do not fit its state, another
 * operator's hands and unknown or malformed ids. Debates run against the scripted fake Ollama of
 * support/debates.ts.
 */

const bench = debateBench();
const { scripted, seats, createDebate, startDebate, readDebate, waitForStatus, watch } = bench;
let server: TestServer;
let operator: Actor;
let otherOperator: Actor;
let viewer: Actor;

beforeAll(async () => {
  ({ server, operator, otherOperator, viewer } = await bench.start());
});

afterAll(async () => {
  await bench.close();
});

describe('bad input and the wrong state', () => {
  /** Rows of every debate table, and the events of the given debates (by default: of all debates). */
  async function countRows(debateIds?: string[]): Promise<Record<string, number>> {
    const [row] = await query<Record<string, string>>(
      server.databaseUrl,
      `select (select count(*) from debates) as debates,
              (select count(*) from debate_participants) as participants,
              (select count(*) from debate_turns) as turns,
              (select count(*) from debate_interjections) as interjections,
              (select count(*) from events
                where coalesce(stream = any($1::text[]), stream like 'debate:%')) as events`,
      [debateIds?.map((id) => `debate:${id}`) ?? null],
    );
    return Object.fromEntries(Object.entries(row!).map(([key, value]) => [key, Number(value)]));
  }

  async function debateRow(id: string) {
    const [row] = await query(
      server.databaseUrl,
      'select status, epoch, current_round, status_reason, next_step, updated_at from debates where id = $1',
      [id],
    );
    return row;
  }

  it('createDebate rejects bad input with BAD_USER_INPUT naming the field, and writes nothing', async () => {
    const dormant = await createAgent(server, operator, 'Dormant', FAST);
    const disabled = await execute(
      server.url,
      UpdateAgentDocument,
      { id: dormant, input: { status: 'DISABLED' } },
      { token: operator.token },
    );
    expect(disabled.data?.updateAgent.status).toBe('DISABLED');
    const before = await countRows();

    const cases: [string, Partial<CreateDebateInput>, RegExp][] = [
      ['no participants', { participants: [] }, /^participants$/],
      ['one participant', { participants: seats('Ada') }, /^participants$/],
      ['nine participants', { participants: seats(...Array<string>(9).fill('Ada')) }, /^participants$/],
      [
        'an unknown agent',
        { participants: [...seats('Ada'), { agentId: randomUUID() }] },
        /^participants\.1\.agentId$/,
      ],
      [
        'a disabled agent',
        { participants: [{ agentId: dormant }, ...seats('Ada')] },
        /^participants\.0\.agentId$/,
      ],
      ['an unknown moderator', { moderatorAgentId: randomUUID() }, /^moderatorAgentId$/],
      ['0 rounds', { maxRounds: 0 }, /^maxRounds$/],
      ['21 rounds', { maxRounds: 21 }, /^maxRounds$/],
      ['a threshold below 0', { consensusThreshold: -0.1 }, /^consensusThreshold$/],
      ['a threshold above 1', { consensusThreshold: 1.1 }, /^consensusThreshold$/],
      ['a blank topic', { topic: '  \n ' }, /^topic$/],
    ];
    for (const [what, input, field] of cases) {
      const result = await execute(
        server.url,
        CreateDebateDocument,
        { input: { topic: 'Bad input', participants: seats('Ada', 'Babbage'), ...input } },
        { token: operator.token },
      );
      expect(codes(result), what).toEqual(['BAD_USER_INPUT']);
      expect(result.data, what).toBeNull();
      const fields = (result.errors![0]!.extensions!.fields as { field: string }[]).map((each) => each.field);
      expect(fields, what).toContainEqual(expect.stringMatching(field));
    }
    expect(await countRows()).toEqual(before);
  });

  it('controls that do not fit the state are CONFLICT and change nothing', async () => {
    // RUNNING: started again.
    const slowTopic = scripted('Slow enough to still run', (call) =>
      call.kind === 'turn' ? turnReply('maybe', 0.5, 20) : undefined,
    );
    const running = await createDebate({ topic: slowTopic, participants: seats('Faraday', 'Faraday') });
    await startDebate(running);
    const runningBefore = await debateRow(running);
    const again = await execute(server.url, StartDebateDocument, { id: running }, { token: operator.token });
    expect(codes(again)).toEqual(['CONFLICT']);
    expect(again.errors![0]!.message).toMatch(/RUNNING/);
    expect(await debateRow(running)).toMatchObject({ status: 'RUNNING', epoch: runningBefore!.epoch });
    const stop = await execute(server.url, CancelDebateDocument, { id: running }, { token: operator.token });
    expect(stop.data?.cancelDebate.status).toBe('CANCELLED');

    // CONCLUDED: resumed.
    const quickTopic = scripted('Quick to conclude', (call) =>
      call.kind === 'turn' ? turnReply('yes') : undefined,
    );
    const concluded = await createDebate({ topic: quickTopic, maxRounds: 1 });
    await startDebate(concluded);
    await waitForStatus(concluded, 'CONCLUDED');

    // CANCELLED (straight from PENDING): interjected into.
    const cancelled = await createDebate({ topic: scripted('Never to be', () => undefined) });
    const cancel = await execute(
      server.url,
      CancelDebateDocument,
      { id: cancelled },
      { token: operator.token },
    );
    expect(cancel.data?.cancelDebate.status).toBe('CANCELLED');

    const pending = await createDebate({ topic: scripted('Not started yet', () => undefined) });

    const snapshots = {
      concluded: await debateRow(concluded),
      cancelled: await debateRow(cancelled),
      pending: await debateRow(pending),
    };
    const counts = await countRows([concluded, cancelled, pending]);

    const resume = await execute(
      server.url,
      ResumeDebateDocument,
      { id: concluded },
      { token: operator.token },
    );
    expect(codes(resume)).toEqual(['CONFLICT']);
    const interject = await execute(
      server.url,
      InterjectDocument,
      { debateId: cancelled, content: 'Too late' },
      { token: operator.token },
    );
    expect(codes(interject)).toEqual(['CONFLICT']);
    const pause = await execute(server.url, PauseDebateDocument, { id: pending }, { token: operator.token });
    expect(codes(pause)).toEqual(['CONFLICT']);
    const cancelAgain = await execute(
      server.url,
      CancelDebateDocument,
      { id: cancelled },
      { token: operator.token },
    );
    expect(codes(cancelAgain)).toEqual(['CONFLICT']);

    expect({
      concluded: await debateRow(concluded),
      cancelled: await debateRow(cancelled),
      pending: await debateRow(pending),
    }).toEqual(snapshots);
    expect(await countRows([concluded, cancelled, pending])).toEqual(counts);
  });

  it('another operator may not run my debate (FORBIDDEN); a VIEWER may watch it', async () => {
    const topic = scripted('Whose debate is it?', (call) =>
      call.kind === 'turn' ? turnReply('mine') : undefined,
    );
    const id = await createDebate({ topic, maxRounds: 1 });
    const snapshot = await debateRow(id);
    const counts = await countRows([id]);
    for (const [what, run] of [
      ['start', () => execute(server.url, StartDebateDocument, { id }, { token: otherOperator.token })],
      ['pause', () => execute(server.url, PauseDebateDocument, { id }, { token: otherOperator.token })],
      ['resume', () => execute(server.url, ResumeDebateDocument, { id }, { token: otherOperator.token })],
      ['cancel', () => execute(server.url, CancelDebateDocument, { id }, { token: otherOperator.token })],
      [
        'interject',
        () =>
          execute(
            server.url,
            InterjectDocument,
            { debateId: id, content: 'Hi' },
            { token: otherOperator.token },
          ),
      ],
      ['viewer start', () => execute(server.url, StartDebateDocument, { id }, { token: viewer.token })],
    ] as const) {
      expect(codes(await run()), what).toEqual(['FORBIDDEN']);
    }
    expect(await debateRow(id)).toEqual(snapshot);
    expect(await countRows([id])).toEqual(counts);

    const { events } = watch(id, { afterSeq: 0, actor: viewer });
    await startDebate(id);
    await waitForEvent(events, (event) => event.type === 'CONCLUDED', 'the viewer to see the conclusion');
    expect(events.errors).toEqual([]);
    expect(eventsOf(events)[0]).toMatchObject({ seq: 1, type: 'STATUS_CHANGED', status: 'PENDING' });
    const seen = await readDebate(id, viewer);
    expect(seen).toMatchObject({ status: 'CONCLUDED', createdBy: { email: operator.email } });
    expect(seen.turns.nodes).toHaveLength(2);
  });

  it('an unknown debate is NOT_FOUND and a malformed id BAD_USER_INPUT', async () => {
    const unknown = randomUUID();
    expect(
      codes(await execute(server.url, DebateDocument, { id: unknown }, { token: viewer.token })),
    ).toEqual(['NOT_FOUND']);
    expect(
      codes(await execute(server.url, PauseDebateDocument, { id: unknown }, { token: operator.token })),
    ).toEqual(['NOT_FOUND']);
    expect(
      codes(await execute(server.url, DebateDocument, { id: 'not-a-debate' }, { token: viewer.token })),
    ).toEqual(['BAD_USER_INPUT']);
    expect(
      codes(
        await execute(server.url, StartDebateDocument, { id: 'not-a-debate' }, { token: operator.token }),
      ),
    ).toEqual(['BAD_USER_INPUT']);

    const { events } = watch(unknown, { actor: viewer });
    await events.ended;
    expect(events.errors.flat().map((error) => error.extensions?.code)).toEqual(['NOT_FOUND']);
  });
});
