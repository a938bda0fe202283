import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { plainRows } from '../../db/plain-rows.js';
import type { createAgentLoaders } from '../agents/agents.loaders.js';
import { Agent } from '../agents/agent.entity.js';
import { DebateInterjection, DebateParticipant, DebateRound, DebateTurn } from './debate.entity.js';

/** A debate's turns sort by round then seat; seats stop at 8, so `round * 100 + seat` orders them. */
export const turnOrder = (turn: { round: number; seat: number }) => turn.round * 100 + turn.seat;

export interface TurnsPageKey {
  debateId: string;
  first: number;
  /** `turnOrder` of the cursor turn, or null for the first page. */
  after: number | null;
}

function byDebate<T extends { debate: { id: string } }>(ids: readonly string[], rows: T[]): T[][] {
  const groups = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const row of rows) groups.get(row.debate.id)?.push(row);
  return ids.map((id) => groups.get(id)!);
}

/**
 * Nested debate reads, batched per request: however many debates a query lists, their participants,
 * rounds, interjections and pages of turns each take one statement.
 */
export function createDebateLoaders(em: EntityManager, agents: ReturnType<typeof createAgentLoaders>) {
  return {
    // Seats come with their agents (one joined statement), and those agents are primed into `agentById`:
    // a turn's agent is its seat's, so reading a debate's seats and turns needs no agent query at all.
    participantsByDebate: new DataLoader<string, DebateParticipant[]>(async (ids) => {
      const rows: (Record<string, unknown> & { agent_row: Record<string, unknown> })[] = await em.execute(
        `select p.*, to_jsonb(a) as agent_row
           from debate_participants p join agents a on a.id = p.agent_id
          where p.debate_id = any(?::uuid[])
          order by p.debate_id, p.seat`,
        [`{${ids.join(',')}}`],
      );
      const seatAgents = plainRows(
        em,
        Agent,
        rows.map((row) => row.agent_row),
      );
      for (const agent of seatAgents) agents.agentById.prime(agent.id, agent);
      return byDebate(ids, plainRows(em, DebateParticipant, rows));
    }),
    roundsByDebate: new DataLoader<string, DebateRound[]>(async (ids) =>
      byDebate(
        ids,
        await em.find(DebateRound, { debate: { $in: [...ids] } }, { orderBy: { number: 'asc' } }),
      ),
    ),
    interjectionsByDebate: new DataLoader<string, DebateInterjection[]>(async (ids) =>
      byDebate(
        ids,
        await em.find(DebateInterjection, { debate: { $in: [...ids] } }, { orderBy: { createdAt: 'asc' } }),
      ),
    ),
    // One window-function query per distinct (first, after): the first `first + 1` turns of each debate.
    turnsPage: new DataLoader<TurnsPageKey, DebateTurn[], string>(
      async (keys) => {
        const groups = new Map<string, TurnsPageKey[]>();
        for (const key of keys) {
          const group = `${key.first}|${key.after ?? ''}`;
          groups.set(group, [...(groups.get(group) ?? []), key]);
        }
        const pages = new Map<string, DebateTurn[]>();
        for (const group of groups.values()) {
          const { first, after } = group[0]!;
          const ids = [...new Set(group.map((key) => key.debateId))];
          const rows: Record<string, unknown>[] = await em.execute(
            `select * from (
               select t.*, row_number() over (partition by t.debate_id order by t.round, t.seat) as rn
                 from debate_turns t
                where t.debate_id = any(?::uuid[]) and (t.round * 100 + t.seat) > ?
             ) page where rn <= ? order by debate_id, round, seat`,
            [`{${ids.join(',')}}`, after ?? 0, first + 1],
          );
          const turns = plainRows(em, DebateTurn, rows);
          for (const id of ids) pages.set(`${id}|${first}|${after ?? ''}`, []);
          for (const turn of turns) pages.get(`${turn.debate.id}|${first}|${after ?? ''}`)!.push(turn);
        }
        return keys.map((key) => pages.get(`${key.debateId}|${key.first}|${key.after ?? ''}`) ?? []);
      },
      { cacheKeyFn: (key) => `${key.debateId}|${key.first}|${key.after ?? ''}` },
    ),
  };
}
