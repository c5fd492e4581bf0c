// Progress for the gauges: rows done, an estimated total, rate and ETA. Constant memory: the rate
// is a smoothed value updated at most twice a second, never a list of batches. Emission is rate
// limited (a few events per second at most), except when forced at pass changes and at the end.
import type { BackfillProgress } from '../engine/events.js';
import type { Clock } from '../util/clock.js';

export interface ProgressInput {
  rowsDone: number;
  keysDone: number;
  batches: number;
  batchSize: number;
  pauseMs: number;
  lastBatchMs: number;
  pass: BackfillProgress['pass'];
  paused: boolean;
  throttle: string | null;
  workers?: BackfillProgress['workers'];
}

export interface TotalEstimate {
  /** reltuples (or n_live_tup) of the table when the backfill started. */
  tableRows: number | null;
  /** EXPLAIN's estimate of rows matching `where`; null when there is no `where`. */
  matchingRows: number | null;
  hasWhere: boolean;
}

/**
 * Estimated rows to update in total. Without `where`: the table's row estimate. With `where`: the
 * planner's guess until enough keys were walked, then the observed share of matching rows applied
 * to the keys still ahead. Once the rows done pass an estimate, that estimate was wrong (stale
 * statistics on a table never analyzed): the total is unknown, not "100%" of a running backfill.
 */
export function estimateTotal(e: TotalEstimate, rowsDone: number, keysDone: number): number | null {
  const unlessPassed = (total: number | null): number | null => (total === null || rowsDone > total ? null : total);
  if (!e.hasWhere) return unlessPassed(e.tableRows);
  if (e.tableRows !== null && keysDone > e.tableRows) return null;
  if (e.tableRows !== null && keysDone >= 1000) {
    const share = rowsDone / keysDone;
    return Math.round(rowsDone + (e.tableRows - keysDone) * share);
  }
  return unlessPassed(e.matchingRows === null ? null : Math.round(e.matchingRows));
}

const EMIT_EVERY_MS = 250;
const RATE_WINDOW_MS = 500;

export class ProgressTracker {
  private lastEmitAt = -Infinity;
  private rateAt: number | undefined;
  private rateRows = 0;
  private rate = 0;
  private startAt = 0;
  private startRows = 0;

  constructor(
    private readonly clock: Clock,
    private readonly estimate: TotalEstimate,
    private readonly emit: (p: BackfillProgress) => void,
  ) {}

  /** Emits when due (or when `force`). Returns whether it emitted. */
  update(p: ProgressInput, force = false): boolean {
    const now = this.clock.now();
    this.updateRate(now, p.rowsDone);
    if (!force && now - this.lastEmitAt < EMIT_EVERY_MS) return false;
    this.lastEmitAt = now;
    const total = estimateTotal(this.estimate, p.rowsDone, p.keysDone);
    const remaining = total === null ? null : Math.max(0, total - p.rowsDone);
    // Before the first full rate window: the average so far.
    const rate = this.rate > 0 ? this.rate : now > this.startAt ? ((p.rowsDone - this.startRows) * 1000) / (now - this.startAt) : 0;
    this.emit({
      rowsDone: p.rowsDone,
      rowsTotal: total,
      batches: p.batches,
      batchSize: p.batchSize,
      pauseMs: p.pauseMs,
      rate: Math.round(rate),
      etaSeconds: remaining === null ? null : remaining === 0 ? 0 : rate > 0 ? Math.round(remaining / rate) : null,
      lastBatchMs: Math.round(p.lastBatchMs),
      pass: p.pass,
      paused: p.paused,
      throttle: p.throttle,
      ...(p.workers ? { workers: p.workers } : {}),
    });
    return true;
  }

  get rowsPerSecond(): number {
    return this.rate;
  }

  private updateRate(now: number, rowsDone: number): void {
    if (this.rateAt === undefined) {
      this.rateAt = this.startAt = now;
      this.rateRows = this.startRows = rowsDone;
      return;
    }
    const dt = now - this.rateAt;
    if (dt < RATE_WINDOW_MS) return;
    const instant = ((rowsDone - this.rateRows) * 1000) / dt;
    // Smooth over roughly the last few seconds; the first window sets the value outright.
    this.rate = this.rate === 0 ? instant : 0.4 * instant + 0.6 * this.rate;
    this.rateAt = now;
    this.rateRows = rowsDone;
  }
}
