// The SQL statements of bench/debate.ts's turn steps (bench/debate-server.ts traces them), by label.
import type { StepTimes } from './debate-shared.js';
import { round1, stats } from './support/metrics.js';

/**
 * Statements a step ran, by label: before its Ollama call, in its completing transaction, and after that
 * committed (work it left behind on a timer, e.g. the agent's latency figures).
 */
export function statementTable(steps: StepTimes[]) {
  const phases = {
    beforeChat: new Map<string, number[]>(),
    complete: new Map<string, number[]>(),
    afterCommit: new Map<string, number[]>(),
  };
  for (const step of steps) {
    for (const [name, startedAt, endedAt] of step.statements) {
      const phase =
        step.committedAt !== undefined && startedAt >= step.committedAt
          ? phases.afterCommit
          : step.completeAt !== undefined && startedAt >= step.completeAt
            ? phases.complete
            : step.chatAt === undefined || startedAt < step.chatAt
              ? phases.beforeChat
              : undefined;
      if (!phase) continue;
      const list = phase.get(name) ?? [];
      list.push(endedAt - startedAt);
      phase.set(name, list);
    }
  }
  const table = (phase: Map<string, number[]>) =>
    Object.fromEntries(
      [...phase]
        .map(([name, values]) => {
          const total = values.reduce((sum, value) => sum + value, 0);
          return [name, { perStep: round1(values.length / steps.length), ...stats(values), total }] as const;
        })
        .sort(([, a], [, b]) => b.total - a.total)
        .slice(0, 14)
        .map(([name, { total: _total, ...entry }]) => [name, entry]),
    );
  // Round trips per step (pool waits are not statements; BEGIN and COMMIT are).
  const perStep = (phase: Map<string, number[]>) =>
    round1(
      [...phase]
        .filter(([name]) => !name.startsWith('(waiting'))
        .reduce((sum, [, values]) => sum + values.length, 0) / steps.length,
    );
  return {
    steps: steps.length,
    statementsPerStep: { beforeChat: perStep(phases.beforeChat), complete: perStep(phases.complete) },
    beforeChat: table(phases.beforeChat),
    complete: table(phases.complete),
    afterCommit: table(phases.afterCommit),
  };
}
