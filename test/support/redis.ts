import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/testing/ports.js';

/**
 * The `redis-server` binary on PATH (or in the usual places), or undefined on a machine without Redis.
 * `PARLEY_TEST_REDIS_SERVER` overrides: a path to the binary, or `none` to act as a machine without it.
 */
function findRedisServer(): string | undefined {
  const override = process.env.PARLEY_TEST_REDIS_SERVER;
  if (override === 'none') return undefined;
  if (override) return override;
  const dirs = [
    ...(process.env.PATH ?? '').split(path.delimiter),
    '/usr/bin',
    '/usr/local/bin',
    '/opt/homebrew/bin',
  ];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = path.join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export const redisServerBinary = findRedisServer();

/** Whether Redis tests can run here. Use with `describe.skipIf(!redisAvailable)`. */
export const redisAvailable = redisServerBinary !== undefined;

/** Why Redis tests are skipped (shown in the test name), or undefined when they run. */
export const redisSkipReason = redisAvailable
  ? undefined
  : 'skipped: no redis-server on PATH (install Redis, e.g. `apt-get install redis-server`, to run them)';

export interface PrivateRedis {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** Ends the server (SIGKILL: an abrupt outage, connections reset); resolves once it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (nothing is persisted); resolves once it answers PING. */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open but nothing is answered. */
  freeze(): void;
  /** Undoes `freeze` (SIGCONT). */
  thaw(): void;
  /** Whether the server process is running. */
  readonly running: boolean;
  /** Stops it for good and removes its working directory. */
  dispose(): Promise<void>;
}

const children = new Set<ChildProcess>();
// A test process that dies without calling stop() must not leave servers behind.
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Sends PING and resolves true on `+PONG`. */
function ping(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/**
 * A private `redis-server` for one test file: its own free port (never 6379), no persistence, its own
 * working directory. Requires `redisAvailable`.
 */
export async function startRedis(): Promise<PrivateRedis> {
  if (!redisServerBinary) throw new Error(redisSkipReason);
  let port = await freePort();
  while (port === 6379) port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-redis-'));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const output: string[] = [];

  const launch = async () => {
    const proc = spawn(
      redisServerBinary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--protected-mode',
        'no',
        '--dir',
        dir,
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    children.add(proc);
    for (const stream of [proc.stdout, proc.stderr]) {
      stream.on('data', (data: Buffer) => output.push(data.toString()));
    }
    exited = new Promise((resolve) =>
      proc.once('exit', () => {
        children.delete(proc);
        resolve();
      }),
    );
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`redis-server exited at start on port ${port}: ${output.join('')}`);
      }
      if (await ping(port)) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`redis-server did not answer on port ${port} within 10 s: ${output.join('')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const stop = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    freeze: () => void child?.kill('SIGSTOP'),
    thaw: () => void child?.kill('SIGCONT'),
    get running() {
      return Boolean(child && child.exitCode === null && child.signalCode === null);
    },
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
