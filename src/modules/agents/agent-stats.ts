import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../../observability/logger.js';

/**
 * Agents' performance figures. Totals (turns, tokens) move in the transaction that stores each piece of
 * work; latency percentiles read the agent's last 1,000 results, too much for every completion, so they
 * are recomputed shortly after (at most once per agent per `delayMs`).
 */
export class AgentStats {
  private readonly due = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly orm: MikroORM,
    private readonly log: Logger,
    private readonly delayMs = 500,
  ) {}

  /** Adds a reply or a debate turn to the agent's totals, in `tx` (flushed first). */
  async record(
    tx: EntityManager,
    agentId: string,
    work: { promptTokens: number; completionTokens: number },
  ): Promise<void> {
    await tx.flush();
    await tx.execute(
      `update agents set stats_turns = stats_turns + 1,
              stats_prompt_tokens = stats_prompt_tokens + ?, stats_completion_tokens = stats_completion_tokens + ?
        where id = ?`,
      [work.promptTokens, work.completionTokens, agentId],
    );
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

  /** p50/p95/p99 over the agent's last 1,000 completed replies and debate turns together. */
  async refresh(agentId: string): Promise<void> {
    await this.orm.em.getConnection().execute(
      `update agents a set
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
      [agentId, agentId, agentId],
    );
  }

  stop(): void {
    for (const timer of this.due.values()) clearTimeout(timer);
    this.due.clear();
  }
}
