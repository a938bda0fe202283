// The figures of bench/debate.ts, from the clients' receipt times, the fake's write times and the server's
// step timeline (one clock: `performance.timeOrigin + performance.now()` in every process). Definitions:
// docs/PERFORMANCE.md.
import type { WatchedDebate } from './debate-clients.js';
import {
  argumentText,
  argumentWords,
  turnKey,
  type DebateServerReport,
  type FakeGeneration,
  type FakeReport,
  type StepTimes,
  type TurnId,
} from './debate-shared.js';
import { statementTable } from './debate-statements.js';
import { round1, Samples, stats } from './support/metrics.js';

export interface DebateBenchOptions {
  debates: number;
  seats: number;
  rounds: number;
  tokens: number;
  tokenDelayMs: number;
}

const minus = (later: number | null | undefined, earlier: number | null | undefined) =>
  later == null || earlier == null ? undefined : later - earlier;

/** The worker's stretch of a step: claimed → its Ollama request reached the fake. */
function pushWorkerStages(stages: Samples, step: StepTimes | undefined, arrivedAt: number | undefined) {
  stages.push('claimed → worker called', minus(step?.handlerAt, step?.claimedAt));
  // Named by the marks, not by what runs between them (which reads come before or after the stop watch
  // is the worker's business): bench:debate's statement table says which statements ran.
  stages.push('worker: called → watchForStop called', minus(step?.watchAt, step?.handlerAt));
  stages.push('worker: watchForStop (hub.subscribe)', minus(step?.watchedAt, step?.watchAt));
  stages.push('worker: watchForStop done → TURN_STARTED begun', minus(step?.startedTxAt, step?.watchedAt));
  stages.push('worker: TURN_STARTED transaction', minus(step?.startedCommittedAt, step?.startedTxAt));
  stages.push('worker: build prompt → chat called', minus(step?.chatAt, step?.startedCommittedAt));
  stages.push('chat called → request reached the fake', minus(arrivedAt, step?.chatAt));
}

/** The previous step's end: its stream's last line → its completion committed. */
function pushCompletionStages(
  stages: Samples,
  step: StepTimes | undefined,
  doneAt: number | null | undefined,
) {
  stages.push("fake's last line → worker has the chat result", minus(step?.chatDoneAt, doneAt));
  stages.push(
    'chat result → complete() called (last delta flushed)',
    minus(step?.completeAt, step?.chatDoneAt),
  );
  stages.push(
    'complete(): store turn (+ round), enqueue next, COMMIT',
    minus(step?.committedAt, step?.completeAt),
  );
}

export function measure(
  options: DebateBenchOptions,
  debates: WatchedDebate[],
  fake: FakeReport,
  server: DebateServerReport,
) {
  const generations = new Map(fake.generations.map((generation) => [turnKey(generation), generation]));
  const steps = new Map<string, StepTimes>();
  for (const step of server.steps) steps.set(`${step.debateId}|${step.step}`, step); // the last attempt wins
  const order: { round: number; seat: number }[] = [];
  for (let round = 1; round <= options.rounds; round++)
    for (let seat = 1; seat <= options.seats; seat++) order.push({ round, seat });

  const overhead = new Samples();
  const stages = new Samples();
  const firstTurnStages = new Samples();
  const tail = new Samples();
  const toSubscriber = new Samples();
  const deliveries = new Samples();
  const deltaDelivery: number[] = [];
  const llmMs: number[] = [];
  const perDebateLlmMs: number[] = [];
  const perDebateSpanMs: number[] = [];
  const failures: string[] = [];
  let turnsReceived = 0;
  let invalidTurns = 0;
  let repairedTurns = 0;
  let textMismatches = 0;
  let seqGaps = 0;
  let restarts = 0;
  const conclusionReasons: Record<string, number> = {};

  for (const debate of debates) {
    if (debate.failure) failures.push(`#${debate.index}: ${debate.failure.slice(0, 300)}`);
    restarts += debate.restarts;
    if (debate.conclusionReason)
      conclusionReasons[debate.conclusionReason] = (conclusionReasons[debate.conclusionReason] ?? 0) + 1;
    const step = (name: string) => steps.get(`${debate.id}|${name}`);
    const generation = (at: { round: number; seat: number }): FakeGeneration | undefined =>
      generations.get(turnKey({ debate: debate.index, ...at }));

    let debateLlm = 0;
    order.forEach((turn, k) => {
      const current = generation(turn);
      if (!current?.doneAt) return;
      debateLlm += current.doneAt - current.arrivedAt;
      llmMs.push(current.doneAt - current.arrivedAt);
      const currentStep = step(`t${turn.round}.${turn.seat}`);
      if (k === 0) {
        overhead.push('first turn (from the startDebate answer)', current.arrivedAt - debate.startAnsweredAt);
        firstTurnStages.push(
          'startDebate answered → first step claimed',
          minus(currentStep?.claimedAt, debate.startAnsweredAt),
        );
        pushWorkerStages(firstTurnStages, currentStep, current.arrivedAt);
        return;
      }
      const previous = generation(order[k - 1]!);
      const previousStep = step(`t${order[k - 1]!.round}.${order[k - 1]!.seat}`);
      const value = minus(current.arrivedAt, previous?.doneAt);
      overhead.push('turns 2–9 (from the previous turn’s last line)', value);
      overhead.push(turn.seat === 1 ? '  of which first seat of a round' : '  of which later seats', value);
      pushCompletionStages(stages, previousStep, previous?.doneAt);
      stages.push(
        'COMMIT answered → next step claimed (doorbell, pool wait, claim statement)',
        minus(currentStep?.claimedAt, previousStep?.committedAt),
      );
      stages.push(
        '  of which the claim statement (its pool wait included)',
        minus(currentStep?.claimedAt, currentStep?.claimSentAt),
      );
      pushWorkerStages(stages, currentStep, current.arrivedAt);
    });
    if (debateLlm > 0) perDebateLlmMs.push(debateLlm);
    if (debate.concludedAt !== null) perDebateSpanMs.push(debate.concludedAt - debate.startSentAt);

    // The tail: the last turn's last line → CONCLUDED received.
    const last = generation(order.at(-1)!);
    const lastStep = step(`t${options.rounds}.${options.seats}`);
    const concludeStep = step('c');
    tail.push('total: last turn’s last line → CONCLUDED received', minus(debate.concludedAt, last?.doneAt));
    pushCompletionStages(tail, lastStep, last?.doneAt);
    tail.push(
      'COMMIT answered → conclude step claimed',
      minus(concludeStep?.claimedAt, lastStep?.committedAt),
    );
    tail.push(
      'claimed → worker read debate, watch, transcript, summary',
      minus(concludeStep?.completeAt, concludeStep?.claimedAt),
    );
    tail.push(
      'complete(): final positions, CONCLUDED, COMMIT',
      minus(concludeStep?.committedAt, concludeStep?.completeAt),
    );
    tail.push('COMMIT answered → CONCLUDED received', minus(debate.concludedAt, concludeStep?.committedAt));

    // Commit → subscriber, per stored event whose commit the server timed. The commit happened before
    // both the app saw COMMIT answered and the server's LISTEN connection got the NOTIFY (sent at commit),
    // so the earlier of the two is the commit time (an upper bound); either may come first.
    const seqs: number[] = [];
    for (const event of debate.events) {
      seqs.push(event.seq);
      let answeredAt: number | undefined;
      if (event.type === 'TURN_STARTED')
        answeredAt = step(`t${event.round}.${event.seat}`)?.startedCommittedAt;
      else if (event.type === 'TURN_COMPLETED')
        answeredAt = step(`t${event.round}.${event.seat}`)?.committedAt;
      else if (event.type === 'ROUND_COMPLETED')
        answeredAt = step(`t${event.round}.${options.seats}`)?.committedAt;
      else if (event.type === 'CONCLUDED') answeredAt = concludeStep?.committedAt;
      if (answeredAt === undefined) continue;
      const notifiedAt = server.notifiedAt[`debate:${debate.id}:${event.seq}`];
      const committedAt = Math.min(answeredAt, notifiedAt ?? Infinity);
      toSubscriber.push('all stored events', event.at - committedAt);
      toSubscriber.push(event.type, event.at - committedAt);
      toSubscriber.push('  split: commit → NOTIFY at the server’s listener', minus(notifiedAt, committedAt));
      toSubscriber.push('  split: NOTIFY at the listener → client received', minus(event.at, notifiedAt));
      toSubscriber.push(
        '  (NOTIFY at the listener − app saw COMMIT answered)',
        minus(notifiedAt, answeredAt),
      );
      if (event.round !== null && event.seat !== null) {
        const made = generation({ round: event.round, seat: event.seat });
        if (event.type === 'TURN_COMPLETED')
          deliveries.push('fake’s last line → TURN_COMPLETED received', minus(event.at, made?.doneAt));
        if (event.type === 'TURN_STARTED')
          deliveries.push(
            'TURN_STARTED received − request reached the fake',
            minus(event.at, made?.arrivedAt),
          );
      }
    }
    seqGaps += seqs.filter((seq, i) => i > 0 && seq !== seqs[i - 1]! + 1).length;

    for (const turn of debate.turns) {
      turnsReceived += 1;
      if (!turn.valid) invalidTurns += 1;
      if (turn.repaired) repairedTurns += 1;
      const id: TurnId = { debate: debate.index, round: turn.round, seat: turn.seat };
      if (turn.content !== argumentText(id, options.tokens)) textMismatches += 1;
    }
    for (const delta of debate.deltas) {
      const word = argumentWords(delta.text).at(-1);
      const written = word && generations.get(turnKey(word))?.wordAt[word.word];
      if (written !== undefined) deltaDelivery.push(delta.at - written);
    }
  }

  // How far apart the debates' k-th turns end: the turns are all alike, so the debates stay in step and
  // their handoffs come in bursts.
  const turnEndSpread = order.map((turn) => {
    const ends = debates
      .map((debate) => generations.get(turnKey({ debate: debate.index, ...turn }))?.doneAt)
      .filter((at): at is number => typeof at === 'number');
    return ends.length > 1 ? Math.max(...ends) - Math.min(...ends) : Number.NaN;
  });

  const concludedDebates = debates.filter((debate) => debate.concludedAt !== null);
  const firstSent = Math.min(...debates.map((debate) => debate.startSentAt));
  const lastConcluded = Math.max(...concludedDebates.map((debate) => debate.concludedAt!));
  const wallMs = concludedDebates.length > 0 ? lastConcluded - firstSent : Number.NaN;
  const sumLlmMs = llmMs.reduce((sum, value) => sum + value, 0);
  const idealWallMs = Math.max(...perDebateLlmMs);
  const seconds = (ms: number) => Math.round(ms) / 1000;
  const turnsExpected = options.debates * options.rounds * options.seats;

  return {
    ok:
      concludedDebates.length === options.debates &&
      failures.length === 0 &&
      server.turnsStored === turnsExpected &&
      turnsReceived === turnsExpected,
    debatesConcluded: concludedDebates.length,
    conclusionReasons,
    failures: failures.length,
    failureSamples: failures.slice(0, 10),
    turnsExpected,
    turnsStored: server.turnsStored,
    turnsReceived,
    invalidTurns,
    repairedTurns,
    textMismatches,
    seqGaps,
    restarts,
    retriedSteps: server.steps.filter((step) => step.attempts > 1).length,
    debatesByStatus: server.debatesByStatus,
    time: {
      wallSeconds: seconds(wallMs),
      sumOfLlmSeconds: seconds(sumLlmMs),
      llmParallelism: round1(sumLlmMs / wallMs),
      idealWallSeconds: seconds(idealWallMs),
      wallOverIdeal: Math.round((wallMs / idealWallMs) * 1000) / 1000,
      perDebateSeconds: {
        span: stats(perDebateSpanMs.map((ms) => ms / 1000)),
        llm: stats(perDebateLlmMs.map((ms) => ms / 1000)),
      },
      fakeGenerationMs: { nominal: options.tokens * options.tokenDelayMs, ...stats(llmMs) },
    },
    overheadPerTurnMs: overhead.summary(),
    /** Per turn k (1–9): the last debate's k-th turn ending − the first's. */
    turnEndSpreadMs: turnEndSpread.map(round1),
    overheadStagesMs: stages.summary(),
    firstTurnStagesMs: firstTurnStages.summary(),
    tailMs: tail.summary(),
    commitToSubscriberMs: toSubscriber.summary(),
    modelToSubscriberMs: deliveries.summary(),
    deltaDeliveryMs: stats(deltaDelivery),
    statementsPerTurnStep: statementTable(server.steps.filter((step) => step.step.startsWith('t'))),
    statementsOutsideSteps: Object.fromEntries(Object.entries(server.otherStatements).slice(0, 10)),
    pool: server.pool,
    pgWaits: server.pgWaits,
    ollama: {
      chatRequests: fake.chatRequests,
      repeatedGenerations: fake.repeatedGenerations,
      unattributed: fake.unattributed,
      disconnects: fake.disconnects,
    },
    serverEventLoopLagMs: server.lag,
    serverRssMb: server.rssMb,
    jobs: server.jobs,
  };
}
