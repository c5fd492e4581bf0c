// CPU time (user + system, ms) of a process and its direct children from /proc (Linux): used to
// measure what an embedded PostgreSQL server (postmaster + backends + walwriter ...) spent, which
// stays meaningful when the machine is shared and wall-clock times are noisy.
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
      if (Number(d) === rootPid || Number(f[1]) === rootPid) total += (Number(f[11]) + Number(f[12])) * TICK_MS;
    } catch {
      /* the process ended meanwhile */
    }
  }
  return total;
}
