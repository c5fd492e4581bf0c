// CPU time (user + system, ms) of a process, its direct children, and the children it has reaped, from
// /proc (Linux): used to measure what an embedded PostgreSQL server (postmaster + backends + walwriter
// ...) spent, which stays meaningful when the machine is shared and wall-clock times are noisy. A backend
// that exits meanwhile leaves its CPU in the postmaster's cutime/cstime.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ = 100 on Linux

interface ProcCpu {
  pid: number;
  ppid: number;
  /** Its own user + system time. */
  ms: number;
  /** That of the children it has reaped. */
  reapedMs: number;
}

/** Every process in /proc with its CPU times (a process that ends while being read is left out). */
function processes(): ProcCpu[] {
  const out: ProcCpu[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      out.push({
        pid: Number(d),
        ppid: Number(f[1]),
        ms: (Number(f[11]) + Number(f[12])) * TICK_MS,
        reapedMs: (Number(f[13]) + Number(f[14])) * TICK_MS,
      });
    } catch {
      /* the process ended meanwhile */
    }
  }
  return out;
}

export function treeCpuMs(rootPid: number | undefined): number {
  if (!rootPid) return 0;
  let total = 0;
  for (const p of processes()) {
    if (p.pid === rootPid) total += p.ms + p.reapedMs;
    else if (p.ppid === rootPid) total += p.ms;
  }
  return total;
}

/**
 * CPU time (ms) of the root's children whose process title matches `title` (e.g. /autovacuum worker/),
 * sampled every `everyMs` until stop(): each such process counts from its first sample (or from
 * the start, for one already running) to its last; up to `everyMs` of each one's end is missed.
 */
export function childCpuSampler(rootPid: number | undefined, title: RegExp, everyMs = 100): { stop(): number } {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const titled = (pid: number) => {
    try {
      return title.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    } catch {
      return false; // it ended meanwhile
    }
  };
  const sample = (fromZero: boolean) => {
    if (!rootPid) return;
    for (const p of processes()) {
      if (p.ppid !== rootPid || !titled(p.pid)) continue;
      if (!first.has(p.pid)) first.set(p.pid, fromZero ? 0 : p.ms);
      last.set(p.pid, p.ms);
    }
  };
  sample(false);
  const timer = setInterval(() => sample(true), everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      sample(true);
      let total = 0;
      for (const [pid, ms] of last) total += ms - (first.get(pid) ?? 0);
      return total;
    },
  };
}
