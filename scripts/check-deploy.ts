// `npm run check:deploy`: checks docker/, k8s/ and grafana/ offline, without Docker or a cluster.
//   - Prometheus: `promtool check config` on grafana/prometheus*.yml, `promtool check rules` and
//     `promtool test rules` on the alert rules; every alert has a severity, a summary and a runbook_url
//     whose anchor exists in docs/OPERATIONS.md.
//   - Compose: every docker/docker-compose*.yml against the Compose specification's JSON schema (shipped in
//     the dclint package), plus references (depends_on, volumes, mounted files, ${VARIABLES} in
//     .env.example, Parley variables known to src/config/config.ts, nginx upstreams, scrape targets).
//     nginx.conf is tested with `nginx -t` when an nginx binary is on PATH (or NGINX_BIN).
//   - Kubernetes: every YAML document under k8s/ against the Kubernetes JSON schemas (kubernetes-models'
//     validators), strictly for unknown fields (TypeScript's excess property check with kubernetes-types),
//     plus what the deployment relies on (probes, drain timing, security context, REPLICA_ID from the pod
//     name, selectors, no /metrics through the Ingress, one image for Deployment and migration Job).
//   - Grafana: provisioning files, dashboards (JSON, unique uids, datasource uids that are provisioned,
//     PromQL that parses).
//   - Metric names: every metric in the dashboards and alert rules is in docs/METRICS.md's catalogue (and,
//     for parley_ metrics, in src/observability/metrics.ts), or is `up` or a prom-client default.
// `--self-test` also breaks copies of the files in a temporary folder, one way at a time, and fails unless
// each break is caught. `--root <dir>` checks another tree.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  cpSync,
  openSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promqlMetrics, withoutGrafanaVariables } from './promql.js';
import { Ajv } from 'ajv';
import { collectDefaultMetrics, Registry } from 'prom-client';
import ts from 'typescript';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

const require = createRequire(import.meta.url);
/** The repository this script was compiled in (the first folder up with a package.json): node_modules. */
const toolRoot = (function findRoot(dir: string): string {
  if (existsSync(path.join(dir, 'package.json'))) return dir;
  const parent = path.dirname(dir);
  if (parent === dir) throw new Error(`no package.json above ${import.meta.dirname}`);
  return findRoot(parent);
})(import.meta.dirname);

type Problems = string[];
type Json = Record<string, unknown>;
interface Check {
  name: string;
  run(root: string): Problems | Promise<Problems>;
}

// ----------------------------------------------------------------------------------------------------
// helpers

const read = (root: string, file: string) => readFileSync(path.join(root, file), 'utf8');
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const asObject = (value: unknown): Json => (isObject(value) ? value : {});
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function filesUnder(root: string, dir: string, pattern: RegExp): string[] {
  const base = path.join(root, dir);
  if (!existsSync(base)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(base, { recursive: true, encoding: 'utf8' })) {
    const full = path.join(base, entry);
    if (statSync(full).isFile() && pattern.test(entry)) found.push(path.join(dir, entry));
  }
  return found.sort();
}

function run(command: string, args: string[], cwd: string): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.error) return { ok: false, output: String(result.error.message) };
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() };
}

function which(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** The variables src/config/config.ts parses (the keys of its zod envSchema). */
function configVariables(root: string): Set<string> {
  const source = read(root, 'src/config/config.ts');
  const body = source.slice(
    source.indexOf('const envSchema = z.object({'),
    source.indexOf('\n});', source.indexOf('const envSchema')),
  );
  return new Set([...body.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((match) => match[1]!));
}

/** GitHub-style anchors of the headings of a markdown file. */
function markdownAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const outsideCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const match of outsideCode.matchAll(/^#{1,6}\s+(.+?)\s*$/gm)) {
    anchors.add(
      match[1]!
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    );
  }
  return anchors;
}

function yamlFile(root: string, file: string, problems: Problems): unknown {
  try {
    return parseYaml(read(root, file), { merge: true });
  } catch (error) {
    problems.push(`${file}: not valid YAML: ${(error as Error).message}`);
    return undefined;
  }
}

// ----------------------------------------------------------------------------------------------------
// Prometheus and alert rules

const prometheusConfigs = (root: string) => filesUnder(root, 'grafana', /^prometheus[^/]*\.ya?ml$/);
const ALERT_RULES = 'grafana/alert_rules.yml';
const ALERT_TESTS = 'grafana/alert_rules.test.yml';

const promtool: Check = {
  name: 'promtool: Prometheus configuration and alert rules',
  run(root) {
    const problems: Problems = [];
    const binary = process.env.PROMTOOL_BIN ?? which('promtool');
    if (!binary) {
      return ['promtool not found: install it (Debian: apt-get install prometheus) or set PROMTOOL_BIN'];
    }
    const configs = prometheusConfigs(root);
    if (configs.length === 0) problems.push('grafana/prometheus.yml is missing');
    for (const file of configs) {
      let result = run(binary, ['check', 'config', file], root);
      if (!result.ok && /field kubernetes_sd_configs not found/.test(result.output)) {
        // Debian's promtool is built without Kubernetes service discovery: check the rest of the file
        // (relabelling, rule files) with that block swapped for a static target.
        console.log(`  (${file}: this promtool has no kubernetes_sd_configs; checking the rest of the file)`);
        const copy = path.join(root, path.dirname(file), `.promtool-${path.basename(file)}`);
        const text = read(root, file).replace(
          /^(\s*)kubernetes_sd_configs:\n(?:\1 .*\n)+/gm,
          (_block, indent: string) => `${indent}static_configs:\n${indent}  - targets: ['pod:8000']\n`,
        );
        writeFileSync(copy, text);
        try {
          result = run(binary, ['check', 'config', path.relative(root, copy)], root);
        } finally {
          rmSync(copy, { force: true });
        }
      }
      if (!result.ok) problems.push(`promtool check config ${file}:\n${result.output}`);
    }
    const rules = run(binary, ['check', 'rules', ALERT_RULES], root);
    if (!rules.ok) problems.push(`promtool check rules ${ALERT_RULES}:\n${rules.output}`);
    if (existsSync(path.join(root, ALERT_TESTS))) {
      const tests = run(binary, ['test', 'rules', ALERT_TESTS], root);
      if (!tests.ok) problems.push(`promtool test rules ${ALERT_TESTS}:\n${tests.output}`);
    }
    return problems;
  },
};

interface AlertRule {
  alert?: string;
  record?: string;
  expr?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function alertRules(root: string, problems: Problems): AlertRule[] {
  const document = asObject(yamlFile(root, ALERT_RULES, problems));
  return asArray(document.groups).flatMap((group) => asArray(asObject(group).rules) as AlertRule[]);
}

const alertConventions: Check = {
  name: 'alert rules: severity, summary, runbook in docs/OPERATIONS.md',
  run(root) {
    const problems: Problems = [];
    const anchors = markdownAnchors(read(root, 'docs/OPERATIONS.md'));
    const severities = new Set<string>();
    const names = new Set<string>();
    for (const rule of alertRules(root, problems)) {
      if (!rule.alert) continue;
      const where = `${ALERT_RULES}: alert ${rule.alert}`;
      if (names.has(rule.alert)) problems.push(`${where}: defined twice`);
      names.add(rule.alert);
      const severity = rule.labels?.severity;
      if (!severity || !['critical', 'warning', 'info'].includes(severity)) {
        problems.push(`${where}: labels.severity must be critical, warning or info (is ${severity})`);
      } else severities.add(severity);
      if (!rule.annotations?.summary) problems.push(`${where}: no annotations.summary`);
      const runbook = rule.annotations?.runbook_url ?? '';
      const match = /^(?:.*\/)?docs\/OPERATIONS\.md#([\w-]+)$/.exec(runbook);
      if (!match)
        problems.push(`${where}: runbook_url must point into docs/OPERATIONS.md#… (is "${runbook}")`);
      else if (!anchors.has(match[1]!))
        problems.push(`${where}: docs/OPERATIONS.md has no heading for #${match[1]}`);
    }
    for (const severity of ['critical', 'warning', 'info']) {
      if (!severities.has(severity)) problems.push(`${ALERT_RULES}: no ${severity} alert`);
    }
    return problems;
  },
};

// ----------------------------------------------------------------------------------------------------
// Compose

const composeFiles = (root: string) => filesUnder(root, 'docker', /^docker-compose[^/]*\.ya?ml$/);

function composeSchemaValidator() {
  const file = path.join(
    path.dirname(require.resolve('dclint/package.json')),
    'schemas',
    'compose.schema.json',
  );
  const schema = JSON.parse(readFileSync(file, 'utf8')) as Json;
  delete schema.$schema; // draft-07, Ajv's default; its https URI is not one Ajv knows by name
  return new Ajv({ allErrors: true, strict: false }).compile(schema);
}

/** `${NAME}`, `${NAME:-default}`, `${NAME:?message}` … in a text; `required` when it has no default. */
function composeVariables(text: string): Map<string, { required: boolean }> {
  const found = new Map<string, { required: boolean }>();
  for (const match of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?/g)) {
    const required = match[2] === undefined || match[2].endsWith('?');
    const before = found.get(match[1]!);
    found.set(match[1]!, { required: required || (before?.required ?? false) });
  }
  return found;
}

const compose: Check = {
  name: 'compose: docker/docker-compose*.yml (Compose specification schema, references)',
  run(root) {
    const problems: Problems = [];
    const files = composeFiles(root);
    if (!files.includes('docker/docker-compose.yml')) return ['docker/docker-compose.yml is missing'];
    const validate = composeSchemaValidator();
    const envExample = existsSync(path.join(root, 'docker/.env.example'))
      ? new Set([...read(root, 'docker/.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!))
      : new Set<string>();
    if (envExample.size === 0) problems.push('docker/.env.example is missing or empty');
    const referenced = new Set<string>();
    const known = configVariables(root);

    for (const file of files) {
      const text = read(root, file);
      const document = yamlFile(root, file, problems);
      if (document === undefined) continue;
      if (!validate(document)) {
        for (const error of validate.errors ?? []) {
          problems.push(
            `${file}${error.instancePath || '/'}: ${error.message} ${JSON.stringify(error.params)}`,
          );
        }
      }
      for (const [name, { required }] of composeVariables(text)) {
        referenced.add(name);
        if (required && !envExample.has(name))
          problems.push(`${file}: \${${name}} has no default and is not in docker/.env.example`);
      }
      const compose = asObject(document);
      const services = asObject(compose.services);
      const volumes = asObject(compose.volumes);
      const main = file === 'docker/docker-compose.yml';
      for (const [name, value] of Object.entries(services)) {
        const service = asObject(value);
        const where = `${file}: service ${name}`;
        const dependsOn = Array.isArray(service.depends_on)
          ? service.depends_on
          : Object.keys(asObject(service.depends_on));
        for (const target of dependsOn as string[]) {
          if (main && !(target in services))
            problems.push(`${where}: depends_on ${target}, which is not a service`);
          const condition = asObject(asObject(service.depends_on)[target]).condition;
          if (condition === 'service_healthy') {
            const other = asObject(services[target]);
            const builtFromDockerfile = isObject(other.build);
            if (!isObject(other.healthcheck) && !builtFromDockerfile)
              problems.push(`${where}: waits for ${target} to be healthy, but it has no healthcheck`);
          }
          if (condition === 'service_completed_successfully' && asObject(services[target]).restart !== 'no') {
            problems.push(`${where}: waits for ${target} to complete, so ${target} needs restart: 'no'`);
          }
        }
        for (const mount of asArray(service.volumes)) {
          const source =
            typeof mount === 'string' ? mount.split(':')[0]! : String(asObject(mount).source ?? '');
          if (source.startsWith('.') || source.startsWith('/')) {
            if (!existsSync(path.resolve(root, path.dirname(file), source)))
              problems.push(`${where}: mounts ${source}, which does not exist`);
          } else if (main && source && !(source in volumes)) {
            problems.push(`${where}: named volume ${source} is not declared under volumes:`);
          }
        }
        const build = asObject(service.build);
        if (typeof build.context === 'string') {
          const context = path.resolve(root, path.dirname(file), build.context);
          if (!existsSync(path.join(context, String(build.dockerfile ?? 'Dockerfile'))))
            problems.push(`${where}: no Dockerfile at ${String(build.dockerfile)}`);
          // Parley's own services: every variable they are given must be one Parley reads.
          const environment = asObject(service.environment);
          for (const variable of Object.keys(environment)) {
            if (!known.has(variable))
              problems.push(`${where}: ${variable} is not a variable of src/config/config.ts`);
          }
        }
      }
      if (main) {
        // nginx's upstream servers and Prometheus' targets are the replicas.
        const replicas = Object.keys(services).filter(
          (name) => asObject(asObject(services[name]).environment).REPLICA_ID,
        );
        if (replicas.length < 2)
          problems.push(`${file}: fewer than two Parley replicas (services with REPLICA_ID)`);
        for (const replica of replicas) {
          if (!asObject(asObject(services[replica]).environment).TRUST_PROXY) {
            problems.push(
              `${file}: service ${replica} is behind nginx but has no TRUST_PROXY (per-address limits would see nginx)`,
            );
          }
        }
        const nginx = existsSync(path.join(root, 'docker/nginx.conf')) ? read(root, 'docker/nginx.conf') : '';
        const upstreams = [...nginx.matchAll(/^\s*server\s+([\w.-]+):8000\b/gm)].map((m) => m[1]!);
        if (upstreams.sort().join() !== [...replicas].sort().join()) {
          problems.push(
            `docker/nginx.conf: upstream servers (${upstreams.join(', ')}) are not the replicas (${replicas.join(', ')})`,
          );
        }
        // WebSockets: the upgrade headers are set, at server level only (a location with a proxy_set_header
        // of its own inherits none of the server's, and the upgrade is silently lost).
        if (
          !/proxy_set_header\s+Upgrade\s+\$http_upgrade;/.test(nginx) ||
          !/proxy_set_header\s+Connection\s+\$connection_upgrade;/.test(nginx)
        ) {
          problems.push(
            'docker/nginx.conf: proxy_set_header Upgrade $http_upgrade and Connection $connection_upgrade are required',
          );
        }
        for (const block of nginx.matchAll(/^\s*location\b[^{]*\{([^}]*)\}/gm)) {
          if (/proxy_set_header/.test(block[1]!))
            problems.push(
              `docker/nginx.conf: a location sets proxy_set_header itself, so it loses the server's (Upgrade, Connection): ${block[0].trim().split('\n')[0]}`,
            );
        }
        const readTimeout = /location\s+=?\s*\/graphql\s*\{[^}]*proxy_read_timeout\s+(\d+)s?;/.exec(
          nginx,
        )?.[1];
        if (!(Number(readTimeout) >= 600))
          problems.push(
            'docker/nginx.conf: location /graphql needs proxy_read_timeout of at least 600 s (idle subscriptions)',
          );
        const scrape = existsSync(path.join(root, 'grafana/prometheus.yml'))
          ? read(root, 'grafana/prometheus.yml')
          : '';
        for (const replica of replicas) {
          if (!scrape.includes(`${replica}:8000`))
            problems.push(`grafana/prometheus.yml: does not scrape ${replica}:8000`);
        }
      }
    }
    for (const name of envExample) {
      if (!referenced.has(name))
        problems.push(`docker/.env.example: ${name} is not used by any compose file`);
    }
    return problems;
  },
};

const nginxConfig: Check = {
  name: 'nginx: docker/nginx.conf (nginx -t, when nginx is installed)',
  run(root) {
    const binary = process.env.NGINX_BIN ?? which('nginx');
    if (!binary) {
      console.log('  (skipped: no nginx binary on PATH; set NGINX_BIN to test docker/nginx.conf)');
      return [];
    }
    const folder = mkdtempSync(path.join(os.tmpdir(), 'check-nginx-'));
    try {
      // Compose service names do not resolve here: test the syntax with loopback addresses instead.
      const text = read(root, 'docker/nginx.conf').replace(
        /^(\s*server\s+)[\w.-]+:(\d+)/gm,
        '$1127.0.0.1:$2',
      );
      writeFileSync(path.join(folder, 'nginx.conf'), text);
      // Output to a file: nginx opens /dev/stdout and /dev/stderr, which fails on Node's socket pipes.
      const log = path.join(folder, 'output.txt');
      const fd = openSync(log, 'w');
      const result = spawnSync(binary, ['-t', '-q', '-p', folder, '-c', path.join(folder, 'nginx.conf')], {
        cwd: folder,
        stdio: ['ignore', fd, fd],
      });
      closeSync(fd);
      const ok = result.status === 0;
      return ok
        ? []
        : [`nginx -t docker/nginx.conf:\n${result.error?.message ?? readFileSync(log, 'utf8').trim()}`];
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  },
};

// ----------------------------------------------------------------------------------------------------
// Kubernetes

interface Manifest {
  file: string;
  index: number;
  doc: Json;
}

const NOT_IN_KUSTOMIZATION = new Set(['k8s/secret.example.yaml', 'k8s/migrate-job.yaml']);

function k8sManifests(root: string, problems: Problems): Manifest[] {
  const manifests: Manifest[] = [];
  for (const file of filesUnder(root, 'k8s', /\.ya?ml$/)) {
    parseAllDocuments(read(root, file)).forEach((document, index) => {
      if (document.errors.length > 0) {
        problems.push(`${file} (document ${index + 1}): ${document.errors.map((e) => e.message).join('; ')}`);
        return;
      }
      const doc = document.toJS() as unknown;
      if (doc === null || doc === undefined) return;
      if (!isObject(doc)) problems.push(`${file} (document ${index + 1}): not a mapping`);
      else manifests.push({ file, index, doc });
    });
  }
  return manifests;
}

const describe = (m: Manifest) =>
  `${m.file} (${String(m.doc.kind)} ${String(asObject(m.doc.metadata).name)})`;

type K8sModel = new (data: unknown) => { validate(): void };

/** kubernetes-models' class for an apiVersion and kind: apps/v1 Deployment → kubernetes-models/apps/v1/Deployment. */
function k8sModel(apiVersion: string, kind: string): K8sModel | undefined {
  try {
    return (require(`kubernetes-models/${apiVersion}/${kind}`) as Record<string, K8sModel>)[kind];
  } catch {
    return undefined;
  }
}

function schemaProblems(manifest: Manifest): Problems {
  const { apiVersion, kind } = manifest.doc;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string')
    return [`${manifest.file}: apiVersion and kind are required`];
  if (apiVersion.startsWith('kustomize.config.k8s.io/')) return [];
  const Model = k8sModel(apiVersion, kind);
  if (!Model) return [`${describe(manifest)}: no Kubernetes schema for ${apiVersion} ${kind}`];
  try {
    new Model(manifest.doc).validate();
    return [];
  } catch (error) {
    return [`${describe(manifest)}: ${(error as Error).message}`];
  }
}

/** kubernetes-types' module for an apiVersion: networking.k8s.io/v1 → kubernetes-types/networking/v1. */
function k8sTypesModule(apiVersion: string): string {
  if (!apiVersion.includes('/')) return `kubernetes-types/core/${apiVersion}`;
  const [group, version] = apiVersion.split('/');
  return `kubernetes-types/${group!.replace(/\.k8s\.io$/, '').replace(/\.authorization$/, '')}/${version}`;
}

/** Unknown fields (typos) and wrong types, by TypeScript's checks of each manifest as an object literal. */
function strictProblems(manifests: Manifest[]): Problems {
  const virtualDir = path.join(toolRoot, '.check-deploy-virtual');
  const sources = new Map<string, { text: string; manifest: Manifest }>();
  for (const manifest of manifests) {
    const { apiVersion, kind } = manifest.doc as { apiVersion?: string; kind?: string };
    if (!apiVersion || !kind || apiVersion.startsWith('kustomize.config.k8s.io/')) continue;
    const file = path.join(virtualDir, `m${sources.size}.ts`);
    const text = `import type { ${kind} } from '${k8sTypesModule(apiVersion)}';\nexport const manifest: ${kind} = ${JSON.stringify(manifest.doc, null, 1)};\n`;
    sources.set(file, { text, manifest });
  }
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    types: [],
    skipLibCheck: true,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, ...rest) => {
    const virtual = sources.get(path.resolve(fileName));
    return virtual
      ? ts.createSourceFile(fileName, virtual.text, language)
      : getSourceFile(fileName, language, ...rest);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => sources.has(path.resolve(fileName)) || fileExists(fileName);
  const program = ts.createProgram([...sources.keys()], options, host);
  const problems: Problems = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const virtual = diagnostic.file && sources.get(path.resolve(diagnostic.file.fileName));
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n    ');
    if (!virtual) {
      problems.push(`kubernetes-types: ${message}`);
      continue;
    }
    const at =
      diagnostic.start === undefined
        ? ''
        : ` near "${virtual.text.slice(diagnostic.start, diagnostic.start + 40).split('\n')[0]}"`;
    problems.push(`${describe(virtual.manifest)}: ${message}${at}`);
  }
  return problems;
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return (
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([key, value]) => labels[key] === value)
  );
}

/** What the deployment depends on beyond the schemas. */
function k8sSemanticProblems(root: string, manifests: Manifest[]): Problems {
  const problems: Problems = [];
  const byKind = (kind: string) => manifests.filter((m) => m.doc.kind === kind);
  const known = configVariables(root);

  // kustomization.yaml lists every manifest but the template and the Job.
  const kustomization = manifests.find((m) => m.file === 'k8s/kustomization.yaml');
  const listed = new Set(asArray(kustomization?.doc.resources).map((r) => path.join('k8s', String(r))));
  if (!kustomization) problems.push('k8s/kustomization.yaml is missing');
  for (const file of listed)
    if (!existsSync(path.join(root, file))) problems.push(`k8s/kustomization.yaml: ${file} does not exist`);
  for (const file of new Set(manifests.map((m) => m.file))) {
    if (file === 'k8s/kustomization.yaml') continue;
    if (NOT_IN_KUSTOMIZATION.has(file) === listed.has(file)) {
      problems.push(
        `k8s/kustomization.yaml: ${file} ${listed.has(file) ? 'must not be listed' : 'is not listed'}`,
      );
    }
  }

  const configMap = byKind('ConfigMap').find((m) => asObject(m.doc.metadata).name === 'parley');
  const secret = byKind('Secret').find((m) => asObject(m.doc.metadata).name === 'parley');
  for (const [name, data] of [
    ['ConfigMap parley', asObject(configMap?.doc.data)],
    ['Secret parley', asObject(secret?.doc.stringData)],
  ] as const) {
    if (Object.keys(data).length === 0) problems.push(`k8s: ${name} is missing or empty`);
    for (const key of Object.keys(data))
      if (!known.has(key)) problems.push(`k8s: ${name}: ${key} is not a variable of src/config/config.ts`);
  }
  for (const [key, value] of Object.entries(asObject(secret?.doc.stringData))) {
    if (!['ADMIN_EMAIL'].includes(key) && !String(value).includes('REPLACE_ME'))
      problems.push(`k8s/secret.example.yaml: ${key} must be a REPLACE_ME placeholder, not a value`);
  }
  if (secret?.doc.data) problems.push('k8s/secret.example.yaml: use stringData placeholders, not data');
  const shutdownMs = Number(asObject(configMap?.doc.data).SHUTDOWN_TIMEOUT_MS ?? 10_000);
  if (!asObject(configMap?.doc.data).TRUST_PROXY) {
    problems.push(
      'k8s: ConfigMap parley has no TRUST_PROXY: behind the ingress, per-address limits would see the controller',
    );
  }

  const deployment = byKind('Deployment').find((m) => asObject(m.doc.metadata).name === 'parley');
  if (!deployment) return [...problems, 'k8s: Deployment parley is missing'];
  const spec = asObject(deployment.doc.spec);
  const template = asObject(spec.template);
  const podLabels = asObject(asObject(template.metadata).labels) as Record<string, string>;
  const pod = asObject(template.spec);
  const container = asObject(asArray(pod.containers)[0]);
  const where = describe(deployment);
  const probePath = (probe: unknown) => asObject(asObject(probe).httpGet).path;
  if (probePath(container.livenessProbe) !== '/health')
    problems.push(`${where}: livenessProbe must GET /health`);
  if (probePath(container.readinessProbe) !== '/health/ready')
    problems.push(`${where}: readinessProbe must GET /health/ready`);
  if (!container.startupProbe) problems.push(`${where}: no startupProbe`);
  const preStop = asArray(asObject(asObject(asObject(container.lifecycle).preStop).exec).command);
  const preStopSeconds = preStop[0] === 'sleep' ? Number(preStop[1]) : NaN;
  if (!(preStopSeconds > 0))
    problems.push(`${where}: preStop must be exec ['sleep', N] (the endpoint is removed before the drain)`);
  const grace = Number(pod.terminationGracePeriodSeconds ?? 30);
  const needed = (preStopSeconds || 0) + shutdownMs / 1000 + 5;
  if (!(grace > needed))
    problems.push(
      `${where}: terminationGracePeriodSeconds ${grace} must exceed preStop + SHUTDOWN_TIMEOUT_MS + 5 s = ${needed}`,
    );
  const podSecurity = asObject(pod.securityContext);
  const containerSecurity = asObject(container.securityContext);
  if (podSecurity.runAsNonRoot !== true && containerSecurity.runAsNonRoot !== true)
    problems.push(`${where}: runAsNonRoot must be true`);
  if (containerSecurity.readOnlyRootFilesystem !== true)
    problems.push(`${where}: readOnlyRootFilesystem must be true`);
  if (containerSecurity.allowPrivilegeEscalation !== false)
    problems.push(`${where}: allowPrivilegeEscalation must be false`);
  if (!asArray(asObject(containerSecurity.capabilities).drop).includes('ALL'))
    problems.push(`${where}: capabilities must drop ALL`);
  const resources = asObject(container.resources);
  for (const kind of ['requests', 'limits']) {
    for (const resource of ['cpu', 'memory'])
      if (!asObject(resources[kind])[resource])
        problems.push(`${where}: resources.${kind}.${resource} missing`);
  }
  if (asArray(pod.topologySpreadConstraints).length === 0)
    problems.push(`${where}: no topologySpreadConstraints`);
  const replicaId = asArray(container.env)
    .map(asObject)
    .find((env) => env.name === 'REPLICA_ID');
  if (asObject(asObject(replicaId?.valueFrom).fieldRef).fieldPath !== 'metadata.name')
    problems.push(`${where}: REPLICA_ID must come from metadata.name (downward API)`);
  const envFrom = asArray(container.envFrom).map(asObject);
  if (
    !envFrom.some((e) => asObject(e.configMapRef).name === 'parley') ||
    !envFrom.some((e) => asObject(e.secretRef).name === 'parley')
  ) {
    problems.push(`${where}: envFrom must name ConfigMap parley and Secret parley`);
  }
  const portNames = new Set(asArray(container.ports).map((p) => asObject(p).name));

  for (const service of byKind('Service')) {
    const selector = asObject(asObject(service.doc.spec).selector) as Record<string, string>;
    const target = manifests.find(
      (m) =>
        ['Deployment'].includes(String(m.doc.kind)) &&
        matches(
          selector,
          asObject(asObject(asObject(asObject(m.doc.spec).template).metadata).labels) as Record<
            string,
            string
          >,
        ),
    );
    if (!target) problems.push(`${describe(service)}: its selector matches no Deployment's pods`);
    if (target === deployment) {
      for (const port of asArray(asObject(service.doc.spec).ports).map(asObject)) {
        if (typeof port.targetPort === 'string' && !portNames.has(port.targetPort))
          problems.push(`${describe(service)}: targetPort ${port.targetPort} is not a container port name`);
      }
    }
  }
  for (const hpa of byKind('HorizontalPodAutoscaler')) {
    const hpaSpec = asObject(hpa.doc.spec);
    if (asObject(hpaSpec.scaleTargetRef).name !== 'parley')
      problems.push(`${describe(hpa)}: must scale Deployment parley`);
    if (Number(hpaSpec.minReplicas) < 2) problems.push(`${describe(hpa)}: minReplicas below 2`);
    if (!asArray(hpaSpec.metrics).some((m) => asObject(asObject(m).resource).name === 'cpu'))
      problems.push(`${describe(hpa)}: no CPU metric`);
  }
  if (byKind('HorizontalPodAutoscaler').length === 0) problems.push('k8s: no HorizontalPodAutoscaler');
  const pdbs = byKind('PodDisruptionBudget');
  if (
    !pdbs.some((pdb) =>
      matches(asObject(asObject(pdb.doc.spec).selector).matchLabels as Record<string, string>, podLabels),
    )
  )
    problems.push('k8s: no PodDisruptionBudget selects the Parley pods');
  const policies = byKind('NetworkPolicy');
  if (
    !policies.some((np) =>
      matches(asObject(asObject(np.doc.spec).podSelector).matchLabels as Record<string, string>, podLabels),
    )
  )
    problems.push('k8s: no NetworkPolicy selects the Parley pods');

  const ingresses = byKind('Ingress');
  if (ingresses.length === 0) problems.push('k8s: no Ingress');
  for (const ingress of ingresses) {
    const annotations = asObject(asObject(ingress.doc.metadata).annotations);
    for (const key of ['proxy-read-timeout', 'proxy-send-timeout', 'affinity']) {
      if (!annotations[`nginx.ingress.kubernetes.io/${key}`])
        problems.push(`${describe(ingress)}: annotation nginx.ingress.kubernetes.io/${key} missing`);
    }
    for (const rule of asArray(asObject(ingress.doc.spec).rules).map(asObject)) {
      for (const entry of asArray(asObject(rule.http).paths).map(asObject)) {
        const route = String(entry.path ?? '/');
        const exposes =
          entry.pathType === 'Exact'
            ? route === '/metrics'
            : '/metrics'.startsWith(route.replace(/\/?$/, '/')) || route === '/metrics';
        if (exposes)
          problems.push(`${describe(ingress)}: path ${route} (${String(entry.pathType)}) exposes /metrics`);
        const backend = asObject(asObject(entry.backend).service).name;
        if (!byKind('Service').some((s) => asObject(s.doc.metadata).name === backend))
          problems.push(`${describe(ingress)}: backend service ${String(backend)} does not exist`);
      }
    }
  }

  const job = byKind('Job').find((m) => m.file === 'k8s/migrate-job.yaml');
  if (!job) problems.push('k8s/migrate-job.yaml: no Job');
  else {
    const jobContainer = asObject(
      asArray(asObject(asObject(asObject(job.doc.spec).template).spec).containers)[0],
    );
    if (jobContainer.image !== container.image)
      problems.push(
        `${describe(job)}: image ${String(jobContainer.image)} differs from the Deployment's ${String(container.image)}`,
      );
    if (asArray(jobContainer.command).join(' ') !== 'node dist/scripts/migrate.js')
      problems.push(`${describe(job)}: must run node dist/scripts/migrate.js`);
  }
  for (const image of asArray(kustomization?.doc.images).map(asObject)) {
    const [name, tag] = String(container.image).split(/:(?=[^:/]+$)/);
    if (image.name === name && image.newTag !== undefined && String(image.newTag) !== tag) {
      problems.push(
        `k8s/kustomization.yaml: images newTag ${String(image.newTag)} differs from ${String(container.image)} in deployment.yaml and migrate-job.yaml`,
      );
    }
  }
  return problems;
}

const kubernetes: Check = {
  name: 'kubernetes: every document under k8s/ (JSON schemas, unknown fields, deployment rules)',
  run(root) {
    const problems: Problems = [];
    const manifests = k8sManifests(root, problems);
    if (manifests.length === 0) return [...problems, 'k8s/: no manifests'];
    for (const manifest of manifests) problems.push(...schemaProblems(manifest));
    problems.push(...strictProblems(manifests));
    problems.push(...k8sSemanticProblems(root, manifests));
    return problems;
  },
};

// ----------------------------------------------------------------------------------------------------
// Grafana

const DASHBOARD_MOUNT = '/etc/grafana/dashboards';

function provisionedDatasourceUids(root: string, problems: Problems): Set<string> {
  const uids = new Set<string>();
  const files = filesUnder(root, 'grafana/provisioning/datasources', /\.ya?ml$/);
  if (files.length === 0) problems.push('grafana/provisioning/datasources: no provisioning file');
  for (const file of files) {
    for (const source of asArray(asObject(yamlFile(root, file, problems)).datasources).map(asObject)) {
      if (typeof source.uid !== 'string')
        problems.push(`${file}: datasource ${String(source.name)} has no uid`);
      else uids.add(source.uid);
    }
  }
  return uids;
}

interface Panel {
  id?: number;
  title?: string;
  type?: string;
  datasource?: { type?: string; uid?: string } | string | null;
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
  gridPos?: unknown;
}

function dashboardPanels(dashboard: { panels?: Panel[] }): Panel[] {
  return (dashboard.panels ?? []).flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Every PromQL expression of a dashboard: panel targets and query variables. */
function dashboardExpressions(dashboard: Json): { where: string; expr: string }[] {
  const found: { where: string; expr: string }[] = [];
  for (const panel of dashboardPanels(dashboard as { panels?: Panel[] })) {
    for (const target of panel.targets ?? [])
      if (target.expr) found.push({ where: `panel "${panel.title}"`, expr: target.expr });
  }
  for (const variable of asArray(asObject(dashboard.templating).list).map(asObject)) {
    if (variable.type !== 'query') continue;
    const query =
      typeof variable.query === 'string' ? variable.query : String(asObject(variable.query).query ?? '');
    const labelValues = /^label_values\((?:(.+),)?\s*\w+\s*\)$/.exec(query.trim());
    const expr = labelValues ? labelValues[1] : /^query_result\((.+)\)$/.exec(query.trim())?.[1];
    if (expr) found.push({ where: `variable ${String(variable.name)}`, expr });
  }
  return found;
}

const dashboardFiles = (root: string) => filesUnder(root, 'grafana/dashboards', /\.json$/);

function loadDashboards(root: string, problems: Problems): { file: string; dashboard: Json }[] {
  const loaded: { file: string; dashboard: Json }[] = [];
  for (const file of dashboardFiles(root)) {
    try {
      loaded.push({ file, dashboard: asObject(JSON.parse(read(root, file))) });
    } catch (error) {
      problems.push(`${file}: not valid JSON: ${(error as Error).message}`);
    }
  }
  return loaded;
}

const grafana: Check = {
  name: 'grafana: provisioning and dashboards (JSON, uids, datasources, PromQL)',
  run(root) {
    const problems: Problems = [];
    const datasourceUids = provisionedDatasourceUids(root, problems);
    const providers = filesUnder(root, 'grafana/provisioning/dashboards', /\.ya?ml$/).flatMap((file) =>
      asArray(asObject(yamlFile(root, file, problems)).providers).map((p) => ({
        file,
        provider: asObject(p),
      })),
    );
    if (providers.length === 0) problems.push('grafana/provisioning/dashboards: no provider');
    const composeText = existsSync(path.join(root, 'docker/docker-compose.yml'))
      ? read(root, 'docker/docker-compose.yml')
      : '';
    for (const { file, provider } of providers) {
      const folder = asObject(provider.options).path;
      if (folder !== DASHBOARD_MOUNT)
        problems.push(
          `${file}: options.path must be ${DASHBOARD_MOUNT} (where docker-compose.yml mounts grafana/dashboards)`,
        );
      if (!composeText.includes(`../grafana/dashboards:${DASHBOARD_MOUNT}`))
        problems.push(`docker/docker-compose.yml: grafana/dashboards is not mounted at ${DASHBOARD_MOUNT}`);
    }
    const dashboards = loadDashboards(root, problems);
    const wanted = ['overview', 'agents', 'debates', 'security', 'breakers'];
    for (const word of wanted)
      if (!dashboards.some(({ file }) => file.includes(word)))
        problems.push(`grafana/dashboards: no dashboard file named for "${word}"`);
    const uids = new Map<string, string>();
    for (const { file, dashboard } of dashboards) {
      const uid = dashboard.uid;
      if (typeof uid !== 'string' || uid.length === 0 || uid.length > 40)
        problems.push(`${file}: uid must be a string of 1-40 characters`);
      else if (uids.has(uid)) problems.push(`${file}: uid ${uid} is also used by ${uids.get(uid)}`);
      else uids.set(uid, file);
      if (typeof dashboard.title !== 'string' || !dashboard.title) problems.push(`${file}: no title`);
      const variables = new Set(
        asArray(asObject(dashboard.templating).list).map((v) => String(asObject(v).name)),
      );
      const checkDatasource = (where: string, datasource: unknown) => {
        if (datasource === undefined || datasource === null) return;
        const uidRef = typeof datasource === 'string' ? datasource : asObject(datasource).uid;
        if (typeof uidRef !== 'string') return problems.push(`${file}: ${where}: datasource without uid`);
        const variable = /^\$\{?(\w+)\}?$/.exec(uidRef)?.[1];
        if (
          variable
            ? !variables.has(variable)
            : !datasourceUids.has(uidRef) && uidRef !== '-- Grafana --' && uidRef !== 'grafana'
        ) {
          problems.push(
            `${file}: ${where}: datasource uid "${uidRef}" is not provisioned (${[...datasourceUids].join(', ')})`,
          );
        }
      };
      const ids = new Set<number>();
      const panels = dashboardPanels(dashboard as { panels?: Panel[] });
      if (panels.length === 0) problems.push(`${file}: no panels`);
      for (const panel of panels) {
        const where = `panel "${panel.title}"`;
        if (typeof panel.id !== 'number' || ids.has(panel.id))
          problems.push(`${file}: ${where}: id missing or repeated`);
        else ids.add(panel.id);
        if (!panel.gridPos) problems.push(`${file}: ${where}: no gridPos`);
        checkDatasource(where, panel.datasource);
        for (const target of panel.targets ?? []) checkDatasource(where, target.datasource);
        if (panel.type !== 'row' && panel.type !== 'text' && (panel.targets ?? []).length === 0)
          problems.push(`${file}: ${where}: no targets`);
      }
      for (const variable of asArray(asObject(dashboard.templating).list).map(asObject)) {
        if (variable.type === 'query')
          checkDatasource(`variable ${String(variable.name)}`, variable.datasource);
      }
      for (const { where, expr } of dashboardExpressions(dashboard)) {
        const parsed = promqlMetrics(withoutGrafanaVariables(expr));
        if (parsed.error)
          problems.push(`${file}: ${where}: PromQL does not parse (${parsed.error}): ${expr}`);
      }
    }
    return problems;
  },
};

// ----------------------------------------------------------------------------------------------------
// Metric names against docs/METRICS.md

/** Names in docs/METRICS.md: backticked metric names, `{a,b}` alternatives expanded, `{labels}` dropped. */
function metricCatalogue(root: string): { names: Set<string>; histograms: Set<string> } {
  const markdown = read(root, 'docs/METRICS.md');
  const names = new Set<string>();
  const histograms = new Set<string>();
  for (const match of markdown.matchAll(/`([a-z_:][a-z0-9_:{},]*)`/g)) {
    let token = match[1]!;
    token = token.replace(/\{[a-z0-9_,]*\}$/, ''); // trailing label list
    const expand = (name: string): string[] => {
      const brace = /\{([a-z0-9_,]+)\}/.exec(name);
      if (!brace) return [name];
      return brace[1]!
        .split(',')
        .flatMap((part) =>
          expand(name.slice(0, brace.index) + part + name.slice(brace.index + brace[0].length)),
        );
    };
    for (const name of expand(token))
      if (/^[a-z_:][a-z0-9_:]*$/.test(name) && name.includes('_')) names.add(name);
  }
  for (const row of markdown.matchAll(/^\|\s*`([a-z_:][a-z0-9_:]*)`\s*\|\s*(histogram|summary)\s*\|/gm))
    histograms.add(row[1]!);
  return { names, histograms };
}

function defaultMetricNames(): Set<string> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return new Set(registry.getMetricsAsArray().map((metric) => (metric as unknown as { name: string }).name));
}

const metricNames: Check = {
  name: 'metric names: dashboards and alert rules use only catalogued metrics (docs/METRICS.md)',
  run(root) {
    const problems: Problems = [];
    const { names, histograms } = metricCatalogue(root);
    const defaults = defaultMetricNames();
    const source = existsSync(path.join(root, 'src/observability/metrics.ts'))
      ? read(root, 'src/observability/metrics.ts')
      : '';
    const allowed = (metric: string): boolean => {
      if (metric === 'up' || defaults.has(metric)) return true;
      if (names.has(metric)) return true;
      const base = metric.replace(/_(bucket|sum|count)$/, '');
      return base !== metric && histograms.has(base);
    };
    const uses: { where: string; expr: string }[] = [];
    for (const rule of alertRules(root, problems)) {
      if (rule.expr) uses.push({ where: `${ALERT_RULES}: ${rule.alert ?? rule.record}`, expr: rule.expr });
    }
    for (const { file, dashboard } of loadDashboards(root, problems)) {
      for (const use of dashboardExpressions(dashboard))
        uses.push({ where: `${file}: ${use.where}`, expr: use.expr });
    }
    const seen = new Set<string>();
    for (const { where, expr } of uses) {
      const parsed = promqlMetrics(withoutGrafanaVariables(expr));
      if (parsed.error) problems.push(`${where}: PromQL does not parse (${parsed.error})`);
      for (const metric of parsed.metrics) {
        seen.add(metric);
        if (!allowed(metric)) problems.push(`${where}: metric ${metric} is not in docs/METRICS.md`);
        const base = metric.replace(/_(bucket|sum|count)$/, '');
        const name = histograms.has(base) ? base : metric;
        if (name.startsWith('parley_') && !source.includes(`'${name}'`) && !source.includes(`"${name}"`)) {
          problems.push(
            `${where}: metric ${name} is in docs/METRICS.md but not in src/observability/metrics.ts`,
          );
        }
      }
    }
    if (seen.size === 0) problems.push('no metric is used by the dashboards or alert rules');
    return problems;
  },
};

// ----------------------------------------------------------------------------------------------------
// Self-test: each break below must be caught by the check named with it.

interface Break {
  what: string;
  check: Check;
  file: string;
  change(text: string): string;
}

const breaks: Break[] = [
  {
    what: 'compose: unknown service key',
    check: compose,
    file: 'docker/docker-compose.yml',
    change: (t) => t.replace(/^ {2}redis:\n/m, '  redis:\n    helthcheck: {}\n'),
  },
  {
    what: 'compose: depends_on a missing service',
    check: compose,
    file: 'docker/docker-compose.yml',
    change: (t) =>
      t.replace(
        /condition: service_healthy/,
        'condition: service_healthy\n    nosuchservice:\n      condition: service_started',
      ),
  },
  {
    what: 'nginx: a location with its own proxy_set_header',
    check: compose,
    file: 'docker/nginx.conf',
    change: (t) =>
      t.replace('proxy_buffering off;', 'proxy_buffering off;\n      proxy_set_header X-Test 1;'),
  },
  {
    what: 'compose: mounted file missing',
    check: compose,
    file: 'docker/docker-compose.yml',
    change: (t) => t.replace('./nginx.conf:', './nginx-missing.conf:'),
  },
  {
    what: 'k8s: wrong type',
    check: kubernetes,
    file: 'k8s/deployment.yaml',
    change: (t) => t.replace('replicas: 2', "replicas: 'two'"),
  },
  {
    what: 'k8s: unknown field',
    check: kubernetes,
    file: 'k8s/deployment.yaml',
    change: (t) => t.replace('readinessProbe:', 'readinesProbe:'),
  },
  { what: 'k8s: broken YAML', check: kubernetes, file: 'k8s/service.yaml', change: (t) => `${t}\n  - : [\n` },
  {
    what: 'k8s: grace period shorter than the drain',
    check: kubernetes,
    file: 'k8s/deployment.yaml',
    change: (t) => t.replace(/terminationGracePeriodSeconds: \d+/, 'terminationGracePeriodSeconds: 12'),
  },
  {
    what: 'k8s: /metrics through the Ingress',
    check: kubernetes,
    file: 'k8s/ingress.yaml',
    change: (t) =>
      t.replace('path: /graphql\n            pathType: Exact', 'path: /\n            pathType: Prefix'),
  },
  {
    what: 'k8s: REPLICA_ID not from the pod name',
    check: kubernetes,
    file: 'k8s/deployment.yaml',
    change: (t) => t.replace('fieldPath: metadata.name', 'fieldPath: metadata.namespace'),
  },
  {
    what: 'prometheus: invalid PromQL in a rule',
    check: promtool,
    file: ALERT_RULES,
    change: (t) => t.replace(/expr: (.+)/, 'expr: sum(rate($1)'),
  },
  {
    what: 'prometheus: invalid scrape config',
    check: promtool,
    file: 'grafana/prometheus.yml',
    change: (t) => t.replace('scrape_interval:', 'scrape_intervall:'),
  },
  {
    what: 'alert rules: runbook anchor missing',
    check: alertConventions,
    file: ALERT_RULES,
    change: (t) => t.replace(/(runbook_url: \S*#)([\w-]+)/, '$1no-such-section'),
  },
  {
    what: 'dashboard: invalid JSON',
    check: grafana,
    file: 'grafana/dashboards/parley-overview.json',
    change: (t) => t.slice(0, -10),
  },
  {
    what: 'dashboard: datasource not provisioned',
    check: grafana,
    file: 'grafana/dashboards/parley-overview.json',
    change: (t) => t.replace(/"uid": "prometheus"/, '"uid": "nosuch"'),
  },
  {
    what: 'dashboard: PromQL does not parse',
    check: grafana,
    file: 'grafana/dashboards/parley-debates.json',
    change: (t) => t.replace(/"expr": "/, '"expr": "sum('),
  },
  {
    what: 'metrics: name not in the catalogue',
    check: metricNames,
    file: 'grafana/dashboards/parley-agents.json',
    change: (t) => t.replace(/parley_ollama_/, 'parley_olama_'),
  },
  {
    what: 'metrics: alert on an unknown metric',
    check: metricNames,
    file: ALERT_RULES,
    change: (t) => t.replace(/parley_breaker_state/, 'parley_breaker_status'),
  },
];

async function selfTest(root: string): Promise<Problems> {
  const problems: Problems = [];
  for (const item of breaks) {
    const copy = mkdtempSync(path.join(os.tmpdir(), 'check-deploy-'));
    try {
      for (const part of [
        'docker',
        'k8s',
        'grafana',
        'docs',
        'src/config/config.ts',
        'src/observability/metrics.ts',
      ]) {
        if (existsSync(path.join(root, part)))
          cpSync(path.join(root, part), path.join(copy, part), { recursive: true });
      }
      const original = read(copy, item.file);
      const changed = item.change(original);
      if (changed === original) {
        problems.push(`self-test "${item.what}": the break did not apply to ${item.file}`);
        continue;
      }
      writeFileSync(path.join(copy, item.file), changed);
      const found = await item.check.run(copy);
      if (found.length === 0) problems.push(`self-test "${item.what}": ${item.check.name} did not notice`);
      else console.log(`  caught "${item.what}": ${found[0]!.split('\n')[0]!.slice(0, 150)}`);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }
  return problems;
}

// ----------------------------------------------------------------------------------------------------

const args = process.argv.slice(2);
const rootIndex = args.indexOf('--root');
const root = path.resolve(rootIndex >= 0 ? args[rootIndex + 1]! : toolRoot);
const checks = [promtool, alertConventions, compose, nginxConfig, kubernetes, grafana, metricNames];
let failed = 0;
for (const check of checks) {
  const problems = await check.run(root);
  console.log(`${problems.length === 0 ? 'ok  ' : 'FAIL'} ${check.name}`);
  for (const problem of problems) console.log(`     - ${problem.replace(/\n/g, '\n       ')}`);
  if (problems.length > 0) failed++;
}
if (args.includes('--self-test')) {
  console.log('self-test: each break must be caught');
  const problems = await selfTest(root);
  console.log(`${problems.length === 0 ? 'ok  ' : 'FAIL'} self-test (${breaks.length} breaks)`);
  for (const problem of problems) console.log(`     - ${problem}`);
  if (problems.length > 0) failed++;
}
if (failed > 0) {
  console.log(`check:deploy: ${failed} check(s) failed`);
  process.exit(1);
}
console.log('check:deploy: all checks passed');
