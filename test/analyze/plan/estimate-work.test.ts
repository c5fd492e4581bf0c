// Size-based estimates without a measured read rate: no figure, never a zero that reads as "instant".
import { describe, expect, it } from 'vitest';
import { estimateText, estimateWork, type ReadRate } from '../../../src/analyze/plan/estimate.js';
import type { PlanTableFacts } from '../../../src/pg/catalog/plan-table-facts.js';

const table = { name: 'public.orders', relkind: 'r', tableBytes: 64 * 1024 * 1024, indexBytes: 0 } as PlanTableFacts;
const rate: ReadRate = { bytesPerSecond: 256 * 1024 * 1024, sampledBytes: 16 * 1024 * 1024, ms: 62.5, how: 'slice' };

describe('estimateWork', () => {
  it('gives no estimate for a scan whose table read rate was not measured', () => {
    expect(estimateWork('scan', ['public.orders'], new Map([['public.orders', table]]), new Map(), 6)).toBeUndefined();
  });

  it('sizes a scan from the measured rate, and a checksum only from a measured checksum rate', () => {
    const tables = new Map([['public.orders', table]]);
    const e = estimateWork('scan', ['public.orders'], tables, new Map([['public.orders', rate]]), 0)!;
    expect(e.seconds).toBeCloseTo(0.25, 9);
    expect(e.basis).toMatch(/64.0 MB at 256 MB\/s read \(timed on a 16.0 MB slice read in order\)/);
    expect(estimateText(e)).not.toMatch(/instant/);
    expect(estimateWork('checksum', ['public.orders'], tables, new Map([['public.orders', rate]]), 0)).toBeUndefined();
    const hashed = estimateWork(
      'checksum',
      ['public.orders'],
      tables,
      new Map([['public.orders', { ...rate, checksumBytesPerSecond: 32 * 1024 * 1024 }]]),
      0,
    )!;
    expect(hashed.seconds).toBeCloseTo(2, 9);
  });
});
