import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../../observability/logger.js';

/**
 * Agents' performance figures, kept current shortly after each piece of work (at most once per agent
 * per `delayMs`). The work itself is recorded in the transaction that stores it, as an `agent_work` row
 * (an insert: concurrent completions for one agent do not queue on its row); the refresh folds those
 * rows into the totals, exactly once each, and recomputes the latency percentiles over the agent's last
 * 1,000 results, which is too much to do inside every completion.
 */
export class AgentStatsKeeper {
  private readonly due = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly orm: MikroORM,
    private readonly log: Logger,
    private readonly delayMs = 500,
  ) {}

  /** Records a reply or a debate turn for the agent's figures, in `tx` (flushed first). */
  async record(
    tx: EntityManager,
    agentId: string,
    work: { promptTokens: number; completionTokens: number },
  ): Promise<void> {
    await tx.flush();
    await tx.execute(`insert into agent_work (agent_id, prompt_tokens, completion_tokens) values (?, ?, ?)`, [
      agentId,
      work.promptTokens,
      work.completionTokens,
    ]);
    this.refreshSoon(agentId); // after `delayMs`: by then `tx` has committed (or the next work retriggers)
  }

  private refreshSoon(agentId: string): void {
    if (this.due.has(agentId)) return;
    const timer = setTimeout(() => {
      this.due.delete(agentId);
      this.refresh(agentId).catch((err: unknown) =>
        this.log.warn({ err, agentId }, 'could not refresh agent latency figures'),
      );
    }, this.delayMs);
    timer.unref();
    this.due.set(agentId, timer);
  }

  /**
   * Folds the agent's recorded work into its totals (each row once: the delete hands it to one refresh
   * only, whichever replica runs it) and recomputes p50/p95/p99 over its last 1,000 completed replies
   * and debate turns together.
   */
  async refresh(agentId: string): Promise<void> {
    await this.orm.em.getConnection().execute(
      `with moved as (
         delete from agent_work where agent_id = ? returning prompt_tokens, completion_tokens
       ), totals as (
         select count(*) as turns, coalesce(sum(prompt_tokens), 0) as prompt, coalesce(sum(completion_tokens), 0) as completion
           from moved
       )
       update agents a set
          stats_turns = stats_turns + totals.turns,
          stats_prompt_tokens = stats_prompt_tokens + totals.prompt,
          stats_completion_tokens = stats_completion_tokens + totals.completion,
          stats_latency_p50ms = p.p50, stats_latency_p95ms = p.p95, stats_latency_p99ms = p.p99
         from totals, (
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
      [agentId, agentId, agentId, agentId],
    );
  }

  stop(): void {
    for (const timer of this.due.values()) clearTimeout(timer);
    this.due.clear();
  }
}
