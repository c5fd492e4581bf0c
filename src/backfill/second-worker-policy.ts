// When the second worker runs (no SQL here: tested with a fake clock). `workers: 1` never; `2`
// whenever no throttle rule but wal_rate is active; `auto` only when it pays:
//
//   single    one worker; its rows/s is measured over windows until two in a row agree within
//             SETTLED (while the tuner still grows the batches, the rate climbs: a baseline taken then
//             would make any second worker look worth keeping). Add the second when enough batches
//             are left, no rule is active, nobody waited on our rows in the last probe window and
//             the server's WAL rate leaves room under `wal_rate` for the pair to gain KEEP_GAIN (the
//             rule paces both workers at its limit, so a trial without that room cannot pay).
//   trial     two workers; their rows/s over a window as long as the single one's. Kept at
//             >= KEEP_GAIN x the single worker's, else stopped: not worth a second connection.
//   kept      two workers until the main pass ends.
//   cooldown  stopped after a trial that did not pay; measured again after COOLDOWN_MS.
//   off       the key range could not be cut: one worker to the end.
//
// A second worker's backend takes about one core of the database host. With the host's CPU figures
// (node_exporter, Prometheus), `auto` starts it only when the host, at its busiest reading of the
// window plus one core, stays within host_cpu (all its cores when host_cpu is off). Without them it
// keeps to one worker while other sessions are running statements: nothing says a core is spare,
// and the rows/s gain does not see the application's latency.
//
// A throttle rule, or sessions waiting on our rows, parks the second worker at once, whatever the
// state: slowing down must never be undone by a second worker. wal_rate is the exception: it paces
// both workers by the cluster's measured WAL rate, so the pair runs at its limit (the engine leaves
// it out of `throttle`). A trial interrupted so goes back to
// `single` (its window is no longer comparable); a kept worker comes back when the rule clears.
import type { Clock } from '../util/clock.js';
import { formatMbps, formatMs, formatPercent as pct } from '../util/units.js';

export type WorkersSetting = 1 | 2 | 'auto';

export const AUTO = { windowMs: 3000, keepGain: 1.15, cooldownMs: 60_000, minBatchesLeft: 50 } as const;
/** Two single-worker windows whose rates differ by at most this share of the larger agree. */
const SETTLED = 0.25;

export interface WorkerSignals {
  /** Rows done by both workers together. */
  rowsDone: number;
  /** Batches left in the main pass at the current size; null = unknown (no row estimate). */
  batchesLeft: number | null;
  /** The active throttle rules that park the second worker (all but wal_rate, which paces both), null = none. */
  throttle: string | null;
  /** Someone waited on our rows in the last probe window. */
  waiters: boolean;
  /** A range row exists already (a resumed split): no batches-left threshold to meet. */
  hasRange: boolean;
  /** The server's WAL bytes/s over the last probe window and the wal_rate limit (0 = off); absent = not read. */
  wal?: { bytesPerSec: number; limit: number };
  /**
   * Other client sessions that ran statements in the last probe window, read while no host endpoint
   * gives CPU figures; absent = not read (the host's CPU is read instead, or the probe is off).
   */
  busySessions?: number;
  /**
   * The database host's CPU over its last window; null = the run has a host endpoint that gives no
   * CPU figures (yet, or now), absent = no host endpoint.
   */
  host?: HostCpu | null;
}

export interface HostCpu {
  busyPct: number;
  cpus: number;
  seconds: number;
  /** The busy share a second worker must leave the host within: host_cpu, or 100 when it is off. */
  limitPct: number;
  source: string;
}

export interface WorkerDecision {
  run: boolean;
  /** A `step.log` line when the decision changed, with its figures. */
  log?: string;
}

type State = 'single' | 'trial' | 'kept' | 'cooldown' | 'off';

const rate = (rows: number, ms: number) => (ms > 0 ? (rows * 1000) / ms : 0);
const perSec = (v: number) => `${Math.round(v).toLocaleString('en-US')} rows/s`;
/** What "no rule" means here: wal_rate may be active, pacing both workers. */
const NO_RULE = 'no throttle rule active (wal_rate aside: it paces both workers)';

/** Why the host has no core for a second worker, from its busiest reading in a window of `ms`; null when it has one. */
function hostFull(h: HostCpu, ms: number): string | null {
  const withSecond = h.busyPct + 100 / h.cpus;
  if (withSecond <= h.limitPct) return null;
  const limit = h.limitPct < 100 ? `over the host_cpu limit of ${pct(h.limitPct)}` : 'more than its cores give';
  return `the database host's CPU reached ${pct(h.busyPct)} busy on ${h.cpus} core${h.cpus === 1 ? '' : 's'} in the last ${formatMs(ms)} (${h.source}, readings over ${h.seconds.toFixed(0)} s); a second worker's core would take it to ${pct(withSecond)}, ${limit}`;
}

export class SecondWorkerPolicy {
  private state: State = 'single';
  private parked = false;
  private window: { at: number; rows: number } | undefined;
  /** The previous single-worker window's rate, until two agree. */
  private lastRate: number | undefined;
  private singleRate = 0;
  private retryAt = 0;
  /** Said once per stretch: the WAL rate leaves no room for a second writer. */
  private walBound = false;
  /** Said once per stretch: the application is at work and no host endpoint shows a spare core. */
  private appBound = false;
  /** Said once per stretch: the host has no core to spare for a second worker. */
  private hostBound = false;
  /** The host endpoint has given CPU figures in this run (a null reading since is an outage). */
  private hostFiguresSeen = false;
  /** The busiest host reading of the current single-worker window. */
  private hostPeak: HostCpu | undefined;

  constructor(
    private readonly setting: WorkersSetting,
    private readonly clock: Clock,
    private readonly opts: { windowMs: number; keepGain: number; cooldownMs: number; minBatchesLeft: number } = AUTO,
  ) {}

  /** Called between the first worker's batches. */
  decide(s: WorkerSignals): WorkerDecision {
    if (this.setting === 1 || this.state === 'off') return { run: false };
    const now = this.clock.now();
    // With the host's CPU figures the start rule reads those instead (measureSingle).
    const busy = this.setting === 'auto' && !s.host ? (s.busySessions ?? 0) : 0;
    if (s.host) this.hostFiguresSeen = true;
    // Why no host shows a spare core, and what the operator can do (said with the first such line).
    // A run's first decisions come before the endpoint's second reading: "yet" is no fault of it.
    const [noHost, advice] =
      s.host !== null
        ? ['this run has no host endpoint', 'pass --node-exporter or --prometheus, or set workers: 2']
        : this.hostFiguresSeen
          ? ['the host endpoint gives no CPU figures now', 'check the endpoint, or set workers: 2']
          : [
              'the host endpoint has given no CPU figures yet',
              'the first takes two readings of it; if none comes, check the endpoint, or set workers: 2',
            ];
    const appAtWork =
      busy > 0
        ? `${busy} other session${busy === 1 ? '' : 's'} ran statements in the last probe window and ${noHost} to show a spare core`
        : null;
    const reason = s.throttle
      ? `throttle ${s.throttle} active`
      : s.waiters
        ? 'sessions waited on our rows in the last probe window'
        : appAtWork;
    if (appAtWork && reason === appAtWork) {
      const d = this.park(reason, advice);
      // The one worker's rate is measured meanwhile: a session busy for a moment (the operator's own
      // query just before the step) then costs no window.
      if (this.state === 'single') this.window ??= { at: now, rows: s.rowsDone };
      return d;
    }
    if (reason) return this.park(reason);
    this.appBound = false;
    const wasParked = this.parked;
    this.parked = false;
    if (this.setting === 2) return this.fixed(s, wasParked);
    switch (this.state) {
      case 'kept':
        return wasParked ? { run: true, log: `second worker back: ${NO_RULE}` } : { run: true };
      case 'cooldown':
        if (now < this.retryAt) return { run: false };
        this.toSingle();
        return { run: false };
      case 'trial':
        return this.judgeTrial(s, now);
      default:
        return this.measureSingle(s, now);
    }
  }

  private fixed(s: WorkerSignals, wasParked: boolean): WorkerDecision {
    if (this.state === 'kept') return wasParked ? { run: true, log: `second worker back: ${NO_RULE}` } : { run: true };
    // No row estimate: the split's block sample finds out whether there are keys to share.
    if (!s.hasRange && s.batchesLeft !== null && s.batchesLeft < 2) return { run: false };
    this.state = 'kept';
    return { run: true, log: 'second worker started (workers: 2)' };
  }

  /** `advice` is given when the application at work is the reason. */
  private park(reason: string, advice?: string): WorkerDecision {
    const appBusy = advice !== undefined;
    const running = this.state === 'kept' || this.state === 'trial';
    if (this.state === 'trial') this.toSingle();
    // Said once per stretch, also when no second worker ran: why auto stays with one.
    const tell = appBusy && !this.appBound;
    if (appBusy) this.appBound = true;
    if (this.parked && !tell) return { run: false };
    this.parked = true;
    if (!running) {
      // A single window with a rule active compares with nothing; the application at work does
      // not slow the one worker down by our doing, so its window goes on.
      if (!appBusy) this.window = undefined;
      return tell ? { run: false, log: `second worker not started: ${reason} (${advice})` } : { run: false };
    }
    return { run: false, log: `second worker parked: ${reason}; it comes back when that clears` };
  }

  private measureSingle(s: WorkerSignals, now: number): WorkerDecision {
    // The window's busiest host reading decides: one quiet second must not start a trial.
    if (s.host && !(this.hostPeak && this.hostPeak.busyPct >= s.host.busyPct)) this.hostPeak = s.host;
    if (!this.window) {
      this.window = { at: now, rows: s.rowsDone };
      return { run: false };
    }
    const ms = now - this.window.at;
    if (ms < this.opts.windowMs) return { run: false };
    const r = rate(s.rowsDone - this.window.rows, ms);
    const prev = this.lastRate;
    this.lastRate = r;
    this.window = { at: now, rows: s.rowsDone };
    const hostPeak = this.hostPeak;
    this.hostPeak = undefined;
    if (prev === undefined || Math.abs(r - prev) > SETTLED * Math.max(r, prev)) return { run: false };
    this.singleRate = r;
    const enough = s.hasRange || (s.batchesLeft !== null && s.batchesLeft >= this.opts.minBatchesLeft);
    if (!enough) return { run: false };
    if (s.wal && s.wal.limit > 0 && this.opts.keepGain * s.wal.bytesPerSec > s.wal.limit) {
      if (this.walBound) return { run: false };
      this.walBound = true;
      return {
        run: false,
        log: `second worker not started: the server writes ${formatMbps(s.wal.bytesPerSec)} of WAL with one worker, too close to the wal_rate limit of ${formatMbps(s.wal.limit)} for two to do ${this.opts.keepGain}x; measured again every ${formatMs(this.opts.windowMs)}`,
      };
    }
    this.walBound = false;
    const full = s.host ? hostFull(hostPeak ?? s.host, ms) : null;
    if (full) {
      if (this.hostBound) return { run: false };
      this.hostBound = true;
      return { run: false, log: `second worker not started: ${full}; measured again every ${formatMs(this.opts.windowMs)}` };
    }
    this.hostBound = false;
    this.state = 'trial';
    this.lastRate = undefined;
    const left = s.hasRange ? 'a key range is already cut off' : `about ${Math.round(s.batchesLeft!)} batches left`;
    return {
      run: true,
      log: `second worker started on its own key range: ${left}, ${NO_RULE}, nobody waited on our rows; one worker did ${perSec(this.singleRate)} over the last ${formatMs(ms)}`,
    };
  }

  private judgeTrial(s: WorkerSignals, now: number): WorkerDecision {
    const ms = now - this.window!.at;
    if (ms < this.opts.windowMs) return { run: true };
    const pair = rate(s.rowsDone - this.window!.rows, ms);
    const gain = this.singleRate > 0 ? pair / this.singleRate : Number.POSITIVE_INFINITY;
    const figures = `two workers did ${perSec(pair)} over ${formatMs(ms)}, one did ${perSec(this.singleRate)} (${gain.toFixed(2)}x)`;
    if (gain >= this.opts.keepGain) {
      this.state = 'kept';
      // A second worker at most doubles the rate: more means the single window ran slow (seen: 7.5x).
      const overstated = gain > 2 ? `; over 2x, so one worker's window ran slower than the walk runs now and the gain is overstated` : '';
      return { run: true, log: `second worker kept: ${figures}, at least ${this.opts.keepGain}x${overstated}` };
    }
    this.state = 'cooldown';
    this.retryAt = now + this.opts.cooldownMs;
    return {
      run: false,
      log: `second worker stopped: ${figures}, under ${this.opts.keepGain}x: not worth a second connection; not tried again for ${formatMs(this.opts.cooldownMs)}`,
    };
  }

  /** The range could not be cut (no keys to share, the split failed): one worker for the rest of the step. */
  cancel(): void {
    this.state = 'off';
  }

  private toSingle(): void {
    this.state = 'single';
    this.window = undefined;
    this.hostPeak = undefined;
    this.lastRate = undefined;
  }
}
