// Parts 2 and 3 of bench/compression.ts: several runs at once on one server (throughput against the
// number of worker threads), and a trivial query's latency from this process while runs execute.
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import {
  probeLatency,
  type ProbeOptions,
  type FinishedRun,
  type Probe,
  type RunClient,
  type RunSpec,
} from './compression-clients.js';
import { ask } from './support/child.js';
import { machineCpuTimes, machinePercent, round1, summarize } from './support/metrics.js';
import type { ServerChildReport } from './support/server-child.js';

export const LATENCY_TARGET_PERCENT = 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cores = os.availableParallelism();

/** `count` runs of `spec` created at once; wall time is from the first mutation sent to the last run's end. */
async function runTogether(client: RunClient, spec: RunSpec, count: number) {
  const machineAtStart = machineCpuTimes();
  const finished = await Promise.all(Array.from({ length: count }, () => client.run(spec)));
  const machine = machinePercent(machineAtStart, machineCpuTimes(), cores);
  const from = Math.min(...finished.map((each) => each.sentAt));
  const to = Math.max(...finished.map((each) => each.endedAt));
  return { finished, from, to, machineCpuPercent: machine };
}

const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const round2 = (value: number) => Number(value.toFixed(2));

/** Total throughput of `count` concurrent runs on one server. */
export async function measureConcurrentRuns(client: RunClient, spec: RunSpec, count: number) {
  const { finished, from, to, machineCpuPercent } = await runTogether(client, spec, count);
  const wallSeconds = (to - from) / 1000;
  return {
    wallSeconds: round2(wallSeconds),
    runsPerSecond: round2(count / wallSeconds),
    MBps: round1((count * spec.sizeBytes) / 1e6 / wallSeconds),
    perRunCompressMBps: round1(mean(finished.map((each) => each.run.compressMBps ?? 0))),
    perRunDecompressMBps: round1(mean(finished.map((each) => each.run.decompressMBps ?? 0))),
    perRunEndToEndSeconds: round2(mean(finished.map((each) => (each.endedAt - each.sentAt) / 1000))),
    machineCpuPercentOfOneCore: machineCpuPercent,
  };
}

const window = (probes: Probe[], from: number, to: number) =>
  probes.filter((probe) => probe.at >= from && probe.at <= to);

function latencyFigures(probes: Probe[], seconds: number, errors: number) {
  return {
    ...summarize(probes.map((probe) => probe.ms)),
    requestsPerSecond: Math.round(probes.length / seconds),
    errors,
    seconds: round1(seconds),
  };
}

/** The probe alone for `seconds`, with the server's event-loop delay and CPU over the same window. */
async function idleWindow(
  server: ChildProcess,
  url: string,
  token: string,
  options: ProbeOptions,
  seconds: number,
) {
  await ask(server, 'measure');
  const machineAt = machineCpuTimes();
  const probe = probeLatency(url, token, options);
  const from = performance.now();
  await sleep(seconds * 1000);
  await probe.stop();
  const measuredSeconds = (performance.now() - from) / 1000;
  const machine = machinePercent(machineAt, machineCpuTimes(), cores);
  const report = await ask<ServerChildReport>(server, 'report');
  return {
    probes: probe.probes,
    figures: latencyFigures(probe.probes, measuredSeconds, probe.errors()),
    server: { eventLoopLagMs: report.lag, cpuPercentOfOneCore: report.cpuPercent },
    machine,
  };
}

/**
 * The probe's latency while `count` runs of `spec` execute — from the first run's STARTED to the last
 * one's end (probes sent in that window) — against its latency with nothing else running on the server:
 * `idleSeconds` before the runs and `idleSeconds` after them, pooled (each window is also reported, as a
 * sign of how much the rest of the machine moved the figures). The server's event-loop delay and CPU
 * cover each window too.
 */
export async function measureLatencyUnderRuns(options: {
  client: RunClient;
  server: ChildProcess;
  url: string;
  token: string;
  spec: RunSpec;
  count: number;
  probe: ProbeOptions;
  idleSeconds: number;
}) {
  const { client, server, url, token, spec, count, probe, idleSeconds } = options;
  const warm = probeLatency(url, token, probe); // connections, JIT and the server's caches
  await sleep(1_000);
  await warm.stop();

  const before = await idleWindow(server, url, token, probe, idleSeconds);

  await ask(server, 'measure');
  const machineAt = machineCpuTimes();
  const loaded = probeLatency(url, token, probe);
  const { finished, to } = await runTogether(client, spec, count);
  await loaded.stop();
  const loadedMachine = machinePercent(machineAt, machineCpuTimes(), cores);
  const loadedServer = await ask<ServerChildReport>(server, 'report');
  const from = Math.min(...finished.map((each: FinishedRun) => each.startedAt ?? each.answeredAt));
  const during = window(loaded.probes, from, to);

  const after = await idleWindow(server, url, token, probe, idleSeconds);

  const idleFigures = latencyFigures(
    [...before.probes, ...after.probes],
    before.figures.seconds + after.figures.seconds,
    before.figures.errors + after.figures.errors,
  );
  const loadedFigures = latencyFigures(during, (to - from) / 1000, loaded.errors());
  const worse = (p: 'p50' | 'p99') => Number(((loadedFigures[p] / idleFigures[p] - 1) * 100).toFixed(1));
  return {
    idle: { ...idleFigures, p99Before: before.figures.p99, p99After: after.figures.p99 },
    duringRuns: loadedFigures,
    p50WorsePercent: worse('p50'),
    p99WorsePercent: worse('p99'),
    targetMet: worse('p99') < LATENCY_TARGET_PERCENT,
    runsCodecMBps: round1(mean(finished.map((each) => each.run.compressMBps ?? 0))),
    server: {
      idleBefore: before.server,
      duringRuns: { eventLoopLagMs: loadedServer.lag, cpuPercentOfOneCore: loadedServer.cpuPercent },
      idleAfter: after.server,
    },
    machineCpuPercentOfOneCore: {
      idleBefore: before.machine,
      duringRuns: loadedMachine,
      idleAfter: after.machine,
    },
  };
}
