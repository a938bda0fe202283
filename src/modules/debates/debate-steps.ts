import type { EntityManager } from '@mikro-orm/postgresql';
import type { JobQueue } from '../../jobs/job-queue.js';
import type { Debate, DebateStep } from './debate.entity.js';

export const DEBATE_STEP_JOB = 'debate.step';
export const DEBATE_RESUME_JOB = 'debate.resume';

export interface DebateStepPayload {
  debateId: string;
  /** The debate's epoch when queued: the step writes only while it is still current. */
  epoch: number;
  step: DebateStep;
}

const stepKey = (step: DebateStep) =>
  step.kind === 'turn' ? `t${step.round}.${step.seat}` : step.kind === 'moderate' ? `m${step.round}` : 'c';

/**
 * Queues the debate's next step (its `nextStep`) under its current epoch. The key is deterministic, so
 * a step completed twice (a crash between commit and ack) still queues its successor once.
 */
export async function enqueueNextStep(tx: EntityManager, jobs: JobQueue, debate: Debate): Promise<void> {
  if (!debate.nextStep) return;
  const payload: DebateStepPayload = {
    debateId: debate.id,
    epoch: debate.epoch,
    step: debate.nextStep,
  };
  await jobs.enqueue(tx, {
    kind: DEBATE_STEP_JOB,
    key: `debate:${debate.id}:e${debate.epoch}:${stepKey(debate.nextStep)}`,
    payload: { ...payload },
    maxAttempts: 3,
  });
}

/** After a dependency pause: try again (on whichever replica) once the breaker should let calls through. */
export async function enqueueAutoResume(
  tx: EntityManager,
  jobs: JobQueue,
  debate: Debate,
  delaySeconds: number,
): Promise<void> {
  await jobs.enqueue(tx, {
    kind: DEBATE_RESUME_JOB,
    key: `debate:${debate.id}:e${debate.epoch}:resume`,
    payload: { debateId: debate.id, epoch: debate.epoch },
    delaySeconds,
  });
}
