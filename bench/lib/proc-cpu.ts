// CPU time (user + system, ms) of a process, its direct children, and the children it has reaped, from
// /proc (Linux): used to measure what an embedded PostgreSQL server (postmaster + backends + walwriter
// ...) spent, which stays meaningful when the machine is shared and wall-clock times are noisy. A backend
// that exits meanwhile leaves its CPU in the postmaster's cutime/cstime.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ = 100 on Linux

export function treeCpuMs(rootPid: number | undefined): number {
  if (!rootPid) return 0;
  let total = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
      if (Number(d) === rootPid) total += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS;
      else if (Number(f[1]) === rootPid) total += (Number(f[11]) + Number(f[12])) * TICK_MS;
    } catch {
      /* the process ended meanwhile */
    }
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
  const sample = (fromZero: boolean) => {
    if (!rootPid) return;
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const st = readFileSync(`/proc/${d}/stat`, 'utf8');
        const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
        if (Number(f[1]) !== rootPid || !title.test(readFileSync(`/proc/${d}/cmdline`, 'utf8'))) continue;
        const ms = (Number(f[11]) + Number(f[12])) * TICK_MS;
        const pid = Number(d);
        if (!first.has(pid)) first.set(pid, fromZero ? 0 : ms);
        last.set(pid, ms);
      } catch {
        /* the process ended meanwhile */
      }
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
