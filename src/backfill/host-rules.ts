// The host_cpu and io_wait throttle rules, fed by the database host's figures (node_exporter or
// Prometheus, through the HostSignals the run was given). Each returns a verdict for the governor:
//
//   host_cpu  CPU busy (neither idle nor in I/O wait) against the limit sets the batches' duty
//             cycle: each window multiplies it by the CPU left idle over the headroom the limit
//             keeps, (100 - busy) / (100 - limit), between x1/4 and x2. Over the limit it falls in
//             proportion to how far over (a host at 100% quarters it); under, it grows back the same
//             way, and the rule lets go once it reaches 100%. Half duty was not enough when the
//             application alone keeps the host near the limit: the backfill's half still tipped it.
//   io_wait   CPU time waiting on I/O over the limit: half duty (a gap as long as the last batch),
//             so the disks serve the application's reads first; lets go under RELEASE x the limit.
import type { HostFigures, HostReading, HostSignals } from '../engine/ports.js';
import type { RuleVerdict } from './wal-checkpoint-rules.js';
import { formatPercent as pct } from '../util/units.js';

export interface HostRulesConfig {
  /** Percent of CPU busy; 0 = off. */
  hostCpuPct: number;
  /** Percent of CPU time in I/O wait; 0 = off. */
  ioWaitPct: number;
  /** The runbook set a key: a missing endpoint or source is a warning rather than a note. */
  explicit: boolean;
}

export interface HostVerdicts {
  hostCpu?: RuleVerdict | null;
  ioWait?: RuleVerdict | null;
  /** The window's figures; null = the endpoint did not answer, absent = no window yet. */
  figures?: HostFigures | null;
}

/** io_wait lets go under this share of its limit. */
export const HOST_RELEASE = 0.8;
/** host_cpu's duty changes by at most these factors per window, and never falls under MIN_DUTY. */
const CPU_STEP_MIN = 0.25;
const CPU_STEP_MAX = 2;
export const HOST_CPU_MIN_DUTY = 1 / 21;

/** host_cpu's next duty from the current one and a window's CPU busy. */
export function nextCpuDuty(duty: number, busyPct: number, limitPct: number): number {
  const headroom = Math.max(1, 100 - limitPct);
  const step = Math.min(CPU_STEP_MAX, Math.max(CPU_STEP_MIN, (100 - busyPct) / headroom));
  return Math.min(1, Math.max(HOST_CPU_MIN_DUTY, duty * step));
}

export class HostRulesWatch {
  private ioHolding = false;
  /** Share of wall time batches may run under host_cpu (1 = not throttled). */
  private cpuDuty = 1;
  /** The note of the current outage, said once until the endpoint answers again. */
  private outage: string | null = null;

  constructor(
    private readonly cfg: HostRulesConfig,
    private readonly host: HostSignals,
    private readonly log: (level: 'info' | 'warn', message: string) => void,
  ) {}

  async poll(): Promise<HostVerdicts> {
    let r: HostReading;
    try {
      r = await this.host.read();
    } catch (err) {
      r = { ok: false, note: `host figures unavailable from ${this.host.source}: ${(err as Error)?.name ?? 'error'}` };
    }
    if (!r.ok) {
      if (this.outage === null)
        this.log(this.cfg.explicit ? 'warn' : 'info', `${r.note}; host_cpu and io_wait do not hold batches meanwhile`);
      this.outage = r.note;
      // No figures: let go rather than hold the backfill on a signal nobody can see.
      this.cpuDuty = 1;
      this.ioHolding = false;
      return { hostCpu: null, ioWait: null, figures: null };
    }
    if (this.outage !== null) this.log('info', `host figures from ${this.host.source} are back`);
    this.outage = null;
    const f = r.figures;
    if (!f) return {};
    return {
      figures: f,
      ...(this.cfg.hostCpuPct > 0 ? { hostCpu: this.judgeCpu(f) } : {}),
      ...(this.cfg.ioWaitPct > 0 ? { ioWait: this.judgeIoWait(f) } : {}),
    };
  }

  private judgeCpu(f: HostFigures): RuleVerdict | null {
    const limit = this.cfg.hostCpuPct;
    const busy = f.cpuBusyPct;
    if (this.cpuDuty >= 1 && busy <= limit) return null;
    this.cpuDuty = nextCpuDuty(this.cpuDuty, busy, limit);
    if (this.cpuDuty >= 1) return null;
    const where = busy > limit ? 'over' : 'under';
    return {
      detail: `CPU busy ${pct(busy)} on the database host over the last ${f.seconds.toFixed(0)} s, ${where} the ${pct(limit)} limit (${this.host.source}): batches run ${Math.round(this.cpuDuty * 100)}% of the time`,
      gapFactor: 1 / this.cpuDuty - 1,
      // Announced again whenever the duty moves to another power of two: each such step is a decision.
      key: `host_cpu:${Math.round(Math.log2(this.cpuDuty))}`,
    };
  }

  private judgeIoWait(f: HostFigures): RuleVerdict | null {
    const limit = this.cfg.ioWaitPct;
    const bar = this.ioHolding ? limit * HOST_RELEASE : limit;
    this.ioHolding = f.ioWaitPct > bar;
    if (!this.ioHolding) return null;
    const disk =
      f.diskQueueDepth !== null
        ? `, busiest disk queue ${f.diskQueueDepth.toFixed(1)}${f.diskAwaitMs !== null ? `, await ${f.diskAwaitMs.toFixed(1)} ms` : ''}`
        : '';
    return {
      detail: `CPU time in I/O wait ${pct(f.ioWaitPct)} on the database host over the last ${f.seconds.toFixed(0)} s${disk}, over the ${pct(limit)} limit (${this.host.source}): batches run half the time`,
      gapFactor: 1,
    };
  }
}
