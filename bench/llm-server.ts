// Child process of bench/llm.ts: the Parley server under test (bench/support/server-child.ts), timing when
// each reply job starts.
import { JobQueue, type JobHandler } from '../src/jobs/job-queue.js';
import { REPLY_JOB } from '../src/modules/conversations/conversations.service.js';
import { now } from './support/metrics.js';
import { serveBenchServer } from './support/server-child.js';

// When each reply job started running here (claimed, handed to the reply worker), by conversation: it
// splits the time before Ollama into queueing and the worker's own setup. The queue has no hook for it,
// so the handler is wrapped as it is registered.
const jobStartedAt: Record<string, number> = {};
const register = JobQueue.prototype.register;
JobQueue.prototype.register = function (
  this: JobQueue,
  kind: string,
  handler: JobHandler,
  ...rest: unknown[]
) {
  const timed: JobHandler = (job, context) => {
    if (kind === REPLY_JOB)
      jobStartedAt[(job.payload as { conversationId: string }).conversationId] ??= now();
    return handler(job, context);
  };
  return (register as (...args: unknown[]) => void).call(this, kind, timed, ...rest);
};

await serveBenchServer({ report: () => ({ jobStartedAt }) });
