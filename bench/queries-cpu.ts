// CPU time of other processes from Linux's /proc (bench/queries.ts): the server child, and PostgreSQL —
// the postmaster with every backend it has forked, including backends that exited meanwhile (their time
// moves into the postmaster's cutime/cstime once it reaps them, so the sum never goes backwards).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  ppid: number;
  /** utime + stime, ms. */
  ownMs: number;
  /** cutime + cstime (reaped children), ms. */
  childrenMs: number;
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ms = (index: number) => (Number(fields[index]) / ticksPerSecond) * 1000;
    return { ppid: Number(fields[1]), ownMs: ms(11) + ms(12), childrenMs: ms(13) + ms(14) };
  } catch {
    return undefined; // gone, or not Linux
  }
}

/** CPU ms one process has used so far (all its threads), or undefined. */
export function processCpuMs(pid: number): number | undefined {
  return procStat(pid)?.ownMs;
}

/** CPU ms PostgreSQL has used so far: the postmaster, its live children and its reaped ones. */
export function postgresCpuMs(postmasterPid: number): number | undefined {
  const postmaster = procStat(postmasterPid);
  if (!postmaster) return undefined;
  let total = postmaster.ownMs + postmaster.childrenMs;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat?.ppid === postmasterPid) total += stat.ownMs + stat.childrenMs;
  }
  return total;
}

/** The postmaster's pid from its data directory's postmaster.pid. */
export function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(`${dataDir}/postmaster.pid`, 'utf8').split('\n')[0]!, 10);
    return Number.isInteger(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
