import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../src/modules/users/role.js';
import {
  CancelCompressionRunDocument,
  type CompressionAlgorithm,
  CompressionAlgorithmsDocument,
  CompressionRunDocument,
  CompressionRunUpdatedDocument,
  CompressionRunsDocument,
  CreateAgentDocument,
  CreateCompressionRunDocument,
  CreateCompressionSuiteDocument,
  CompressionSuiteDocument,
  CompressionSuiteUpdatedDocument,
  type CreateCompressionRunInput,
} from '../src/sdk/generated/graphql.js';
import { createActor, type Actor } from './support/actors.js';
import { codes, execute } from './support/client.js';
import { query } from './support/database.js';
import { eventually } from './support/eventually.js';
import { startTestServer, type TestServer } from './support/server.js';
import { connectWs, subscribe, type WsClient } from './support/ws.js';

let server: TestServer;
let analyst: Actor;
let other: Actor;
let viewer: Actor;
const sockets: WsClient[] = [];

beforeAll(async () => {
  server = await startTestServer({
    env: {
      JOB_POLL_MS: '200',
      COMPRESSION_WORKERS: '2',
      COMPRESSION_MAX_ACTIVE_PER_USER: '3',
      COMPRESSION_INLINE_MAX_BYTES: '131072',
    },
  });
  analyst = await createActor(server, Role.ANALYST, 'compression-analyst');
  other = await createActor(server, Role.ANALYST, 'compression-other');
  viewer = await createActor(server, Role.VIEWER, 'compression-viewer');
});

afterAll(async () => {
  await Promise.all(sockets.map((socket) => socket.dispose()));
  await server?.close();
});

async function create(input: CreateCompressionRunInput, actor = analyst) {
  return execute(server.url, CreateCompressionRunDocument, { input }, { token: actor.token });
}

async function finished(id: string, actor = analyst) {
  return eventually(
    async () => {
      const run = (await execute(server.url, CompressionRunDocument, { id }, { token: actor.token })).data
        ?.compressionRun;
      return run && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(run.status) ? run : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: `run ${id} to finish` },
  );
}

describe('compression runs', () => {
  it('lists the four algorithms with their level ranges', async () => {
    const result = await execute(server.url, CompressionAlgorithmsDocument, {}, { token: viewer.token });
    expect(result.data?.compressionAlgorithms.map((each) => each.algorithm)).toEqual([
      'GZIP',
      'DEFLATE',
      'BROTLI',
      'ZSTD',
    ]);
    for (const each of result.data!.compressionAlgorithms) {
      expect(each.minLevel).toBeLessThanOrEqual(each.defaultLevel);
      expect(each.defaultLevel).toBeLessThanOrEqual(each.maxLevel);
    }
  });

  it('runs every algorithm over every corpus kind, verifying the round trip, and streams the run', async () => {
    const ids: string[] = [];
    for (const algorithm of ['GZIP', 'DEFLATE', 'BROTLI', 'ZSTD'] as const) {
      for (const kind of ['TEXT', 'JSON', 'LOGS', 'RANDOM'] as const) {
        const created = await create({
          algorithm,
          data: { corpus: { kind, sizeBytes: 64 * 1024, seed: 7 } },
        });
        expect(created.errors).toBeUndefined();
        ids.push(created.data!.createCompressionRun.id);
        // One at a time per user is plenty here: the per-user limit is 3.
        await finished(ids.at(-1)!);
      }
    }
    const runs = await Promise.all(ids.map((id) => finished(id)));
    for (const run of runs) {
      expect(run).toMatchObject({ status: 'SUCCEEDED', roundTripOk: true, inputBytes: 64 * 1024 });
      expect(run.inputChecksum).toMatch(/^[0-9a-f]{64}$/);
      expect(run.outputBytes).toBeGreaterThan(0);
      expect(run.compressMBps).toBeGreaterThan(0);
    }
    // Same corpus, same bytes: every run of one kind saw the same checksum.
    const byKind = new Map<string, Set<string>>();
    for (const run of runs)
      byKind.set(run.corpusKind!, (byKind.get(run.corpusKind!) ?? new Set()).add(run.inputChecksum!));
    for (const checksums of byKind.values()) expect(checksums.size).toBe(1);
    // Text compresses; random data does not.
    const text = runs.find((run) => run.corpusKind === 'TEXT')!;
    const random = runs.find((run) => run.corpusKind === 'RANDOM')!;
    expect(text.ratio).toBeGreaterThan(2);
    expect(random.ratio).toBeLessThan(1.05);
  });

  it('takes inline text and base64, keeps only the size and checksum by default, and streams events', async () => {
    const created = await create({
      algorithm: 'GZIP' as const,
      level: 9,
      data: { text: 'hello '.repeat(1000) },
    });
    const id = created.data!.createCompressionRun.id;
    const ws = connectWs(server.wsUrl, viewer.token);
    sockets.push(ws);
    const events = subscribe(ws, CompressionRunUpdatedDocument, { id, afterSeq: 0 });
    const run = await finished(id);
    expect(run).toMatchObject({ status: 'SUCCEEDED', inputKind: 'TEXT', inputBytes: 6000, level: 9 });
    await eventually(() =>
      events.received.some((event) => event.compressionRunUpdated.type === 'SUCCEEDED') ? true : undefined,
    );
    expect(
      events.received.map((event) => event.compressionRunUpdated.type).filter((type) => type !== 'PROGRESS'),
    ).toEqual(['QUEUED', 'STARTED', 'SUCCEEDED']);
    const [row] = await query<{ input: Buffer | null }>(
      server.databaseUrl,
      'select input from compression_runs where id = $1',
      [id],
    );
    expect(row!.input).toBeNull();

    const kept = await create({
      algorithm: 'ZSTD' as const,
      data: { base64: Buffer.from('keep me, please').toString('base64') },
      keepInput: true,
    });
    const keptId = kept.data!.createCompressionRun.id;
    expect((await finished(keptId)).status).toBe('SUCCEEDED');
    const [keptRow] = await query<{ input: Buffer | null }>(
      server.databaseUrl,
      'select input from compression_runs where id = $1',
      [keptId],
    );
    expect(keptRow!.input?.toString()).toBe('keep me, please');
  });

  it('refuses bad input with typed errors naming the field, queueing nothing', async () => {
    const before = await query(server.databaseUrl, 'select 1 from compression_runs');
    const cases: [CreateCompressionRunInput, string][] = [
      [{ algorithm: 'GZIP' as const, level: 10, data: { text: 'x' } }, 'level'],
      [{ algorithm: 'BROTLI' as const, level: -1, data: { text: 'x' } }, 'level'],
      [{ algorithm: 'GZIP' as const, data: { base64: 'not base64!' } }, 'data.base64'],
      [{ algorithm: 'GZIP' as const, data: {} }, 'data'],
      [
        {
          algorithm: 'GZIP' as const,
          data: { text: 'x', corpus: { kind: 'TEXT' as const, sizeBytes: 10 } },
        },
        'data',
      ],
      [{ algorithm: 'GZIP' as const, data: { text: '' } }, 'data.text'],
      [{ algorithm: 'GZIP' as const, data: { text: 'x'.repeat(131_073) } }, 'data.text'],
      [
        { algorithm: 'GZIP' as const, data: { base64: Buffer.alloc(131_073).toString('base64') } },
        'data.base64',
      ],
      [
        {
          algorithm: 'GZIP' as const,
          data: { corpus: { kind: 'TEXT' as const, sizeBytes: 257 * 1024 * 1024 } },
        },
        'data.corpus.sizeBytes',
      ],
      [
        {
          algorithm: 'GZIP' as const,
          data: { text: 'x' },
          agentId: '00000000-0000-4000-8000-000000000000',
        },
        'agentId',
      ],
    ];
    for (const [input, field] of cases) {
      const result = await create(input);
      expect(codes(result), JSON.stringify(input).slice(0, 120)).toEqual(['BAD_USER_INPUT']);
      expect(JSON.stringify(result.errors)).toContain(field);
    }
    const unknownAlgorithm = await execute(
      server.url,
      CreateCompressionRunDocument,
      { input: { algorithm: 'LZMA' as CompressionAlgorithm, data: { text: 'x' } } },
      { token: analyst.token },
    );
    expect(codes(unknownAlgorithm)).toEqual(['BAD_USER_INPUT']);
    const viewerTry = await create({ algorithm: 'GZIP' as const, data: { text: 'x' } }, viewer);
    expect(codes(viewerTry)).toEqual(['FORBIDDEN']);
    expect(await query(server.databaseUrl, 'select 1 from compression_runs')).toHaveLength(before.length);
  });

  it('lets an agent that supports the algorithm execute a run, and refuses one that does not', async () => {
    const operator = await createActor(server, Role.OPERATOR, 'compression-operator');
    const agent = await execute(
      server.url,
      CreateAgentDocument,
      { input: { name: 'zipper', model: 'llama3.2:3b', supportedAlgorithms: ['ZSTD' as const] } },
      { token: operator.token },
    );
    const agentId = agent.data!.createAgent.id;
    const refused = await create({ algorithm: 'GZIP' as const, data: { text: 'abc' }, agentId });
    expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
    expect(refused.errors![0]!.message).toContain('does not support GZIP');
    const accepted = await create({
      algorithm: 'ZSTD' as const,
      data: { text: 'abc'.repeat(100) },
      agentId,
    });
    const run = await finished(accepted.data!.createCompressionRun.id);
    expect(run).toMatchObject({ status: 'SUCCEEDED', agent: { id: agentId, name: 'zipper' } });
    const listed = await execute(
      server.url,
      CompressionRunsDocument,
      { first: 10, filter: { agentId } },
      { token: viewer.token },
    );
    expect(listed.data?.compressionRuns.nodes.map((each) => each.id)).toEqual([run.id]);
  });

  it('cancels a queued or running run, refuses to cancel a finished one or someone else’s', async () => {
    // A big corpus keeps the two workers busy long enough to cancel.
    const big = await create({
      algorithm: 'BROTLI' as const,
      level: 11,
      data: { corpus: { kind: 'TEXT' as const, sizeBytes: 32 * 1024 * 1024 } },
    });
    const id = big.data!.createCompressionRun.id;
    const theirs = await execute(server.url, CancelCompressionRunDocument, { id }, { token: other.token });
    expect(codes(theirs)).toEqual(['FORBIDDEN']);
    const cancelled = await execute(
      server.url,
      CancelCompressionRunDocument,
      { id },
      { token: analyst.token },
    );
    expect(cancelled.errors).toBeUndefined();
    const run = await finished(id);
    expect(run.status).toBe('CANCELLED');
    expect(run.outputBytes).toBeNull();
    const again = await execute(server.url, CancelCompressionRunDocument, { id }, { token: analyst.token });
    expect(codes(again)).toEqual(['CONFLICT']);
  });

  it('a suite runs one input across algorithms and levels, streams each run, and compares them when done', async () => {
    const created = await execute(
      server.url,
      CreateCompressionSuiteDocument,
      {
        input: {
          data: { text: 'the quick brown fox jumps over the lazy dog. '.repeat(2000) },
          runs: [
            { algorithm: 'GZIP', level: 1 },
            { algorithm: 'GZIP', level: 9 },
            { algorithm: 'BROTLI' },
            { algorithm: 'ZSTD', level: 19 },
          ],
        },
      },
      { token: analyst.token },
    );
    expect(created.errors).toBeUndefined();
    const suite = created.data!.createCompressionSuite;
    // In the order `compressionAlgorithms` lists the algorithms, then by level.
    expect(suite.runs.map((run) => `${run.algorithm}:${run.level}`)).toEqual([
      'GZIP:1',
      'GZIP:9',
      'BROTLI:5',
      'ZSTD:19',
    ]);
    expect(suite.comparison).toBeNull();
    const ws = connectWs(server.wsUrl, viewer.token);
    sockets.push(ws);
    const events = subscribe(ws, CompressionSuiteUpdatedDocument, { id: suite.id, afterSeq: 0 });
    const done = await eventually(
      async () => {
        const result = await execute(
          server.url,
          CompressionSuiteDocument,
          { id: suite.id },
          { token: viewer.token },
        );
        return result.data?.compressionSuite.status === 'COMPLETE' ? result.data.compressionSuite : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'the suite to complete' },
    );
    expect(done.runs.every((run) => run.status === 'SUCCEEDED' && run.roundTripOk)).toBe(true);
    // Every run saw the same bytes.
    expect(new Set(done.runs.map((run) => run.inputChecksum)).size).toBe(1);
    const table = done.comparison!;
    expect(table).toHaveLength(4);
    const ratios = table.map((row) => row.ratio!);
    expect(ratios).toEqual([...ratios].sort((a, b) => b - a));
    expect(table.filter((row) => row.bestRatio)).toHaveLength(1);
    expect(table[0]!.bestRatio).toBe(true);
    expect(table.filter((row) => row.fastestCompression)).toHaveLength(1);
    await eventually(() =>
      events.received.some((event) => event.compressionSuiteUpdated.type === 'COMPLETED') ? true : undefined,
    );
    const types = events.received.map((event) => event.compressionSuiteUpdated);
    expect(types.filter((event) => event.type === 'RUN_FINISHED').map((event) => event.finishedRuns)).toEqual(
      [1, 2, 3, 4],
    );
    expect(types.at(-1)).toMatchObject({ type: 'COMPLETED', finishedRuns: 4, totalRuns: 4 });
    // The inline data was stored once, on the suite, and dropped when it completed.
    const [row] = await query<{ input: Buffer | null }>(
      server.databaseUrl,
      'select input from compression_suites where id = $1',
      [suite.id],
    );
    expect(row!.input).toBeNull();
    const runInputs = await query(
      server.databaseUrl,
      'select 1 from compression_runs where suite_id = $1 and input is not null',
      [suite.id],
    );
    expect(runInputs).toEqual([]);
  });

  it('refuses a suite with one run, a repeated pair or a level out of range', async () => {
    const suite = (runs: { algorithm: 'GZIP' | 'ZSTD'; level?: number }[]) =>
      execute(
        server.url,
        CreateCompressionSuiteDocument,
        { input: { data: { text: 'x' }, runs } },
        { token: analyst.token },
      );
    expect(codes(await suite([{ algorithm: 'GZIP' }]))).toEqual(['BAD_USER_INPUT']);
    const repeated = await suite([{ algorithm: 'GZIP', level: 6 }, { algorithm: 'GZIP' }]);
    expect(codes(repeated)).toEqual(['BAD_USER_INPUT']);
    expect(repeated.errors![0]!.message).toContain('GZIP:6 is listed twice');
    const outOfRange = await suite([{ algorithm: 'GZIP' }, { algorithm: 'ZSTD', level: 23 }]);
    expect(JSON.stringify(outOfRange.errors)).toContain('runs.1.level');
  });

  it('limits how many runs one user may have queued or running', async () => {
    const spec = {
      algorithm: 'BROTLI' as const,
      level: 11,
      data: { corpus: { kind: 'JSON' as const, sizeBytes: 16 * 1024 * 1024 } },
    };
    const accepted = [await create(spec, other), await create(spec, other), await create(spec, other)];
    for (const each of accepted) expect(each.errors).toBeUndefined();
    const fourth = await create(spec, other);
    expect(codes(fourth)).toEqual(['RATE_LIMITED']);
    expect(fourth.errors![0]!.extensions).toMatchObject({ retryAfter: 5 });
    for (const each of accepted)
      await execute(
        server.url,
        CancelCompressionRunDocument,
        { id: each.data!.createCompressionRun.id },
        { token: other.token },
      );
  });
});
