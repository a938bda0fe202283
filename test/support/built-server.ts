import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/testing/ports.js';

const root = path.resolve(import.meta.dirname, '../..');

/** One process of the built server. */
export interface BuiltServer {
  child: ChildProcess;
  replicaId: string;
  url: string;
  wsUrl: string;
  stderr(): string;
}

/** A private build of the server, and the processes started from it. */
export interface BuiltServers {
  /** The build's folder: package.json (with its scripts), node_modules and dist/, as after `npm run build`. */
  dir: string;
  /** Starts a process and resolves once `/health/ready` answers 200. */
  start(replicaId: string, env: Record<string, string>): Promise<BuiltServer>;
  /** SIGKILLs the processes started here that are still running (none other). */
  killAll(): Promise<void>;
  /** Kills what is left and deletes the build. */
  remove(): Promise<void>;
}

/**
 * Compiles the server into a temporary folder of its own: another session's `npm run build` empties the
 * shared `dist/`. The built server finds its root (package.json, dist/migrations) by walking up from its
 * files, and its packages through node_modules: both are given to it here.
 */
export async function buildServer(prefix: string): Promise<BuiltServers> {
  const buildDir = await mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  const children = new Set<ChildProcess>();
  try {
    await copyFile(path.join(root, 'package.json'), path.join(buildDir, 'package.json'));
    await symlink(path.join(root, 'node_modules'), path.join(buildDir, 'node_modules'), 'dir');
    await promisify(execFile)(
      process.execPath,
      [
        'node_modules/typescript/bin/tsc',
        '-p',
        'tsconfig.build.json',
        '--outDir',
        path.join(buildDir, 'dist'),
      ],
      { cwd: root },
    );
  } catch (error) {
    await rm(buildDir, { recursive: true, force: true }); // a failed build leaves nothing behind
    throw error;
  }

  const killAll = async () => {
    await Promise.all([...children].map((child) => exited(child, 'SIGKILL')));
  };

  return {
    dir: buildDir,
    async start(replicaId, env) {
      const { DATABASE_URL: _ignored, ...inherited } = process.env;
      const port = await freePort();
      const child = spawn(process.execPath, ['dist/src/main.js'], {
        cwd: buildDir,
        env: {
          ...inherited,
          NODE_ENV: 'development',
          LOG_LEVEL: 'warn',
          HOST: '127.0.0.1',
          PARLEY_DATA_DIR: path.join(buildDir, 'data'),
          ...env,
          REPLICA_ID: replicaId,
          PORT: String(port),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      child.once('exit', () => children.delete(child));
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout!.resume();
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 60_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`${replicaId} exited with ${child.exitCode}: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`${replicaId} not ready in 60 s: ${stderr}`);
        const ready = await fetch(`${base}/health/ready`).then(
          (response) => response.status === 200,
          () => false,
        );
        if (ready)
          return {
            child,
            replicaId,
            url: `${base}/graphql`,
            wsUrl: `ws://127.0.0.1:${port}/graphql`,
            stderr: () => stderr,
          };
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    killAll,
    async remove() {
      await killAll();
      await rm(buildDir, { recursive: true, force: true });
    },
  };
}

/** Sends `signal` (unless the process has already ended) and resolves with its exit code: null if killed. */
export function exited(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill(signal);
  });
}
