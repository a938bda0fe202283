import type { Options } from 'ollama';
import type { Agent } from '../modules/agents/agent.entity.js';

/** An agent's sampling settings as Ollama `options` (unset ones left to the model's defaults). */
export function agentChatOptions(agent: Agent): Partial<Options> {
  const { topP, topK, numCtx, numPredict, repeatPenalty, seed, stop } = agent.options;
  const options: Record<string, unknown> = {
    temperature: agent.temperature,
    top_p: topP,
    top_k: topK,
    num_ctx: numCtx,
    num_predict: numPredict,
    repeat_penalty: repeatPenalty,
    seed,
    stop,
  };
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined && value !== null),
  ) as Partial<Options>;
}
