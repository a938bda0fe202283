import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { generateJwtKeyPair } from '../src/config/local-secrets.js';
import { freePort } from '../src/testing/ports.js';
import { createTestDatabase, dropTestDatabase } from './support/database.js';

/**
 * docker/Dockerfile without Docker: its stages' COPY, RUN, ENV and WORKDIR steps run in temporary folders
 * (one per stage, standing for its WORKDIR) from the build context (the .dockerignore applied), then its CMD
 * starts the runtime stage's result with production settings against a fresh database. What this proves: the
 * COPYs bring in everything the build needs, `npm ci` + `npm run build` work from them alone, the runtime
 * stage's production dependencies (`npm ci --omit=dev`) are enough to run dist/, /health/ready answers 200,
 * the HEALTHCHECK command passes, migrate.js runs, the Compose file's fake Ollama command works from the
 * image, and SIGTERM drains to exit 0. Then the Compose topology around two such replicas, where the tools
 * are installed (.ci/run installs them): docker/nginx.conf in front (HTTP, /metrics refused, a graphql-ws
 * subscription through the proxy seeing changes made on both replicas), and Prometheus with
 * grafana/prometheus.yml and alert_rules.yml scraping both (every rule evaluates, every dashboard query
 * runs). What it cannot check: the base image (this machine's Node and OS stand in for
 * node:20-bookworm-slim), USER, EXPOSE and STOPSIGNAL themselves.
 *
 * Slow (two `npm ci` and a full build, about two minutes), hence its own long timeout.
 */
const root = path.resolve(import.meta.dirname, '..');
const NPM_CACHE_CLEAN = /^npm cache clean\b/;
const ADMIN = { email: 'admin@example.com', password: 'dockerfile-steps-password' };

function which(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}
const nginxBinary = process.env.NGINX_BIN ?? which('nginx');
const prometheusBinary = which('prometheus');

interface PrometheusConfig {
  global: Record<string, string>;
  scrape_configs: { job_name: string; static_configs?: { targets: string[] }[] }[];
}
interface Dashboard {
  panels: { title: string; targets?: { expr: string }[]; panels?: Dashboard['panels'] }[];
}

function compose(): { services: Record<string, { command?: string[] }> } {
  return parseYaml(readFileSync(path.join(root, 'docker/docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { command?: string[] }>;
  };
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function graphql(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  token?: string,
): Promise<{ data?: Record<string, unknown>; errors?: unknown[] }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
}

async function login(url: string): Promise<string> {
  const result = await graphql(
    url,
    'mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }',
    {
      e: ADMIN.email,
      p: ADMIN.password,
    },
  );
  const token = (result.data?.login as { accessToken?: string } | undefined)?.accessToken;
  if (!token) throw new Error(`login failed: ${JSON.stringify(result)}`);
  return token;
}

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  name: string;
  workdir: string;
  dir: string;
  env: Record<string, string>;
  instructions: Instruction[];
}

/** Instructions per stage, continuation lines joined, comments dropped. */
function parseDockerfile(text: string): { name: string; instructions: Instruction[] }[] {
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const stages: { name: string; instructions: Instruction[] }[] = [];
  for (const line of logical) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!op) throw new Error(`cannot read Dockerfile line: ${line}`);
    if (op.toUpperCase() === 'FROM') {
      stages.push({ name: /\bAS\s+(\S+)/i.exec(args!)?.[1] ?? String(stages.length), instructions: [] });
    } else stages.at(-1)!.instructions.push({ op: op.toUpperCase(), args: args!.trim() });
  }
  return stages;
}

/** `KEY=value KEY2="value 2"` (the only ENV form the Dockerfile uses). */
function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of args.matchAll(/(\w+)=("([^"]*)"|\S*)/g)) env[match[1]!] = match[3] ?? match[2]!;
  return env;
}

/** .dockerignore patterns as a predicate on paths relative to the context. */
async function dockerignore(): Promise<(relative: string) => boolean> {
  const text = await readFile(path.join(root, 'docker/Dockerfile.dockerignore'), 'utf8');
  const patterns = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((pattern) => {
      const source = pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '@@ANY@@')
        .replace(/\*/g, '[^/]*')
        .replace(/@@ANY@@/g, '(?:.*/)?');
      return new RegExp(`^${source}(?:/.*)?$`);
    });
  return (relative) => patterns.some((pattern) => pattern.test(relative));
}

function runShell(command: string, cwd: string, env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`RUN ${command} exited ${code}:\n${output.slice(-4000)}`)),
    );
  });
}

/** The environment of a RUN step: no NODE_ENV or npm settings from vitest, only the stage's ENV. */
function stepEnv(stage: Stage, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: process.env.HOME ?? os.homedir(),
    TMPDIR: os.tmpdir(),
    // From the machine's npm cache where it can (the registry is reached for anything missing).
    npm_config_prefer_offline: 'true',
    npm_config_update_notifier: 'false',
    ...stage.env,
    ...extra,
  };
}

/** Sends `signal` (if given) and resolves with the exit code once the process has exited. */
function waitForExit(
  child: ChildProcess,
  timeoutMs: number,
  signal?: NodeJS.Signals,
): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    if (signal) child.kill(signal);
  });
}

function runNode(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

interface Process {
  child: ChildProcess;
  output(): string;
}
interface Replica extends Process {
  id: string;
  port: number;
  base: string;
}

describe('docker/Dockerfile step by step without Docker, then the Compose topology around it', () => {
  const cleanup: (() => Promise<void>)[] = [];
  const children: ChildProcess[] = [];
  const replicas = new Map<string, Replica>();
  let built:
    | { work: string; app: string; env: Record<string, string>; cmd: string[]; healthcheck: string[] }
    | undefined;
  afterAll(async () => {
    // SIGTERM first: nginx's master takes its workers down with it (after a SIGKILL they would linger).
    const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
    await Promise.all(
      running.map((child) => waitForExit(child, 5_000, 'SIGTERM').catch(() => child.kill('SIGKILL'))),
    );
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  });

  function start(
    name: string,
    args: string[],
    cwd: string,
    env: Record<string, string>,
    binary = process.execPath,
  ): Process {
    const child = spawn(binary, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return { child, output: () => `${name}: ${output.slice(-4000)}` };
  }

  /** The runtime stage's CMD as one replica, resolved once /health/ready answers 200. */
  async function startReplica(id: string): Promise<Replica> {
    const { app, env, cmd } = built!;
    const port = await freePort();
    const [command, ...args] = cmd;
    expect(command).toBe('node');
    const process_ = start(id, args, app, { ...env, REPLICA_ID: id, PORT: String(port) });
    const base = `http://127.0.0.1:${port}`;
    await until(`${id} ready`, async () => {
      if (process_.child.exitCode !== null)
        throw new Error(`${id} exited with ${process_.child.exitCode}: ${process_.output()}`);
      return (await fetch(`${base}/health/ready`)).status === 200;
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${process_.output()}`);
    });
    const replica = { ...process_, id, port, base };
    replicas.set(id, replica);
    return replica;
  }

  /** nginx in the foreground; its log goes to a file (it opens /dev/stdout, which Node's socket pipes refuse). */
  async function startNginx(folder: string): Promise<Process> {
    const log = path.join(folder, 'nginx.log');
    const fd = openSync(log, 'w');
    const child = spawn(
      nginxBinary!,
      ['-p', folder, '-c', path.join(folder, 'nginx.conf'), '-g', 'daemon off;'],
      {
        cwd: folder,
        stdio: ['ignore', fd, fd],
      },
    );
    closeSync(fd);
    children.push(child);
    return { child, output: () => `nginx: ${existsSync(log) ? readFileSync(log, 'utf8').slice(-4000) : ''}` };
  }

  it('builds, installs production dependencies only, and serves /health/ready from the runtime stage', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'parley-dockerfile-'));
    cleanup.push(() => rm(work, { recursive: true, force: true }));
    const ignored = await dockerignore();
    const throwawayCache = path.join(work, 'npm-cache-to-clean');

    const dockerfile = await readFile(path.join(root, 'docker/Dockerfile'), 'utf8');
    const stages = new Map<string, Stage>();
    let runtime: Stage | undefined;
    let cmd: string[] | undefined;
    let healthcheck: string[] | undefined;
    for (const parsed of parseDockerfile(dockerfile)) {
      const stage: Stage = { ...parsed, workdir: '/', dir: path.join(work, `stage-${parsed.name}`), env: {} };
      await mkdir(stage.dir);
      stages.set(stage.name, stage);
      runtime = stage;
      for (const { op, args } of stage.instructions) {
        switch (op) {
          case 'WORKDIR':
            stage.workdir = args;
            break;
          case 'ENV':
            Object.assign(stage.env, parseEnv(args));
            break;
          case 'COPY': {
            const parts = args.split(/\s+/);
            const from = parts[0]!.startsWith('--from=')
              ? stages.get(parts.shift()!.slice('--from='.length))
              : undefined;
            if (parts.some((part) => part.startsWith('--')))
              throw new Error(`COPY flag not supported here: ${args}`);
            const target = parts.pop()!;
            const destination = path.join(stage.dir, target);
            for (const source of parts) {
              // From the build context (the repository less what the .dockerignore leaves out), or a stage.
              const origin = from
                ? path.join(from.dir, path.relative(from.workdir, source))
                : path.join(root, source);
              expect(
                existsSync(origin) && (from !== undefined || !ignored(source)),
                `COPY source ${source}`,
              ).toBe(true);
              // A folder's contents go to the destination; files go into it when it names a folder.
              const intoFolder = (await stat(origin)).isFile() && (target.endsWith('/') || parts.length > 1);
              await cp(origin, intoFolder ? path.join(destination, path.basename(source)) : destination, {
                recursive: true,
                filter: (file) => from !== undefined || !ignored(path.relative(root, file)),
              });
            }
            break;
          }
          case 'RUN':
            // `npm cache clean --force` would empty this machine's npm cache: it runs against a throwaway one.
            for (const command of args.split(/\s+&&\s+/)) {
              const extra: Record<string, string> = NPM_CACHE_CLEAN.test(command)
                ? { npm_config_cache: throwawayCache }
                : {};
              await runShell(command, stage.dir, stepEnv(stage, extra));
            }
            break;
          case 'CMD':
            cmd = JSON.parse(args) as string[];
            break;
          case 'HEALTHCHECK':
            healthcheck = JSON.parse(args.slice(args.indexOf('CMD') + 3).trim()) as string[];
            break;
          case 'USER':
          case 'EXPOSE':
          case 'STOPSIGNAL':
          case 'LABEL':
            break; // nothing to do outside a container
          default:
            throw new Error(
              `Dockerfile instruction ${op} is not run by this test: teach it, or keep to the others`,
            );
        }
      }
    }

    // The runtime stage: production dependencies and dist/ only.
    const app = runtime!.dir;
    expect(cmd).toEqual(['node', '--max-semi-space-size=64', 'dist/src/main.js']);
    expect(existsSync(path.join(app, 'dist/src/main.js'))).toBe(true);
    expect(existsSync(path.join(app, 'dist/scripts/migrate.js'))).toBe(true);
    expect(existsSync(path.join(app, 'src'))).toBe(false);
    for (const devOnly of ['typescript', 'vitest', 'eslint', 'prettier', '@graphql-codegen/cli']) {
      expect(existsSync(path.join(app, 'node_modules', devOnly)), `${devOnly} in the runtime stage`).toBe(
        false,
      );
    }
    expect(existsSync(path.join(app, 'node_modules/@apollo/server'))).toBe(true);

    const databaseUrl = await createTestDatabase();
    cleanup.push(() => dropTestDatabase(databaseUrl));
    const keys = generateJwtKeyPair();
    const env: Record<string, string> = {
      ...runtime!.env,
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? os.homedir(),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      JWT_PRIVATE_KEY: keys.privateKeyPem,
      JWT_PUBLIC_KEY: keys.publicKeyPem,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '5000',
      COMPRESSION_WORKERS: '1',
      // Nothing answers here: Ollama is not needed to start or to serve anything but generation.
      OLLAMA_HOST: 'http://127.0.0.1:9',
    };
    expect(env.NODE_ENV).toBe('production');
    expect(cmd).toBeDefined();
    built = { work, app, env, cmd: cmd!, healthcheck: healthcheck! };

    // What the migrate service and the Kubernetes Job run, before the replicas.
    const migrated = await runNode(['dist/scripts/migrate.js'], app, env);
    expect(migrated.code, migrated.output).toBe(0);
    expect(migrated.output).toMatch(/database is up to date|applied:/);

    const replica = await startReplica('parley-1');
    const health = await fetch(`${replica.base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });

    // The image's HEALTHCHECK, as Docker would run it inside the container.
    expect(healthcheck?.[0]).toBe('node');
    const checked = await runNode(healthcheck!.slice(1), app, { ...env, PORT: String(replica.port) });
    expect(checked.code, checked.output).toBe(0);

    // docker-compose.yml's fake Ollama (profile fake-llm) runs from the same image.
    const fakePort = await freePort();
    const fakeCommand = compose().services['fake-ollama']!.command!.map((part) =>
      part
        .replaceAll('/app/', `${app}/`)
        .replace('port: 11434', `port: ${fakePort}`)
        .replace("'0.0.0.0'", "'127.0.0.1'"),
    );
    expect(fakeCommand[0]).toBe('node');
    const fake = start('fake-ollama', fakeCommand.slice(1), app, env);
    await until(`fake Ollama answers (${fake.output()})`, async () => {
      if (fake.child.exitCode !== null) throw new Error(`fake Ollama exited: ${fake.output()}`);
      return (await fetch(`http://127.0.0.1:${fakePort}/api/version`)).ok;
    });
    fake.child.kill('SIGKILL');
  }, 900_000);

  it.skipIf(!nginxBinary)(
    'serves two replicas behind docker/nginx.conf: HTTP, /metrics refused, WebSockets across replicas',
    async () => {
      expect(built, 'the build above').toBeDefined();
      const [first, second] = [replicas.get('parley-1')!, await startReplica('parley-2')];
      const folder = path.join(built!.work, 'nginx');
      await mkdir(folder);
      const port = await freePort();
      // Compose service names resolve to the local replicas; the proxy listens on a free loopback port.
      const conf = (await readFile(path.join(root, 'docker/nginx.conf'), 'utf8'))
        .replace(/server parley-1:8000/, `server 127.0.0.1:${first.port}`)
        .replace(/server parley-2:8000/, `server 127.0.0.1:${second.port}`)
        .replace(/listen 8080;/, `listen 127.0.0.1:${port};`);
      expect(conf).toContain(`listen 127.0.0.1:${port};`);
      await writeFile(path.join(folder, 'nginx.conf'), conf);
      const nginx = await startNginx(folder);
      const proxy = `http://127.0.0.1:${port}`;
      await until(`nginx answers (${nginx.output()})`, async () => (await fetch(`${proxy}/nginx-health`)).ok);

      expect((await fetch(`${proxy}/health/ready`)).status).toBe(200);
      expect((await fetch(`${proxy}/metrics`)).status).toBe(404);
      expect((await fetch(`${first.base}/metrics`)).status).toBe(200);
      const token = await login(`${proxy}/graphql`);

      // A subscription through the proxy sees agents created on either replica.
      const received: unknown[] = [];
      const client = createClient({
        url: `ws://127.0.0.1:${port}/graphql`,
        webSocketImpl: WebSocket,
        lazy: false,
        retryAttempts: 0,
        connectionParams: { authorization: `Bearer ${token}` },
        onNonLazyError: () => undefined,
      });
      cleanup.push(async () => client.dispose());
      const errors: unknown[] = [];
      const subscribed = new Promise<void>((resolve) => {
        client.on('connected', () => resolve());
      });
      client.subscribe(
        { query: 'subscription { agentEvents { type agentId } }' },
        {
          next: (result) => received.push(result.data),
          error: (error) => errors.push(error),
          complete: () => undefined,
        },
      );
      await subscribed;
      await new Promise((resolve) => setTimeout(resolve, 500)); // the subscription is set up after connection_ack
      for (const replica of [first, second]) {
        const result = await graphql(
          `${replica.base}/graphql`,
          'mutation ($input: CreateAgentInput!) { createAgent(input: $input) { id } }',
          { input: { name: `agent-on-${replica.id}`, model: 'llama3.2:3b', systemPrompt: 'Be brief.' } },
          token,
        );
        expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
      }
      await until(
        `two events through the proxy (${JSON.stringify(errors)})`,
        async () => received.length >= 2,
        15_000,
      );
      expect(received).toMatchObject([
        { agentEvents: { type: 'CREATED' } },
        { agentEvents: { type: 'CREATED' } },
      ]);
      await client.dispose();
      expect(await waitForExit(nginx.child, 10_000, 'SIGTERM')).toBe(0);
    },
    120_000,
  );

  it.skipIf(!prometheusBinary)(
    'is scraped by Prometheus with grafana/prometheus.yml: alert rules evaluate, every dashboard query runs',
    async () => {
      expect(built, 'the build above').toBeDefined();
      const first = replicas.get('parley-1')!;
      const second = replicas.get('parley-2') ?? (await startReplica('parley-2'));
      const folder = path.join(built!.work, 'prometheus');
      await mkdir(folder);
      const port = await freePort();
      const config = parseYaml(
        await readFile(path.join(root, 'grafana/prometheus.yml'), 'utf8'),
      ) as PrometheusConfig;
      Object.assign(config.global, {
        scrape_interval: '1s',
        scrape_timeout: '1s',
        evaluation_interval: '1s',
      });
      const ports: Record<string, number> = { 'parley-1': first.port, 'parley-2': second.port };
      for (const job of config.scrape_configs) {
        for (const group of job.static_configs ?? []) {
          group.targets = group.targets.map((target) =>
            target.startsWith('localhost:9090')
              ? `127.0.0.1:${port}`
              : `127.0.0.1:${ports[target.split(':')[0]!]}`,
          );
        }
      }
      await writeFile(path.join(folder, 'prometheus.yml'), stringifyYaml(config));
      await cp(path.join(root, 'grafana/alert_rules.yml'), path.join(folder, 'alert_rules.yml'));
      const prometheus = start(
        'prometheus',
        [
          `--config.file=${path.join(folder, 'prometheus.yml')}`,
          `--storage.tsdb.path=${path.join(folder, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        folder,
        { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        prometheusBinary!,
      );
      const api = `http://127.0.0.1:${port}/api/v1`;
      const query = async (expr: string) =>
        (await (await fetch(`${api}/query?query=${encodeURIComponent(expr)}`)).json()) as {
          status: string;
          error?: string;
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
      await until(
        `Prometheus scrapes both replicas (${prometheus.output().slice(-2000)})`,
        async () => {
          const up = await query('sum(up{job="parley"})');
          return up.data?.result[0]?.value[1] === '2';
        },
        60_000,
      );
      const labels = (await query('up{job="parley"}')).data.result
        .map((series) => series.metric.replica)
        .sort();
      expect(labels).toEqual(['parley-1', 'parley-2']);

      // Every rule has been evaluated without error.
      type Rules = {
        data: {
          groups: { rules: { name: string; health: string; lastError?: string; lastEvaluation: string }[] }[];
        };
      };
      const rules = async () =>
        ((await (await fetch(`${api}/rules`)).json()) as Rules).data.groups.flatMap((group) => group.rules);
      await until('every rule evaluated', async () =>
        (await rules()).every((rule) => !rule.lastEvaluation.startsWith('0001')),
      );
      const unhealthy = (await rules()).filter((rule) => rule.health !== 'ok');
      expect(unhealthy.map((rule) => `${rule.name}: ${rule.lastError}`)).toEqual([]);
      expect((await rules()).length).toBeGreaterThan(10);

      // Every dashboard query runs against the live series (no data is fine: no traffic, no Ollama here).
      const failures: string[] = [];
      for (const file of (await readdir(path.join(root, 'grafana/dashboards'))).filter((name) =>
        name.endsWith('.json'),
      )) {
        const dashboard = JSON.parse(
          await readFile(path.join(root, 'grafana/dashboards', file), 'utf8'),
        ) as Dashboard;
        for (const panel of dashboard.panels.flatMap((item) => [item, ...(item.panels ?? [])])) {
          for (const target of panel.targets ?? []) {
            const expr = target.expr.replaceAll('$__rate_interval', '1m').replace(/\$\w+/g, '.*');
            const result = await query(expr);
            if (result.status !== 'success') failures.push(`${file} "${panel.title}": ${result.error}`);
          }
        }
      }
      expect(failures).toEqual([]);
      const replicasUp = await query('sum(up{job="parley"})');
      expect(replicasUp.data.result[0]?.value[1]).toBe('2');
    },
    120_000,
  );

  it('drains on SIGTERM (the STOPSIGNAL) and exits 0', async () => {
    expect(replicas.size, 'replicas started above').toBeGreaterThan(0);
    for (const replica of replicas.values()) {
      expect(await waitForExit(replica.child, 15_000, 'SIGTERM'), replica.output()).toBe(0);
    }
  }, 60_000);
});
