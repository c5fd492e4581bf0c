// The batch model behind the backfill and swap-copy estimates: the fit of fixed + per-key cost on
// sample batches, and the projection through the engine's own tuner. No database: synthetic samples.
import { describe, expect, it } from 'vitest';
import { fitBatchCost, projectBatches, sampleSpread } from '../../../src/analyze/plan/batch-projection.js';

const knobs = { initialBatchSize: 1000, minBatchSize: 10, maxBatchSize: 100_000, targetBatchMs: 100, pauseMs: 0 };

describe('fitBatchCost', () => {
  it('separates a fixed part from the per-key part, on the fastest sample of each size', () => {
    const cost = fitBatchCost({
      openMs: 5,
      partial: false,
      starts: 'spread',
      samples: [
        { keys: 1000, rows: 1000, ms: 30 },
        { keys: 4000, rows: 4000, ms: 90 },
        { keys: 1000, rows: 1000, ms: 55 }, // a loaded moment: slower, not used
        { keys: 4000, rows: 4000, ms: 120 },
      ],
    })!;
    expect(cost.perKeyMs).toBeCloseTo(0.02, 6);
    expect(cost.fixedMs).toBeCloseTo(5 + 10, 6);
    expect(cost.fit).toMatch(/10 ms fixed \+ 20.0 µs per key, fitted on 1,000 keys in 30 ms and 4,000 keys in 90 ms/);
  });

  it('fits the median and the slowest sample of each size too, and tells how far the samples of a size varied', () => {
    const sample = {
      openMs: 0,
      partial: false,
      starts: 'spread' as const,
      samples: [
        { keys: 1000, rows: 1000, ms: 30 },
        { keys: 4000, rows: 4000, ms: 90 },
        { keys: 1000, rows: 1000, ms: 40 },
        { keys: 4000, rows: 4000, ms: 120 },
        { keys: 1000, rows: 1000, ms: 75 },
        { keys: 4000, rows: 4000, ms: 150 },
      ],
    };
    expect(fitBatchCost(sample, 'median')!.perKeyMs).toBeCloseTo((120 - 40) / 3000, 9);
    expect(fitBatchCost(sample, 'slowest')!.perKeyMs).toBeCloseTo((150 - 75) / 3000, 9);
    expect(fitBatchCost(sample, 'slowest')!.fixedMs).toBeCloseTo(75 - 25, 6);
    expect(sampleSpread(sample)).toBeCloseTo(2.5, 9);
  });

  it('falls back to the larger sample per key when the sizes do not separate a fixed part', () => {
    const cost = fitBatchCost({
      openMs: 2,
      partial: false,
      starts: 'spread',
      samples: [
        { keys: 1000, rows: 1000, ms: 80 },
        { keys: 4000, rows: 4000, ms: 60 },
      ],
    })!;
    expect(cost.fixedMs).toBe(2);
    expect(cost.perKeyMs).toBeCloseTo(60 / 4000, 9);
    expect(cost.fit).toMatch(/did not separate/);
  });
});

describe('projectBatches', () => {
  it('walks every key in batches the tuner sizes toward its aim', () => {
    const p = projectBatches({ fixedMs: 0, perKeyMs: 0.03, fit: '' }, knobs, 1_000_000);
    // 60 ms aim / 0.03 ms per key = 2,000 keys a batch once the tuner has settled.
    expect(p.size).toBe(2000);
    expect(p.batches).toBeGreaterThan(500);
    expect(p.batches).toBeLessThan(510);
    expect(p.ms).toBeCloseTo(1_000_000 * 0.03, 3);
  });

  it('pays the fixed part once per batch, on top of the per-key work', () => {
    const free = projectBatches({ fixedMs: 0, perKeyMs: 0.03, fit: '' }, knobs, 200_000);
    const fixed = projectBatches({ fixedMs: 10, perKeyMs: 0.03, fit: '' }, knobs, 200_000);
    expect(fixed.ms).toBeGreaterThan(free.ms + fixed.batches * 10 - 1);
    expect(fixed.ms).toBeCloseTo(200_000 * 0.03 + fixed.batches * 10, 3);
  });

  it('keeps a fixed batch size and adds the pauses between batches', () => {
    const p = projectBatches({ fixedMs: 1, perKeyMs: 0.01, fit: '' }, { ...knobs, fixedBatchSize: 500, pauseMs: 20 }, 10_000);
    expect(p.batches).toBe(20);
    expect(p.size).toBe(500);
    expect(p.pausesMs).toBe(19 * 20);
    expect(p.ms).toBeCloseTo(20 * (1 + 5) + 19 * 20, 6);
  });

  it('ends with one short batch for the keys left over', () => {
    const p = projectBatches({ fixedMs: 2, perKeyMs: 0.01, fit: '' }, { ...knobs, fixedBatchSize: 300 }, 1000);
    expect(p.batches).toBe(4);
    expect(p.ms).toBeCloseTo(4 * 2 + 1000 * 0.01, 6);
  });
});
