// The wal_rate and checkpoint_pressure throttle rules, fed by two readings of the server's WAL and
// checkpoint counters (pg/server-pressure.ts) per probe interval. Each returns a verdict for the
// governor: a gap of `gapFactor` x the last batch before the next one, or null when it lets go.
//
//   wal_rate             WAL bytes/s over the window above the limit: scale the batches' duty cycle by
//                        limit / rate (gap = batch x (1/duty - 1)); the duty grows back the same way,
//                        at most 2x a window, and the rule lets go once it would reach 100%.
//                        The default limit applies only while something takes the WAL (a standby, a
//                        replication slot, the archive: pg/wal-consumers.ts), read again every 10 s.
//   checkpoint_pressure  a checkpoint was requested (WAL filled max_wal_size before checkpoint_timeout):
//                        run at half duty (gap = last batch) until none was requested for the hold time.
import type { ServerPressureReading, ServerPressureSample, ServerPressureWindow } from '../pg/server-pressure.js';
import { pressureWindow } from '../pg/server-pressure.js';
import { defaultWalRateApplies, describeWalConsumers, NO_WAL_CONSUMERS, type WalConsumers } from '../pg/wal-consumers.js';
import { formatMbps } from '../util/units.js';

export interface RuleVerdict {
  detail: string;
  gapFactor: number;
  /** A verdict with a new key is announced again (a new event), e.g. when a duty cycle moved a step. */
  key?: string;
}

export interface WalCheckpointConfig {
  /** WAL bytes per second; 0 = off. */
  walRateBytes: number;
  /** Hold the back-off this long after the last requested checkpoint; 0 = off. */
  checkpointPressureMs: number;
  /** The runbook set a key: a missing source is a warning rather than a note. */
  explicit: boolean;
  /** walRateBytes is the default, not the runbook's: it applies only while something takes the WAL. */
  walRateByDefault?: boolean;
}

/** Each rule's verdict this round: undefined = no news (first reading, skipped probe). */
export interface WalCheckpointVerdicts {
  walRate?: RuleVerdict | null;
  checkpointPressure?: RuleVerdict | null;
  window?: ServerPressureWindow;
}

/** The longest gap the WAL rule asks for, as a multiple of the last batch (duty cycle >= 1/21). */
const MAX_GAP_FACTOR = 20;
/** The smallest share of wall time wal_rate leaves the batches. */
export const WAL_RATE_MIN_DUTY = 1 / (1 + MAX_GAP_FACTOR);
/**
 * A window this close over the limit does not start the rule: gaps of under 5% of the time are
 * within one window's noise, and starting on them announced "WAL written at 50 MB/s over the 50 MB/s
 * limit: batches run 100% of the time".
 */
const WAL_RATE_START_OVER = 1.05;
/** How often the WAL's consumers are read again (a standby can connect mid-walk). */
const CONSUMERS_EVERY_MS = 10_000;

/** The rate as formatMbps says it, with a decimal more where it would read the same as the limit ("50.2 MB/s over the 50 MB/s limit"). */
function rateNextTo(rate: number, limit: number): string {
  const mb = rate / 1024 ** 2;
  return formatMbps(rate) === formatMbps(limit) ? `${mb.toFixed(mb < 10 ? 2 : 1)} MB/s` : formatMbps(rate);
}

export class WalCheckpointWatch {
  private last: ServerPressureSample | undefined;
  private stopped = false;
  /** Share of wall time the batches may run under wal_rate (1 = not throttled). */
  private duty = 1;
  private lastRequestedAt = -Infinity;
  private lastCheckpointDetail = '';
  private autovacuumSeen: string | null = null;
  /** Who takes the WAL, as last read; undefined until read or when unreadable (the default then applies). */
  private consumers: WalConsumers | undefined;
  private consumersReadAt = -Infinity;

  constructor(
    private readonly cfg: WalCheckpointConfig,
    private readonly table: string,
    private readonly read: () => Promise<ServerPressureReading | undefined>,
    private readonly log: (level: 'info' | 'warn', message: string) => void,
    private readonly readConsumers?: () => Promise<WalConsumers | undefined>,
  ) {}

  /** The wal_rate limit in force: 0 when off, or when the default is left off for want of WAL consumers. */
  get walLimit(): number {
    return !this.cfg.walRateByDefault || defaultWalRateApplies(this.consumers) ? this.cfg.walRateBytes : 0;
  }

  async poll(): Promise<WalCheckpointVerdicts> {
    if (this.stopped) return {};
    const r = await this.read();
    if (!r) return {};
    if (!r.ok) {
      if (r.sqlstate === '57014' || r.sqlstate === '55P03') return {}; // busy: skip this round
      this.stopped = true;
      this.log(this.cfg.explicit ? 'warn' : 'info', r.note);
      return {};
    }
    this.noteAutovacuum(r.autovacuumPhase);
    await this.checkConsumers(r.at);
    const prev = this.last;
    this.last = r;
    const w = prev ? pressureWindow(prev, r) : null;
    if (!w) return {};
    return {
      window: w,
      ...(this.cfg.walRateBytes > 0 ? { walRate: this.walVerdict(w) } : {}),
      ...(this.cfg.checkpointPressureMs > 0 ? { checkpointPressure: this.checkpointVerdict(w, r.at) } : {}),
    };
  }

  private walVerdict(w: ServerPressureWindow): RuleVerdict | null {
    const limit = this.walLimit;
    if (limit <= 0) {
      this.duty = 1;
      return null;
    }
    const rate = w.walBytesPerSec;
    const wasActive = this.duty < 1;
    if (!wasActive && rate <= limit * WAL_RATE_START_OVER) return null;
    // Grows back at most 2x a window: a window that fell mostly into the gaps reads far under the
    // limit, and jumping straight back to full duty made the rule fire and let go in turn.
    const next = Math.min(2 * this.duty, rate > 0 ? (this.duty * limit) / rate : 1);
    if (next >= 1) {
      this.duty = 1;
      return null;
    }
    this.duty = Math.max(WAL_RATE_MIN_DUTY, next);
    const gapFactor = 1 / this.duty - 1;
    // At the floor the WAL can stay over the limit: the rule slows the walk, it never stops it.
    const floor = next < WAL_RATE_MIN_DUTY ? ', the least this rule allows' : '';
    return {
      detail: `WAL written at ${rateNextTo(rate, limit)} over the last ${w.seconds.toFixed(1)} s, ${rate > limit ? 'over' : 'under'} the ${formatMbps(limit)} limit: batches run ${Math.min(99, Math.round(this.duty * 100))}% of the time${floor}`,
      gapFactor,
    };
  }

  private checkpointVerdict(w: ServerPressureWindow, at: number): RuleVerdict | null {
    if (w.checkpointsRequested > 0) {
      this.lastRequestedAt = at;
      this.lastCheckpointDetail = `${w.checkpointsRequested} checkpoint(s) requested (${w.checkpointsTimed} timed) in the last ${w.seconds.toFixed(1)} s, ${w.buffersWritten} buffers written: WAL fills max_wal_size (${w.maxWalSize}) before checkpoint_timeout`;
    }
    if (at - this.lastRequestedAt > this.cfg.checkpointPressureMs) return null;
    return { detail: this.lastCheckpointDetail, gapFactor: 1 };
  }

  /** With the default limit: who takes the WAL now; the log says when that turns the limit on or off. */
  private async checkConsumers(at: number): Promise<void> {
    if (!this.cfg.walRateByDefault || !this.readConsumers || this.cfg.walRateBytes <= 0 || at - this.consumersReadAt < CONSUMERS_EVERY_MS)
      return;
    const before = this.walLimit;
    this.consumersReadAt = at;
    this.consumers = await this.readConsumers();
    const limit = formatMbps(this.cfg.walRateBytes);
    if (this.walLimit === 0 && before > 0)
      this.log(
        'info',
        `wal_rate's default limit of ${limit} is not applied: ${NO_WAL_CONSUMERS}. Set throttle.wal_rate to pace the WAL anyway`,
      );
    else if (this.walLimit > 0 && before === 0)
      this.log(
        'info',
        `wal_rate's default limit of ${limit} applies from now: ${this.consumers ? describeWalConsumers(this.consumers) : "the WAL's consumers could not be read"}`,
      );
  }

  private noteAutovacuum(phase: string | null): void {
    if (phase && !this.autovacuumSeen)
      this.log('info', `a VACUUM (autovacuum or manual) is working on ${this.table} (${phase}) while this step writes to it`);
    this.autovacuumSeen = phase;
  }
}
