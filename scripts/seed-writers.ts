// The writing half of `npm run seed` (content in seed-content.ts). Agents go through AgentsService, as
// createAgent would. The debate and the runs cannot (no GPU, no server needed), so they are written as
// the workers would have left them: the rows, their events in the event log (so `debateEvents` and
// `compressionRunUpdated` replay them with afterSeq), the agents' figures and an audit record.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { EntityManager } from '@mikro-orm/postgresql';
import { generateCorpus } from '../src/compression/corpus.js';
import { runCompressionTask, type CompressionResult } from '../src/compression/task.js';
import { Agent } from '../src/modules/agents/agent.entity.js';
import { AgentStatsKeeper } from '../src/modules/agents/agent-stats.js';
import type { AgentsService } from '../src/modules/agents/agents.service.js';
import type { CreateAgentInput } from '../src/modules/agents/dto/create-agent.input.js';
import { AuditOutcome } from '../src/modules/audit/audit-event.entity.js';
import type { AuditService } from '../src/modules/audit/audit.service.js';
import type { AuthUser } from '../src/modules/auth/access-tokens.js';
import type { CompressionAlgorithm } from '../src/modules/compression/compression-algorithm.js';
import { CompressionInputKind, type CorpusKind } from '../src/modules/compression/compression-input.js';
import { CompressionRun, CompressionRunStatus } from '../src/modules/compression/compression-run.entity.js';
import { CompressionSuite } from '../src/modules/compression/compression-suite.entity.js';
import { CompressionRunEventType, recordRunEvent } from '../src/modules/compression/compression.events.js';
import { suiteRunFinished } from '../src/modules/compression/suite-progress.js';
import {
  SEED_AGENT_RUN,
  SEED_AGENTS,
  SEED_CORPUS_SEED,
  SEED_SUITE,
  type SeedAgentKey,
} from './seed-content.js';

export interface SeedContext {
  orm: MikroORM;
  audit: AuditService;
  agentsService: AgentsService;
  agentStats: AgentStatsKeeper;
  /** The owner of everything seeded (the admin `npm start` makes). */
  actor: AuthUser;
}

export type SeedAgents = Record<SeedAgentKey, Agent>;

export function recordSeed(tx: EntityManager, context: SeedContext, resourceType: string, id: string): void {
  context.audit.record(tx, {
    actor: context.actor,
    action: 'Script.seed',
    outcome: AuditOutcome.SUCCESS,
    resourceType,
    resourceId: id,
  });
}

/** Each demo agent, created through the service unless its owner already has one by that name. */
export async function seedAgents(
  context: SeedContext,
): Promise<{ agents: SeedAgents; created: string[]; kept: string[] }> {
  const agents = {} as SeedAgents;
  const created: string[] = [];
  const kept: string[] = [];
  for (const [key, spec] of Object.entries(SEED_AGENTS) as [
    SeedAgentKey,
    (typeof SEED_AGENTS)[SeedAgentKey],
  ][]) {
    const em = context.orm.em.fork();
    const existing = await em.findOne(Agent, { owner: context.actor.id, name: spec.name });
    if (existing) {
      agents[key] = existing;
      kept.push(spec.name);
      continue;
    }
    agents[key] = await context.agentsService.create(em, context.actor, {
      ...spec,
      supportedAlgorithms: [...spec.supportedAlgorithms],
    } as CreateAgentInput);
    created.push(spec.name);
  }
  return { agents, created, kept };
}

interface Measured {
  algorithm: CompressionAlgorithm;
  level: number;
  result: CompressionResult;
  startedAt: Date;
  finishedAt: Date;
}

/** Compresses here, in this process (the server's worker threads are not needed for a seed). */
function measure(
  corpus: { kind: CorpusKind; sizeBytes: number },
  runs: { algorithm: CompressionAlgorithm; level: number }[],
): Measured[] {
  const data = generateCorpus(corpus.kind, corpus.sizeBytes, SEED_CORPUS_SEED);
  return runs.map(({ algorithm, level }) => {
    const startedAt = new Date();
    const result = runCompressionTask({ algorithm, level, input: { type: 'bytes', data } });
    return { algorithm, level, result, startedAt, finishedAt: new Date() };
  });
}

function queuedRun(
  tx: EntityManager,
  context: SeedContext,
  each: Measured,
  corpus: { kind: CorpusKind; sizeBytes: number },
  extra: { suite?: string; agent?: string },
): CompressionRun {
  return tx.create(CompressionRun, {
    algorithm: each.algorithm,
    level: each.level,
    inputKind: CompressionInputKind.CORPUS,
    corpusKind: corpus.kind,
    corpusSeed: SEED_CORPUS_SEED,
    inputBytes: corpus.sizeBytes,
    requestedBy: context.actor.id,
    suite: extra.suite ?? null,
    agent: extra.agent ?? null,
    createdAt: each.startedAt,
  });
}

/** QUEUED → STARTED → SUCCEEDED, with the figures measured, as the compression worker stores them. */
async function finishRun(tx: EntityManager, run: CompressionRun, each: Measured): Promise<void> {
  run.status = CompressionRunStatus.RUNNING;
  run.startedAt = each.startedAt;
  await recordRunEvent(tx, CompressionRunEventType.STARTED, run, { attempt: 1 });
  const { result } = each;
  Object.assign(run, {
    outputBytes: result.outputBytes,
    ratio: result.ratio,
    compressMs: result.compressMs,
    decompressMs: result.decompressMs,
    compressMBps: result.compressMBps,
    decompressMBps: result.decompressMBps,
    inputChecksum: result.checksum,
    roundTripOk: result.roundTripOk,
    status: result.roundTripOk ? CompressionRunStatus.SUCCEEDED : CompressionRunStatus.FAILED,
    error: result.roundTripOk ? null : 'the decompressed data differs from the input',
    finishedAt: each.finishedAt,
  });
  await recordRunEvent(
    tx,
    result.roundTripOk ? CompressionRunEventType.SUCCEEDED : CompressionRunEventType.FAILED,
    run,
  );
}

export interface SeededCompression {
  suite: { created: boolean; id: string; best?: { algorithm: string; level: number; ratio: number } };
  agentRun: { created: boolean; id: string; ratio?: number };
}

/** The suite and the agent's run, each unless it is already there (marked by SEED_CORPUS_SEED). */
export async function seedCompression(context: SeedContext, agents: SeedAgents): Promise<SeededCompression> {
  const em = context.orm.em.fork();
  const marked = { requestedBy: context.actor.id, corpusSeed: SEED_CORPUS_SEED };
  const outcome = {} as SeededCompression;

  const existingSuite = await em.findOne(CompressionSuite, marked);
  if (existingSuite) outcome.suite = { created: false, id: existingSuite.id };
  else {
    const measured = measure(SEED_SUITE.corpus, SEED_SUITE.runs);
    outcome.suite = await em.transactional(async (tx) => {
      const suite = tx.create(CompressionSuite, {
        inputKind: CompressionInputKind.CORPUS,
        corpusKind: SEED_SUITE.corpus.kind,
        corpusSeed: SEED_CORPUS_SEED,
        inputBytes: SEED_SUITE.corpus.sizeBytes,
        requestedBy: context.actor.id,
        createdAt: measured[0]!.startedAt,
      });
      // Every run exists before the first one finishes: the last to finish completes the suite.
      const runs = measured.map((each) =>
        queuedRun(tx, context, each, SEED_SUITE.corpus, { suite: suite.id }),
      );
      await tx.flush();
      for (const run of runs) await recordRunEvent(tx, CompressionRunEventType.QUEUED, run);
      for (const [index, run] of runs.entries()) {
        await finishRun(tx, run, measured[index]!);
        await suiteRunFinished(tx, run);
      }
      recordSeed(tx, context, 'CompressionSuite', suite.id);
      const best = runs.reduce((a, b) => ((b.ratio ?? 0) > (a.ratio ?? 0) ? b : a));
      return {
        created: true,
        id: suite.id,
        best: { algorithm: best.algorithm, level: best.level, ratio: best.ratio ?? 0 },
      };
    });
  }

  const existingRun = await em.findOne(CompressionRun, { ...marked, suite: null });
  if (existingRun) outcome.agentRun = { created: false, id: existingRun.id };
  else {
    const [measured] = measure(SEED_AGENT_RUN.corpus, [SEED_AGENT_RUN]);
    outcome.agentRun = await em.transactional(async (tx) => {
      const run = queuedRun(tx, context, measured!, SEED_AGENT_RUN.corpus, {
        agent: agents[SEED_AGENT_RUN.agent].id,
      });
      await tx.flush();
      await recordRunEvent(tx, CompressionRunEventType.QUEUED, run);
      await finishRun(tx, run, measured!);
      recordSeed(tx, context, 'CompressionRun', run.id);
      return { created: true, id: run.id, ratio: run.ratio ?? 0 };
    });
  }
  return outcome;
}
