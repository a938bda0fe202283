import { BigIntType, Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * One finished reply or debate turn, waiting to be added to its agent's figures. Work is recorded here
 * (an insert, in the transaction that stores the work) rather than by updating the agent's row, which
 * every concurrent completion for the same agent would queue on; `AgentStatsKeeper` folds these rows into
 * the agent shortly after, exactly once each.
 */
@Entity({ tableName: 'agent_work' })
@Index({ properties: ['agentId'] })
export class AgentWork {
  @PrimaryKey({ type: new BigIntType('number'), autoincrement: true })
  id!: number;

  @Property({ type: 'uuid' })
  agentId!: string;

  @Property({ type: 'integer' })
  promptTokens!: number;

  @Property({ type: 'integer' })
  completionTokens!: number;
}
