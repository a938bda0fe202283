import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { EntityManager } from '@mikro-orm/postgresql';
import { appendEvent, type StoredEvent } from '../../realtime/index.js';
import { Agent } from './agent.entity.js';

/** All agent changes go to one stream: dashboards watch the fleet; one agent is a filter on it. */
export const AGENTS_STREAM = 'agents';

export enum AgentEventType {
  CREATED = 'CREATED',
  UPDATED = 'UPDATED',
  DELETED = 'DELETED',
}
registerEnumType(AgentEventType, { name: 'AgentEventType', description: 'What happened to an agent.' });

@ObjectType({ description: 'A change to an agent, in the order of the `agents` event stream.' })
export class AgentEvent {
  @Field(() => Int, {
    description: 'Position in the agents stream; pass the last one you saw as `afterSeq` to resume.',
  })
  seq!: number;

  @Field(() => AgentEventType, { description: 'What happened.' })
  type!: AgentEventType;

  @Field(() => ID, { description: 'The agent it happened to.' })
  agentId!: string;

  @Field(() => Agent, {
    nullable: true,
    description: 'The agent as it was right after the change; null when deleted.',
  })
  agent!: Agent | null;

  @Field(() => Date, { description: 'When the change was committed.' })
  occurredAt!: Date;
}

type AgentSnapshot = Omit<Agent, 'owner' | 'createdAt' | 'updatedAt'> & {
  ownerId: string;
  createdAt: string;
  updatedAt: string;
};

/** Records the change in the caller's transaction. */
export function recordAgentEvent(em: EntityManager, type: AgentEventType, agent: Agent): Promise<number> {
  const snapshot: AgentSnapshot | null =
    type === AgentEventType.DELETED
      ? null
      : {
          id: agent.id,
          name: agent.name,
          description: agent.description,
          model: agent.model,
          systemPrompt: agent.systemPrompt,
          temperature: agent.temperature,
          options: agent.options,
          supportedAlgorithms: agent.supportedAlgorithms,
          status: agent.status,
          stats: agent.stats,
          ownerId: agent.owner.id,
          createdAt: agent.createdAt.toISOString(),
          updatedAt: agent.updatedAt.toISOString(),
        };
  return appendEvent(em, { stream: AGENTS_STREAM, type, entityId: agent.id, payload: { agent: snapshot } });
}

// Every subscriber of an event gets the same object: built once per event, not once per subscriber.
const built = new WeakMap<StoredEvent, AgentEvent>();

export function toAgentEvent(event: StoredEvent): AgentEvent {
  let result = built.get(event);
  if (!result) {
    const snapshot = (event.payload as { agent: AgentSnapshot | null }).agent;
    const agent = snapshot
      ? (Object.assign(Object.create(Agent.prototype) as Agent, {
          ...snapshot,
          owner: { id: snapshot.ownerId },
          createdAt: new Date(snapshot.createdAt),
          updatedAt: new Date(snapshot.updatedAt),
        }) as Agent)
      : null;
    result = {
      seq: event.seq,
      type: event.type as AgentEventType,
      agentId: event.entityId!,
      agent,
      occurredAt: event.createdAt,
    };
    built.set(event, result);
  }
  return result;
}
