import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Adds one piece of work (a reply or a debate turn, already flushed in `tx`) to the agent's figures:
 * turns and tokens add up; latency percentiles are over its last 1,000 replies and turns together.
 */
export async function recordAgentWork(
  tx: EntityManager,
  agentId: string,
  work: { promptTokens: number; completionTokens: number },
): Promise<void> {
  await tx.flush();
  await tx.execute(
    `update agents a set
        stats_turns = stats_turns + 1,
        stats_prompt_tokens = stats_prompt_tokens + ?,
        stats_completion_tokens = stats_completion_tokens + ?,
        stats_latency_p50ms = p.p50, stats_latency_p95ms = p.p95, stats_latency_p99ms = p.p99
       from (
         select percentile_cont(0.5) within group (order by latency_ms) as p50,
                percentile_cont(0.95) within group (order by latency_ms) as p95,
                percentile_cont(0.99) within group (order by latency_ms) as p99
           from (
             (select m.latency_ms, m.created_at from messages m join conversations c on c.id = m.conversation_id
               where c.agent_id = ? and m.role = 'ASSISTANT' and m.status = 'COMPLETE' and m.latency_ms is not null
               order by m.created_at desc limit 1000)
             union all
             (select t.latency_ms, t.created_at from debate_turns t where t.agent_id = ?
               order by t.created_at desc limit 1000)
             order by created_at desc limit 1000) recent
       ) p
      where a.id = ?`,
    [work.promptTokens, work.completionTokens, agentId, agentId, agentId],
  );
}
