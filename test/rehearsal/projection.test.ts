import { describe, expect, it } from 'vitest';
import { basisOf, projectSteps, toProjection } from '../../src/rehearsal/projection.js';
import { compareLocks } from '../../src/rehearsal/predict.js';
import type { StepTrace } from '../../src/rehearsal/types.js';

function trace(over: Partial<StepTrace>): StepTrace {
  return {
    phase: 'deploy', stepId: 's', kind: 'sql', title: 's', status: 'completed', startedAt: 0, endedAt: 0, durationMs: 100,
    locks: [], rewrites: [], walBytes: 0, retries: 0, retryDelayMs: 0, throttles: [], rows: null, batchRates: [], batches: 0,
    indexPhases: {}, blockedBy: [], ...over,
  };
}

const samples = [{ table: 'orders', sourceRows: 1_000_000, sourceBytes: 80e6, sampleRows: 100_000, sampleBytes: 8e6 }];

describe('projection', () => {
  it('picks the basis from what was observed', () => {
    expect(basisOf(trace({ kind: 'backfill' }), null)).toBe('rows');
    expect(basisOf(trace({ rows: 10 }), null)).toBe('rows');
    expect(basisOf(trace({ rewrites: [{ relation: 'orders', how: 'relfilenode' }] }), null)).toBe('rewrite');
    expect(basisOf(trace({ kind: 'create_index' }), null)).toBe('index-build');
    expect(basisOf(trace({ kind: 'not_null' }), null)).toBe('scan');
    expect(basisOf(trace({ kind: 'add_column' }), null)).toBe('constant');
    expect(basisOf(trace({}), { stepId: 's', locks: [], source: 'analyze', rewrite: false, tableScan: true, work: 'scan' })).toBe('scan');
  });

  it('scales by rows, bytes and n log n, keeping the fixed per-step cost unscaled', () => {
    const steps = [
      trace({ stepId: 'add', kind: 'add_column', durationMs: 10 }),
      trace({ stepId: 'fill', kind: 'backfill', durationMs: 2010, rows: 100_000, batchRates: [50_000, 52_000, 49_000, 51_000] }),
      trace({ stepId: 'nn', kind: 'not_null', durationMs: 110 }),
      trace({ stepId: 'idx', kind: 'create_index', durationMs: 210 }),
    ];
    const tables = new Map(steps.map((s) => [s.stepId, 'orders']));
    const p = projectSteps({ steps, samples, stepTables: tables, predictions: new Map() });
    const by = (id: string) => p.find((x) => x.id === id)!;
    expect(by('add').seconds).toBeCloseTo(0.01, 5);
    expect(by('fill').seconds).toBeCloseTo((10 + 2000 * 10) / 1000, 5);
    expect(by('nn').seconds).toBeCloseTo((10 + 100 * 10) / 1000, 5);
    const nlogn = 10 * (Math.log2(1e6) / Math.log2(1e5));
    expect(by('idx').seconds).toBeCloseTo((10 + 200 * nlogn) / 1000, 5);
    expect(by('fill').lowSeconds).toBeLessThan(by('fill').seconds);
    expect(by('fill').highSeconds).toBeGreaterThan(by('fill').seconds);
    expect(by('fill').uncertainty).toBeLessThan(by('idx').uncertainty);
    const proj = toProjection(p);
    expect(proj.total_seconds).toBeCloseTo(p.reduce((a, s) => a + s.seconds, 0), 2);
    expect(proj.steps.map((s) => s.id)).toEqual(['add', 'fill', 'nn', 'idx']);
    expect(proj.uncertainty).toBeGreaterThan(0);
  });

  it('leaves steps that never ran out', () => {
    const p = projectSteps({ steps: [trace({ status: 'not-run' })], samples, stepTables: new Map(), predictions: new Map() });
    expect(p).toEqual([]);
  });
});

describe('compareLocks', () => {
  const obs = (relation: string, mode: string) => ({ relation, mode, granted: true, seenBy: ['sampler' as const], waitedMs: 0 });
  it('flags locks stronger than predicted and predicted locks never seen', () => {
    const pred = { stepId: 's', source: 'plan' as const, rewrite: null, tableScan: null, work: null, locks: [{ relation: 'orders', mode: 'ShareUpdateExclusiveLock' }] };
    const rows = compareLocks([obs('orders', 'AccessShareLock'), obs('orders', 'AccessExclusiveLock')], pred);
    expect(rows.find((r) => r.mode === 'AccessExclusiveLock')!.mismatch).toBe('unpredicted');
    expect(rows.find((r) => r.mode === 'AccessShareLock')!.mismatch).toBeNull();
    expect(rows.find((r) => r.mode === 'ShareUpdateExclusiveLock')!.mismatch).toBeNull();
    const none = compareLocks([], pred);
    expect(none).toEqual([{ relation: 'orders', mode: 'ShareUpdateExclusiveLock', predicted: true, observed: false, mismatch: 'not-observed' }]);
  });
});
