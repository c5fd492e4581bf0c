// Progress events: rate limited, constant memory, estimates from statistics (never count(*)).
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/util/clock.js';
import { ProgressTracker, estimateTotal, type ProgressInput } from '../../src/backfill/progress.js';
import type { BackfillProgress } from '../../src/engine/events.js';

const base: ProgressInput = {
  rowsDone: 0,
  keysDone: 0,
  batches: 0,
  batchSize: 1000,
  pauseMs: 0,
  lastBatchMs: 0,
  pass: 'main',
  paused: false,
  throttle: null,
};

describe('estimateTotal', () => {
  it('uses the table estimate without `where`; once the rows done pass it, the total is unknown', () => {
    expect(estimateTotal({ tableRows: 1000, matchingRows: null, hasWhere: false }, 10, 10)).toBe(1000);
    expect(estimateTotal({ tableRows: 1000, matchingRows: null, hasWhere: false }, 1000, 1000)).toBe(1000);
    // A stale estimate (400 of 2,000 rows): never "1200/1200 (100%)" while the backfill runs.
    expect(estimateTotal({ tableRows: 1000, matchingRows: null, hasWhere: false }, 1200, 1200)).toBeNull();
    expect(estimateTotal({ tableRows: null, matchingRows: null, hasWhere: false }, 5, 5)).toBeNull();
  });
  it('with `where`: the planner estimate first, then the observed share applied to the keys ahead', () => {
    const e = { tableRows: 100_000, matchingRows: 30_000, hasWhere: true };
    expect(estimateTotal(e, 100, 500)).toBe(30_000);
    // 10k keys walked, 2k matched (20%): 2k + 90k * 0.2.
    expect(estimateTotal(e, 2000, 10_000)).toBe(20_000);
    expect(estimateTotal({ ...e, matchingRows: null }, 10, 100)).toBeNull();
    // The planner guessed 30k, 31k matched in the first 900 keys: unknown until enough keys are walked.
    expect(estimateTotal(e, 31_000, 900)).toBeNull();
    // More keys walked than the table estimate: the share model has nothing ahead to scale.
    expect(estimateTotal({ ...e, tableRows: 5_000 }, 2_000, 6_000)).toBeNull();
  });
});

describe('ProgressTracker', () => {
  it('emits at most 4 per second unless forced, with rate and ETA', () => {
    const clock = new FakeClock();
    const out: BackfillProgress[] = [];
    const p = new ProgressTracker(clock, { tableRows: 100_000, matchingRows: null, hasWhere: false }, (e) => out.push(e));
    let rows = 0;
    // 10 seconds of batches every 10 ms, 100 rows each (10k rows/s).
    for (let i = 0; i < 1000; i++) {
      clock.advance(10);
      rows += 100;
      p.update({ ...base, rowsDone: rows, keysDone: rows, batches: i + 1 });
    }
    expect(out.length).toBeLessThanOrEqual(41);
    expect(out.length).toBeGreaterThanOrEqual(39);
    const last = out.at(-1)!;
    expect(last.rate).toBeGreaterThan(9000);
    expect(last.rate).toBeLessThan(11_000);
    expect(last.etaSeconds).toBe(0);
    const mid = out[20]!;
    expect(mid.etaSeconds).toBeGreaterThan(3);
    expect(mid.etaSeconds).toBeLessThan(7);
    expect(p.update({ ...base, rowsDone: rows, keysDone: rows }, true)).toBe(true);
  });
});
