import { describe, expect, it } from 'vitest';
import {
  basisOf,
  INDEX_GROWTH_DOWN,
  INDEX_GROWTH_UP,
  INDEX_KEPT_DOWN,
  INDEX_KEPT_UP,
  indexRisk,
  projectionNotes,
  projectSteps,
  SIZE_GROWTH_EXPECTED_PER_DOUBLING,
  SIZE_GROWTH_PER_DOUBLING,
  statementWork,
  steadyRate,
  toProjection,
} from '../../src/rehearsal/projection.js';
import { compareLocks } from '../../src/rehearsal/predict.js';
import type { IndexShape } from '../../src/rehearsal/index-shape.js';
import type { StepTrace } from '../../src/rehearsal/rehearsal-types.js';

function trace(over: Partial<StepTrace>): StepTrace {
  return {
    phase: 'deploy',
    stepId: 's',
    kind: 'sql',
    title: 's',
    status: 'completed',
    startedAt: 0,
    endedAt: 0,
    durationMs: 100,
    locks: [],
    rewrites: [],
    walBytes: 0,
    retries: 0,
    retryDelayMs: 0,
    throttles: [],
    rows: null,
    batchRates: [],
    batches: 0,
    indexPhases: {},
    blockedBy: [],
    ...over,
  };
}

const samples = [
  { table: 'orders', sourceRows: 1_000_000, sourceBytes: 80e6, sourceIndexBytes: 30e6, sampleRows: 100_000, sampleBytes: 8e6 },
];
const orders = new Map<string, string | null>([
  ['add', 'orders'],
  ['fill', 'orders'],
  ['nn', 'orders'],
  ['idx', 'orders'],
]);

/** A backfill timeline: `setupMs` before the first report, then `rate` rows/ms in reports every 250 ms. */
function timeline(rows: number, setupMs: number, rate: (i: number) => number): { atMs: number; rows: number }[] {
  const pts = [{ atMs: setupMs, rows: 1000 }];
  while (pts[pts.length - 1]!.rows < rows) {
    const last = pts[pts.length - 1]!;
    const r = rate(pts.length);
    const next = Math.min(rows, Math.round(last.rows + 250 * r));
    pts.push({ atMs: last.atMs + (next - last.rows) / r, rows: next });
  }
  return pts;
}

describe('basisOf', () => {
  it('picks the basis from what was observed', () => {
    expect(basisOf(trace({ kind: 'backfill' }), null)).toBe('rows');
    expect(basisOf(trace({ rows: 10 }), null)).toBe('rows');
    expect(basisOf(trace({ rewrites: [{ relation: 'orders', how: 'relfilenode' }] }), null)).toBe('rewrite');
    expect(basisOf(trace({ kind: 'create_index' }), null)).toBe('index-build');
    expect(basisOf(trace({ kind: 'not_null' }), null)).toBe('scan');
    expect(basisOf(trace({ kind: 'add_column' }), null)).toBe('constant');
    expect(basisOf(trace({}), { stepId: 's', locks: [], source: 'analyze', rewrite: false, tableScan: true, work: 'scan' })).toBe('scan');
  });
});

describe('statementWork', () => {
  it('tells statements that touch the data from catalog-only ones', () => {
    expect(statementWork('ALTER TABLE "public"."orders" ADD CONSTRAINT c CHECK ("x" IS NOT NULL) NOT VALID')).toBe('catalog');
    expect(statementWork('ALTER TABLE "public"."orders" VALIDATE CONSTRAINT c')).toBe('data');
    expect(statementWork('CREATE INDEX CONCURRENTLY i ON orders USING btree (x)')).toBe('data');
    expect(statementWork('UPDATE orders SET x = 1 WHERE id < 10')).toBe('data');
    expect(statementWork('WITH t AS (SELECT 1) DELETE FROM orders')).toBe('data');
    expect(statementWork('ALTER TABLE orders ALTER COLUMN x TYPE bigint')).toBe('data');
    expect(statementWork('ALTER TABLE orders ADD COLUMN x bigint')).toBe('catalog');
    expect(statementWork('DROP INDEX CONCURRENTLY IF EXISTS i')).toBe('catalog');
  });

  it('counts SET NOT NULL as a scan unless the step validated a CHECK first (PG 12+ then skips the scan)', () => {
    const sql = 'ALTER TABLE orders ALTER COLUMN x SET NOT NULL; ALTER TABLE orders DROP CONSTRAINT c';
    expect(statementWork(sql)).toBe('data');
    expect(statementWork(sql, true)).toBe('catalog');
  });
});

describe('steadyRate', () => {
  it('splits a backfill into its fixed part and its rows at the steady rate', () => {
    // 40 ms of setup (first report after 1000 rows), then 100 rows/ms, then 30 ms of final passes.
    const pts = timeline(100_000, 40, () => 100);
    const end = pts[pts.length - 1]!.atMs;
    const r = steadyRate([...pts, { atMs: end + 30, rows: 100_000 }], end + 30)!;
    expect(r.rowsPerMs).toBeCloseTo(100, 0);
    expect(r.fixedMs).toBeGreaterThan(40);
    expect(r.fixedMs).toBeLessThan(80);
    expect(r.stderr).toBeLessThan(0.01);
  });

  it('sees a slow swing in machine speed (batch means), not only the spread of single windows', () => {
    // First half at 120 rows/ms, second half at 80: each half is steady, the run is not.
    const pts = timeline(200_000, 10, (i) => (i <= 4 ? 120 : 80));
    const r = steadyRate(pts, pts[pts.length - 1]!.atMs)!;
    expect(r.windows).toBeGreaterThanOrEqual(4);
    expect(r.stderr).toBeGreaterThan(0.15);
  });

  it('admits it cannot tell from too few windows', () => {
    const r = steadyRate(
      [
        { atMs: 10, rows: 1000 },
        { atMs: 260, rows: 30_000 },
        { atMs: 400, rows: 50_000 },
      ],
      420,
    )!;
    expect(r.stderr).toBe(0.25);
    expect(steadyRate([{ atMs: 10, rows: 1000 }], 20)).toBeNull();
  });
});

describe('projectSteps', () => {
  const notNull = trace({
    stepId: 'nn',
    kind: 'not_null',
    durationMs: 31,
    statements: [
      { sql: 'ALTER TABLE orders ADD CONSTRAINT c CHECK (x IS NOT NULL) NOT VALID', durationMs: 1, rowCount: null },
      { sql: 'ALTER TABLE orders VALIDATE CONSTRAINT c', durationMs: 13, rowCount: null },
      { sql: 'ALTER TABLE orders ALTER COLUMN x SET NOT NULL; ALTER TABLE orders DROP CONSTRAINT c', durationMs: 2, rowCount: null },
    ],
  });
  const addColumn = trace({
    stepId: 'add',
    kind: 'add_column',
    durationMs: 10,
    statements: [{ sql: 'ALTER TABLE orders ADD COLUMN x bigint', durationMs: 1, rowCount: null }],
  });

  it('scales only the statements that touch the data; overhead and catalog statements stay as measured', () => {
    const p = projectSteps({ steps: [addColumn, notNull], samples, stepTables: orders, predictions: new Map() });
    const nn = p.find((x) => x.id === 'nn')!;
    // overhead 31-16 = 15, catalog 1 + 2, VALIDATE: fixed part 1 ms (median catalog statement) + 12 ms x 10.
    expect(nn.seconds).toBeCloseTo((15 + 1 + 2 + 1 + 12 * 10) / 1000, 6);
    expect(p.find((x) => x.id === 'add')!.seconds).toBeCloseTo(0.01, 6);
  });

  it('projects a backfill from its steady rate, with a band from the rate’s spread', () => {
    const pts = timeline(100_000, 30, (i) => 50 + (i % 2) * 10);
    const duration = pts[pts.length - 1]!.atMs + 10;
    const fill = trace({ stepId: 'fill', kind: 'backfill', durationMs: duration, rows: 100_000, progress: pts });
    const [p] = projectSteps({ steps: [fill], samples, stepTables: orders, predictions: new Map() });
    const r = steadyRate(pts, duration)!;
    // 10x the rows, each a little dearer on the bigger table (the expected growth per doubling).
    const grow = 1 + SIZE_GROWTH_EXPECTED_PER_DOUBLING * Math.log2(10);
    expect(p!.seconds).toBeCloseTo((r.fixedMs + (1_000_000 * grow) / r.rowsPerMs) / 1000, 6);
    // Without index shapes: the rate's spread, and the size growth from none to twice the expected.
    expect(p!.highSeconds / p!.seconds - 1).toBeCloseTo(
      r.stderr + (SIZE_GROWTH_PER_DOUBLING - SIZE_GROWTH_EXPECTED_PER_DOUBLING) * Math.log2(10),
      6,
    );
    expect(1 - p!.lowSeconds / p!.seconds).toBeCloseTo(Math.hypot(r.stderr, SIZE_GROWTH_EXPECTED_PER_DOUBLING * Math.log2(10)), 6);
    expect(p!.uncertainty).toBeCloseTo(p!.highSeconds / p!.seconds - 1, 6);
  });

  it('scales change_column and batched_delete by their rows, as it does a backfill', () => {
    const pts = timeline(100_000, 30, () => 50);
    const duration = pts[pts.length - 1]!.atMs + 10;
    const seconds = (kind: string) =>
      projectSteps({
        steps: [trace({ stepId: 'fill', kind, durationMs: duration, rows: null, progress: pts })],
        samples,
        stepTables: orders,
        predictions: new Map(),
      })[0]!.seconds;
    for (const kind of ['change_column', 'batched_delete']) {
      expect(basisOf(trace({ kind }), null)).toBe('rows');
      expect(seconds(kind)).toBeCloseTo(seconds('backfill'), 9);
      // 10x the rows on the source: far more than the sample's time, unlike a catalog-only step.
      expect(seconds(kind)).toBeGreaterThan((5 * duration) / 1000);
    }
    expect(seconds('add_column')).toBeLessThan((2 * duration) / 1000);
  });

  it('widens the band for an index whose key repeats: moderately when the sample keeps its rows per key, widely (and says so) when not', () => {
    const pts = timeline(100_000, 30, () => 50);
    const fill = trace({ stepId: 'fill', kind: 'backfill', durationMs: pts[pts.length - 1]!.atMs, rows: 100_000, progress: pts });
    const shapes = (customerRowsPerKey: number): IndexShape[] => [
      { table: 'orders', index: 'orders_pkey', unique: true, rowsPerKey: 1 },
      { table: 'orders', index: 'orders_customer_idx', unique: false, rowsPerKey: customerRowsPerKey },
    ];
    const project = (source: number, sample: number) =>
      projectSteps({
        steps: [fill],
        samples,
        stepTables: orders,
        predictions: new Map(),
        indexes: { source: shapes(source), sample: shapes(sample) },
      })[0]!;
    const plain = projectSteps({ steps: [fill], samples, stepTables: orders, predictions: new Map() })[0]!;
    const upper = (p: typeof plain) => p.highSeconds / p.seconds - 1;
    const lower = (p: typeof plain) => 1 - p.lowSeconds / p.seconds;
    // An index that is unique in all but name (under 2 rows per key) changes nothing.
    expect(project(1.5, 1.5).highSeconds).toBeCloseTo(plain.highSeconds, 9);
    // Whole key groups kept (the same rows per key): a third of per-row work gets the kept-shape range, no note.
    const kept = project(100, 100);
    expect(kept.seconds).toBeCloseTo(plain.seconds, 9);
    expect(upper(kept) - upper(plain)).toBeCloseTo(INDEX_KEPT_UP / 3, 6);
    expect(lower(kept)).toBeGreaterThan(lower(plain));
    expect(kept.notes).toEqual([]);
    // 10x fewer rows per key in the sample: the reshaped range, and a note saying why.
    const shaped = project(100, 10);
    expect(shaped.seconds).toBeCloseTo(plain.seconds, 9);
    expect(upper(shaped) - upper(plain)).toBeCloseTo(INDEX_GROWTH_UP / 3, 6);
    expect(lower(shaped)).toBeGreaterThanOrEqual(lower(kept));
    expect(shaped.notes.join(' ')).toMatch(/orders_customer_idx holds ~100 rows per key on the source but ~10 in the sample/);
    expect(shaped.notes.join(' ')).toMatch(/--sample-method auto/);
  });

  it('flags a table that will not fit the source’s cache', () => {
    const fill = trace({ stepId: 'fill', kind: 'backfill', durationMs: 2000, rows: 100_000, progress: timeline(100_000, 30, () => 50) });
    const small = { sharedBuffersBytes: 128 * 2 ** 20, effectiveCacheBytes: 128 * 2 ** 20 };
    const big = { sharedBuffersBytes: 128 * 2 ** 20, effectiveCacheBytes: 4 * 2 ** 30 };
    const flagged = projectSteps({ steps: [fill], samples, stepTables: orders, predictions: new Map(), sourceMemory: small });
    expect(projectionNotes(flagged).join(' ')).toMatch(/exceed the source's effective_cache_size/);
    expect(
      projectionNotes(projectSteps({ steps: [fill], samples, stepTables: orders, predictions: new Map(), sourceMemory: big })),
    ).toEqual([]);
  });

  it('scales an index build linearly, paying log n only for the share of time spent sorting', () => {
    const idx = trace({
      stepId: 'idx',
      kind: 'create_index',
      durationMs: 105,
      statements: [{ sql: 'CREATE INDEX CONCURRENTLY i ON orders (x)', durationMs: 100, rowCount: null }],
      indexPhases: {
        'building index: scanning table': 60,
        'building index: sorting live tuples': 20,
        'building index: loading tuples in tree': 20,
      },
    });
    const [p] = projectSteps({ steps: [addColumn, idx], samples, stepTables: orders, predictions: new Map() }).filter(
      (x) => x.id === 'idx',
    );
    const factor = 10 * (0.8 + 0.2 * (Math.log2(1e6) / Math.log2(1e5)));
    expect(p!.factor).toBeCloseTo(factor, 9);
    expect(p!.seconds).toBeCloseTo((5 + 1 + 99 * factor) / 1000, 6);
  });

  it('falls back to the cheapest constant step as the fixed part when a step reports no statements', () => {
    const steps = [
      trace({ stepId: 'add', kind: 'add_column', durationMs: 10 }),
      trace({ stepId: 'fill', kind: 'backfill', durationMs: 2010, rows: 100_000, batchRates: [50_000, 52_000, 49_000, 51_000] }),
    ];
    const p = projectSteps({ steps, samples, stepTables: orders, predictions: new Map() });
    expect(p.find((x) => x.id === 'fill')!.seconds).toBeCloseTo(
      (10 + 2000 * 10 * (1 + SIZE_GROWTH_EXPECTED_PER_DOUBLING * Math.log2(10))) / 1000,
      6,
    );
  });

  it('leaves steps that never ran out, and adds step bands up into the total', () => {
    expect(projectSteps({ steps: [trace({ status: 'not-run' })], samples, stepTables: new Map(), predictions: new Map() })).toEqual([]);
    const pts = timeline(100_000, 30, () => 50);
    const fill = trace({ stepId: 'fill', kind: 'backfill', durationMs: pts[pts.length - 1]!.atMs, rows: 100_000, progress: pts });
    const p = projectSteps({ steps: [addColumn, fill, notNull], samples, stepTables: orders, predictions: new Map() });
    const proj = toProjection(p);
    expect(proj.total_seconds).toBeCloseTo(
      p.reduce((a, s) => a + s.seconds, 0),
      2,
    );
    expect(proj.low_seconds).toBeCloseTo(
      p.reduce((a, s) => a + s.lowSeconds, 0),
      2,
    );
    expect(proj.high_seconds).toBeCloseTo(
      p.reduce((a, s) => a + s.highSeconds, 0),
      2,
    );
    expect(proj.uncertainty).toBeCloseTo((proj.high_seconds! - proj.total_seconds) / proj.total_seconds, 2);
    expect(proj.steps.map((s) => s.id)).toEqual(['add', 'fill', 'nn']);
  });
});

describe('indexRisk', () => {
  it('weighs each repeated-key index by its share of per-row work, from the kept-shape range to the reshaped one (saturating at 10x)', () => {
    const src: IndexShape[] = [
      { table: 'orders', index: 'pk', unique: true, rowsPerKey: 1 },
      { table: 'orders', index: 'a', unique: false, rowsPerKey: 1000 },
      { table: 'orders', index: 'b', unique: false, rowsPerKey: 3 },
      { table: 'orders', index: 'c', unique: false, rowsPerKey: Math.sqrt(10) * 10 },
      { table: 'orders', index: 'd', unique: false, rowsPerKey: 1.2 },
      { table: 'orders', index: 'expr', unique: false, rowsPerKey: null },
    ];
    const sample: IndexShape[] = [
      { table: 'orders', index: 'pk', unique: true, rowsPerKey: 1 },
      { table: 'orders', index: 'a', unique: false, rowsPerKey: 10 },
      { table: 'orders', index: 'b', unique: false, rowsPerKey: 2 },
      { table: 'orders', index: 'c', unique: false, rowsPerKey: 10 },
      { table: 'orders', index: 'd', unique: false, rowsPerKey: 1 },
      { table: 'orders', index: 'expr', unique: false, rowsPerKey: null },
    ];
    const r = indexRisk('orders', { source: src, sample });
    const share = 1 / 7;
    // a: 100x fewer rows per key, saturated; b: 1.5x, the shape kept; c: ~3.2x, halfway (log10); d and expr: nothing.
    const halfway = (kept: number, grown: number) => kept + (grown - kept) * 0.5;
    expect(r.up).toBeCloseTo(share * (INDEX_GROWTH_UP + INDEX_KEPT_UP + halfway(INDEX_KEPT_UP, INDEX_GROWTH_UP)), 9);
    expect(r.down).toBeCloseTo(share * (INDEX_GROWTH_DOWN + INDEX_KEPT_DOWN + halfway(INDEX_KEPT_DOWN, INDEX_GROWTH_DOWN)), 9);
    expect(r.notes).toHaveLength(2);
    expect(r.notes.join(' ')).toMatch(/index a holds ~1000 rows per key/);
    expect(r.notes.join(' ')).toMatch(/index c holds ~32 rows per key/);
    expect(indexRisk('customers', { source: src, sample }).up).toBe(0);
  });
});

describe('compareLocks', () => {
  const obs = (relation: string, mode: string) => ({ relation, mode, granted: true, seenBy: ['sampler' as const], waitedMs: 0 });
  it('flags locks stronger than predicted and predicted locks never seen', () => {
    const pred = {
      stepId: 's',
      source: 'plan' as const,
      rewrite: null,
      tableScan: null,
      work: null,
      locks: [{ relation: 'orders', mode: 'ShareUpdateExclusiveLock' }],
    };
    const rows = compareLocks([obs('orders', 'AccessShareLock'), obs('orders', 'AccessExclusiveLock')], pred);
    expect(rows.find((r) => r.mode === 'AccessExclusiveLock')!.mismatch).toBe('unpredicted');
    expect(rows.find((r) => r.mode === 'AccessShareLock')!.mismatch).toBeNull();
    expect(rows.find((r) => r.mode === 'ShareUpdateExclusiveLock')!.mismatch).toBeNull();
    const none = compareLocks([], pred);
    expect(none).toEqual([
      { relation: 'orders', mode: 'ShareUpdateExclusiveLock', predicted: true, observed: false, mismatch: 'not-observed' },
    ]);
  });
});
