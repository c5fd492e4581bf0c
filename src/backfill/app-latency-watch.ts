// Feeds the throttle the application's latency on the touched tables: the first reading is the
// baseline (what pg_stat_statements recorded before the step), then windows against it. A window
// grows until enough calls completed to judge a mean (at most APP_LATENCY_MAX_WINDOW_MS), because an
// application stuck behind a batch completes few calls: judging short windows never saw it. A window
// with few calls while sessions waited on our rows is handed over early, as a stall. Before the first
// batch, one more reading a probe interval later gives the application's rate without our batches
// (the reference an application falling behind is judged against). When the extension cannot be
// read, one note says how to enable it and the watch stops.
import { baselineOf, deltaOf, type LatencyFigure, type StatementStatsReading } from '../pg/statement-stats.js';
import { APP_LATENCY_MIN_CALLS, type AppLatencyWindow, type AppRate } from './throttle.js';

type Reading = Extract<StatementStatsReading, { ok: true }>;
const ms2 = (v: number) => `${v < 10 ? v.toFixed(2) : Math.round(v)} ms`;

/** The longest a window waits for enough calls before it is judged with what it has. */
export const APP_LATENCY_MAX_WINDOW_MS = 5000;
/** A window with sessions waiting on our rows is judged as a stall once it is this long. */
const STALL_WINDOW_MS = 1000;

export class AppLatencyWatch {
  private baseline: LatencyFigure | null | undefined;
  /** The reading the current window started at. */
  private start: Reading | undefined;
  private usualCallsPerSec: number | null = null;
  private reference: AppRate | null = null;
  private stopped = false;
  private notedHidden = false;

  constructor(
    private readonly tables: string,
    private readonly read: () => Promise<StatementStatsReading | undefined>,
    private readonly log: (level: 'info' | 'warn', message: string) => void,
    /** The runbook asked for app_latency: a missing extension is a warning rather than a note. */
    private readonly explicit: boolean,
    /** Waits this long before the first batch to measure the application's rate without it; absent = no reference. */
    private readonly referenceWindow?: { ms: number; sleep: (ms: number) => Promise<void> },
  ) {}

  /**
   * One reading; a finished window with the baseline, once both exist. `waitedSince(t)` says whether
   * sessions waited on rows our batches held after clock time t.
   */
  async poll(waitedSince: (t: number) => boolean): Promise<{ now: AppLatencyWindow; baseline: LatencyFigure } | undefined> {
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
    const start = this.start;
    if (!start) {
      this.start = r;
      this.baseline = baselineOf(r.stats);
      this.announceBaseline('recorded before this step');
      if (this.referenceWindow) await this.measureReference(r, this.referenceWindow);
      return undefined;
    }
    const windowMs = r.at - start.at;
    const delta = deltaOf(start, r);
    const calls = delta?.calls ?? 0;
    const waited = waitedSince(start.at);
    const enough = calls >= APP_LATENCY_MIN_CALLS;
    if (!this.baseline) {
      // Nothing was recorded before the step: the first window with enough calls is the reference.
      if (enough || windowMs >= APP_LATENCY_MAX_WINDOW_MS) this.start = r;
      if (enough && delta) {
        this.baseline = delta;
        this.announceBaseline('in the first window of this step');
      }
      return undefined;
    }
    const finished = enough || windowMs >= APP_LATENCY_MAX_WINDOW_MS || (calls === 0 && !waited) || (waited && windowMs >= STALL_WINDOW_MS);
    if (!finished) return undefined;
    this.start = r;
    const figure = delta ?? { meanMs: 0, calls: 0, callsPerSec: 0, statements: 0 };
    const now: AppLatencyWindow = { ...figure, windowMs, waited, usualCallsPerSec: this.usualCallsPerSec, reference: this.reference };
    if (enough && figure.callsPerSec !== null && !waited) this.usualCallsPerSec = Math.max(this.usualCallsPerSec ?? 0, figure.callsPerSec);
    return { now, baseline: this.baseline };
  }

  /** The application's calls over one window before our first batch; it becomes the window start. */
  private async measureReference(first: Reading, w: { ms: number; sleep: (ms: number) => Promise<void> }): Promise<void> {
    await w.sleep(w.ms);
    const r = await this.read();
    if (!r?.ok) return; // judged without a reference; the next poll says why if the extension went away
    const delta = deltaOf(first, r);
    this.start = r;
    if (!delta || delta.calls < APP_LATENCY_MIN_CALLS || delta.callsPerSec === null) return;
    this.reference = { calls: delta.calls, ms: r.at - first.at };
    if (!this.baseline) {
      this.baseline = delta;
      this.announceBaseline('in the window before the first batch');
    }
    this.log(
      'info',
      `application rate on ${this.tables} before the first batch: ${Math.round(delta.callsPerSec)} calls/s over ${((r.at - first.at) / 1000).toFixed(1)} s (calls falling well under it while batches run count as the application falling behind)`,
    );
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
