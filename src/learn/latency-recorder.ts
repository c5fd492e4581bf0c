// The application's side of a lesson: every synthetic request's latency, measured here as it
// starts and ends (SyntheticTraffic's observer), attributed to the phase it started in. The
// figures of the summary come from these samples and nothing else.
import type { RequestObserver } from '../demo/traffic.js';

export interface PhaseFigures {
  requests: number;
  failed: number;
  /** Requests slower than the lesson's bar. */
  overBar: number;
  worstMs: number;
  p50Ms: number;
  p99Ms: number;
  /** Time during which at least one request was waiting longer than the bar (merged intervals). */
  blockedMs: number;
}

export interface LiveFigures {
  /** Requests finished in the last second. */
  perSecond: number;
  inFlight: number;
  /** Requests in flight for longer than the bar right now. */
  waitingNow: number;
  oldestInFlightMs: number;
  /** Worst latency per second, oldest first (the last `seconds` seconds). */
  worstPerSecond: number[];
}

interface Done {
  start: number;
  ms: number;
  failed: boolean;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Total length of the union of [start, end] intervals. */
function mergedLength(intervals: Array<[number, number]>): number {
  let total = 0;
  let cur: [number, number] | undefined;
  for (const [s, e] of [...intervals].sort((a, b) => a[0] - b[0])) {
    if (cur && s <= cur[1]) cur[1] = Math.max(cur[1], e);
    else {
      if (cur) total += cur[1] - cur[0];
      cur = [s, e];
    }
  }
  return cur ? total + cur[1] - cur[0] : total;
}

export class LatencyRecorder implements RequestObserver {
  private phase = 'warm-up';
  private readonly done = new Map<string, Done[]>();
  private readonly open = new Map<number, number>();
  private next = 0;
  /** The last failed request's error, for the trainee. */
  lastFailure?: string;

  constructor(
    private readonly barMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Requests started from now on count for `name`. */
  setPhase(name: string): void {
    this.phase = name;
  }

  start(): (failed?: Error) => void {
    const id = this.next++;
    const start = this.now();
    const phase = this.phase;
    this.open.set(id, start);
    return (failed) => {
      this.open.delete(id);
      if (failed) this.lastFailure = failed.message;
      const list = this.done.get(phase) ?? [];
      list.push({ start, ms: this.now() - start, failed: !!failed });
      this.done.set(phase, list);
    };
  }

  figures(phase: string): PhaseFigures {
    const list = this.done.get(phase) ?? [];
    const ok = list.filter((d) => !d.failed);
    const sorted = list.map((d) => d.ms).sort((a, b) => a - b);
    const over = list.filter((d) => d.ms > this.barMs);
    return {
      requests: ok.length,
      failed: list.length - ok.length,
      overBar: over.length,
      worstMs: sorted.at(-1) ?? 0,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      blockedMs: mergedLength(over.map((d) => [d.start, d.start + d.ms])),
    };
  }

  /** When the first failed request of `phase` ended: when the application first saw an error. */
  firstFailureAt(phase: string): number | undefined {
    const ends = (this.done.get(phase) ?? []).filter((d) => d.failed).map((d) => d.start + d.ms);
    return ends.length ? Math.min(...ends) : undefined;
  }

  /** Requests (of any phase) that started between `from` and `to`, failed or not. */
  figuresBetween(from: number, to: number): { requests: number; p99Ms: number; worstMs: number } {
    const sorted = [...this.done.values()]
      .flat()
      .filter((d) => d.start >= from && d.start <= to)
      .map((d) => d.ms)
      .sort((a, b) => a - b);
    return { requests: sorted.length, p99Ms: percentile(sorted, 99), worstMs: sorted.at(-1) ?? 0 };
  }

  /** Failed requests (of any phase) that ended between `from` and `to`. */
  failedBetween(from: number, to: number): number {
    let n = 0;
    for (const list of this.done.values()) for (const d of list) if (d.failed && d.start + d.ms >= from && d.start + d.ms <= to) n++;
    return n;
  }

  live(seconds = 30): LiveFigures {
    const now = this.now();
    const all = [...this.done.values()].flat();
    const worstPerSecond: number[] = [];
    for (let i = seconds; i > 0; i--) {
      const from = now - i * 1000;
      const inSecond = all.filter((d) => d.start + d.ms > from && d.start + d.ms <= from + 1000);
      worstPerSecond.push(inSecond.reduce((m, d) => Math.max(m, d.ms), 0));
    }
    const ages = [...this.open.values()].map((s) => now - s);
    return {
      perSecond: all.filter((d) => d.start + d.ms > now - 1000).length,
      inFlight: ages.length,
      waitingNow: ages.filter((a) => a > this.barMs).length,
      oldestInFlightMs: ages.reduce((m, a) => Math.max(m, a), 0),
      worstPerSecond: [...worstPerSecond.slice(0, -1), Math.max(worstPerSecond.at(-1) ?? 0, ...ages)],
    };
  }
}
