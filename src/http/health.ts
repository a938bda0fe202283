import { Router } from 'express';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { EventListener } from '../realtime/listener.js';
import type { OllamaProvider } from '../llm/ollama.provider.js';
import type { GuardedCircuit } from '../resilience/circuit.js';

export interface HealthCheck {
  status: 'up' | 'down';
  latencyMs: number;
  error?: string;
}

async function timed(check: () => Promise<unknown>, timeoutMs: number): Promise<HealthCheck> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { status: 'up', latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      status: 'down',
      latencyMs: Math.round(performance.now() - started),
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** `/health` (alive), `/health/ready` (can serve: dependencies up), `/health/database`. JSON, 200 or 503. */
export function healthRouter(deps: {
  orm: MikroORM;
  listener: EventListener;
  ollama: OllamaProvider;
  databaseCircuit: GuardedCircuit;
  startedAt: Date;
  version: string;
  timeoutMs?: number;
}): Router {
  const router = Router();
  const timeoutMs = deps.timeoutMs ?? 2_000;
  const database = () => timed(() => deps.orm.em.getConnection().execute('select 1'), timeoutMs);

  router.get('/health', (_req, res) => {
    res.json({
      status: 'ok',
      version: deps.version,
      uptimeSeconds: Math.round((Date.now() - deps.startedAt.getTime()) / 1000),
    });
  });

  router.get('/health/database', async (_req, res) => {
    const check = await database();
    res
      .status(check.status === 'up' ? 200 : 503)
      .json({ ...check, breaker: deps.databaseCircuit.snapshot() });
  });

  // Ollama is not part of readiness: without it the API still serves everything but generation.
  router.get('/health/ollama', async (_req, res) => {
    const { ollama } = deps;
    let version: string | undefined;
    const check = await timed(async () => (version = await ollama.ping(timeoutMs)), timeoutMs);
    res.status(check.status === 'up' ? 200 : 503).json({
      ...check,
      host: ollama.host,
      ...(version ? { version } : {}),
      breaker: ollama.circuit.snapshot(),
    });
  });

  router.get('/health/ready', async (_req, res) => {
    const { listener } = deps;
    const checks = {
      database: await database(),
      eventListener: {
        status: listener.state === 'listening' ? 'up' : 'down',
        state: listener.state,
        reconnects: listener.reconnects,
        ...(listener.lastError ? { error: listener.lastError } : {}),
      },
    };
    const ready = Object.values(checks).every((check) => check.status === 'up');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });

  return router;
}
