// Feeds the throttle the application's latency on the touched tables: the first reading is the
// baseline (what pg_stat_statements recorded before the step), each later one a window against the
// previous. When the extension cannot be read, one note says how to enable it and the watch stops.
import { baselineOf, deltaOf, type LatencyFigure, type StatementStatsReading } from '../pg/statement-stats.js';
import { APP_LATENCY_MIN_CALLS } from './throttle.js';

type Reading = Extract<StatementStatsReading, { ok: true }>;
const ms2 = (v: number) => `${v < 10 ? v.toFixed(2) : Math.round(v)} ms`;

export class AppLatencyWatch {
  private baseline: LatencyFigure | null | undefined;
  private last: Reading | undefined;
  private stopped = false;
  private notedHidden = false;

  constructor(
    private readonly tables: string,
    private readonly read: () => Promise<StatementStatsReading | undefined>,
    private readonly log: (level: 'info' | 'warn', message: string) => void,
    /** The runbook asked for app_latency: a missing extension is a warning rather than a note. */
    private readonly explicit: boolean,
  ) {}

  /** One reading; the window since the previous one with the baseline, once both exist. */
  async poll(): Promise<{ now: LatencyFigure; baseline: LatencyFigure } | undefined> {
    if (this.stopped) return undefined;
    const r = await this.read();
    if (!r) return undefined;
    if (!r.ok) {
      if (r.sqlstate === '57014' || r.sqlstate === '55P03') return undefined; // busy: skip this round
      this.stopped = true;
      this.log(this.explicit ? 'warn' : 'info', r.note);
      return undefined;
    }
    if (r.note && !this.notedHidden) {
      this.notedHidden = true;
      this.log('warn', r.note);
    }
    const prev = this.last;
    this.last = r;
    if (!prev) {
      this.baseline = baselineOf(r.stats);
      this.announceBaseline('recorded before this step');
      return undefined;
    }
    const window = deltaOf(prev, r);
    if (!window)
      return this.baseline ? { now: { meanMs: 0, calls: 0, callsPerSec: 0, statements: 0 }, baseline: this.baseline } : undefined;
    if (!this.baseline) {
      // Nothing was recorded before the step: the first busy window is the reference.
      if (window.calls >= APP_LATENCY_MIN_CALLS) {
        this.baseline = window;
        this.announceBaseline('in the first window of this step');
      }
      return undefined;
    }
    return { now: window, baseline: this.baseline };
  }

  private announceBaseline(when: string): void {
    const b = this.baseline;
    this.log(
      'info',
      b
        ? `application latency baseline on ${this.tables}: ${ms2(b.meanMs)} mean over ${b.calls} calls of ${b.statements} statement(s) ${when} (pg_stat_statements)`
        : `no application statements on ${this.tables} in pg_stat_statements yet: the first busy window becomes the latency baseline`,
    );
  }
}
