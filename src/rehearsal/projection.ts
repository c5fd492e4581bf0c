// Scales what each step took on the sample to the source's size, with an uncertainty band.
//
// A step's time is split into what does not grow with the table and what does:
//   - the step's own overhead (its time outside SQL statements: connections, checks, journaling)
//     and catalog-only statements (ADD CONSTRAINT .. NOT VALID, DROP ..) stay as measured;
//   - each statement that works on the data keeps a fixed part (what a catalog-only statement
//     costs here) and scales the rest by its basis:
//       rows        backfills, DML, row copies: time ∝ rows
//       rewrite     the table got new storage: time ∝ heap bytes
//       scan        a full read without a rewrite (VALIDATE, SET NOT NULL): time ∝ heap bytes
//       index-build time ∝ rows, the sort phases ∝ n·log n
//   - a backfill's steady rate comes from its progress timeline; what the rate does not explain
//     (setup, the batch-size ramp, the final passes) is its fixed part.
//
// Rows-based steps also pay the expected per-row growth with table size (see the constant).
//
// The band. Symmetric: the spread of the measurement itself (for backfills, the rate's standard
// error from the timeline, by batch means, so slow swings in machine speed count). One-sided, for
// what a sample cannot reproduce (measured by hand while building this, see the constants):
//   - per-row work grows a little with table size (memory locality): from none to twice the expected;
//   - an index whose key repeats: keeping such a btree in order (bottom-up deletion of the old
//     row versions' entries) costs per row what the leaf pages and the heap around them make it.
//     A sample of whole key groups (clone's default for one such index) reproduces those and
//     leaves a moderate range; a row sample keeps the keys but far fewer rows per key, which
//     leaves a wide, mostly upward, one. Its share of per-row work gets that range.
// The band does not cover a source whose table outgrows its cache (then reads hit disk): that is
// flagged in the notes. Nor does it cover a production machine faster or slower than the sandbox.
import type { RehearsalProjection } from '../engine/events.js';
import { LOCK_STRENGTH, type LockMode } from '../pg/lock-modes.js';
import type { TableSample } from './clone.js';
import type { IndexShape, SourceMemory } from './index-shape.js';
import { normRel } from './relation-names.js';
import type { PredictedLocks, StepTrace } from './rehearsal-types.js';

export type Basis = 'rows' | 'rewrite' | 'scan' | 'index-build' | 'constant';

export interface StepProjection {
  id: string;
  basis: Basis;
  table: string | null;
  factor: number;
  sampleSeconds: number;
  seconds: number;
  /** Relative width of the band's upper side (0.25 = up to +25%); the wider side. */
  uncertainty: number;
  lowSeconds: number;
  highSeconds: number;
  locks: { relation: string; mode: string }[];
  rewrite: boolean;
  /** What the figure cannot see, in operator words (the rehearsal shows them as warnings). */
  notes: string[];
}

export type SizeRow = Pick<TableSample, 'table' | 'sourceRows' | 'sourceBytes' | 'sampleRows' | 'sampleBytes'> &
  Partial<Pick<TableSample, 'sourceIndexBytes'>>;

export interface ProjectionInput {
  steps: StepTrace[];
  samples: SizeRow[];
  /** Table whose size drives each step (normalized names), by step id. */
  stepTables: Map<string, string | null>;
  predictions: Map<string, PredictedLocks | null>;
  /** Indexes of the touched tables, on the source and in the sandbox (rows per key). */
  indexes?: { source: IndexShape[]; sample: IndexShape[] };
  /** The source's cache settings: does the table fit? */
  sourceMemory?: SourceMemory | null;
}

/**
 * Per-row work on a 10x larger table without repeated index keys was 4–18% higher (heap and
 * primary key only, or a key-preserving sample; backend CPU time), and 4–12% (median 8%) with
 * random or correlated repeated keys, whatever the sample method (measured by hand): expected
 * about 2.5% per doubling, at most 5%. The projection scales rows by the expected growth; the band
 * runs from none to the most.
 */
export const SIZE_GROWTH_PER_DOUBLING = 0.05;
export const SIZE_GROWTH_EXPECTED_PER_DOUBLING = 0.025;
/**
 * Maintaining an index whose key repeats, per row on a 10x larger table (1M rows, 10% samples, key
 * cardinalities 1k to 100k, periodic / random / correlated keys; measured by hand, backend CPU
 * per row of a keyset backfill): with the sample's rows per key cut 10x, 0.77x to 2.17x the
 * sample's cost for the whole row; with whole key groups kept, 0.94x to 1.43x. As the extra (or
 * the saving) on that index's share of per-row work (a third there: heap, primary key, the index).
 * The reshaped figures are reached when rows per key differ 10x or more.
 */
export const INDEX_GROWTH_UP = 3.5;
export const INDEX_KEPT_UP = 1.3;
/**
 * Downwards, the source can also do better than the sample shows: autovacuum, which a sandbox
 * backfill of a second or so never sees, may vacuum the table during the source's backfill and
 * remove the old versions' index entries itself. In the bench it did so in about 1 run in 6, and
 * the backfill took 18–25% less (a third of per-row work being that index: 0.75 of its share).
 */
export const INDEX_GROWTH_DOWN = 0.75;
export const INDEX_KEPT_DOWN = 0.75;
/** Rows-per-key ratios below this are treated as the same index shape. */
const SHAPE_RATIO_MIN = 2;

const SCAN_KINDS = new Set(['not_null', 'add_check', 'add_foreign_key']);
// Kinds whose plan declares `work: rows`: their time grows with the rows they touch.
const ROW_KINDS = new Set(['backfill', 'swap_table', 'change_column', 'batched_delete']);

export function basisOf(step: StepTrace, prediction: PredictedLocks | null | undefined): Basis {
  if (ROW_KINDS.has(step.kind) || step.rows !== null) return 'rows';
  if (step.rewrites.length > 0) return 'rewrite';
  switch (prediction?.work) {
    case 'rows':
      return 'rows';
    case 'rewrite':
      return 'rewrite';
    case 'scan':
      return 'scan';
    case 'index-build':
      return 'index-build';
  }
  if (step.kind === 'create_index' || Object.keys(step.indexPhases).length > 0) return 'index-build';
  if (SCAN_KINDS.has(step.kind) || prediction?.tableScan) return 'scan';
  return 'constant';
}

export type StatementWork = 'catalog' | 'data';

const DATA_SQL = [
  /\bVALIDATE\s+CONSTRAINT\b/i,
  /\bCREATE\s+(UNIQUE\s+)?INDEX\b/i,
  /\bREINDEX\b/i,
  /\bCLUSTER\b/i,
  /\bVACUUM\b/i,
  /\bANALYZE\b/i,
  /^\s*(WITH\b[\s\S]*?\b)?(UPDATE|DELETE|INSERT|MERGE|COPY)\b/i,
  /\bALTER\s+COLUMN\b[\s\S]*\b(TYPE|SET\s+NOT\s+NULL)\b/i,
  /\bSET\s+DATA\s+TYPE\b/i,
];

/**
 * Does this statement read or write the table's data, or only the catalog? Data statements scale
 * with the step's basis. SET NOT NULL after the step validated a CHECK (col IS NOT NULL) skips its
 * scan (PG 12+), so it is catalog-only there; a statement text holding several statements counts
 * as data when any of them is.
 */
export function statementWork(sql: string, validatedBefore = false): StatementWork {
  const parts = sql.split(/;\s*(?=\S)/);
  for (const p of parts) {
    if (validatedBefore && /\bSET\s+NOT\s+NULL\b/i.test(p) && !/\bTYPE\b/i.test(p)) continue;
    if (/\bADD\s+CONSTRAINT\b[\s\S]*\bNOT\s+VALID\b/i.test(p) || /\bADD\s+COLUMN\b/i.test(p)) continue;
    if (DATA_SQL.some((re) => re.test(p))) return 'data';
  }
  return 'catalog';
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function cv(xs: number[]): number {
  if (xs.length < 2) return 0.2;
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
  return mean > 0 ? sd / mean : 0.2;
}

export interface SteadyRate {
  /** Rows per millisecond while batches ran. */
  rowsPerMs: number;
  /** Step time the rate does not explain (setup, ramp-up, final passes), ms. */
  fixedMs: number;
  /** Relative standard error of the rate. */
  stderr: number;
  windows: number;
}

/**
 * The steady rate of a backfill from its progress timeline: rows between the first report and the
 * first report of the final count, over the time between them. Its standard error is the larger
 * of the windows' spread / √n and the two-batch-means estimate (first half vs second half), which
 * also sees swings slower than one window; fewer than 4 windows cannot tell, so 25%.
 */
export function steadyRate(progress: { atMs: number; rows: number }[], durationMs: number): SteadyRate | null {
  const pts = [...progress].sort((a, b) => a.atMs - b.atMs);
  if (pts.length < 2) return null;
  const total = Math.max(...pts.map((p) => p.rows));
  const first = pts[0]!;
  const endIdx = pts.findIndex((p) => p.rows === total);
  const last = pts[endIdx]!;
  const dt = last.atMs - first.atMs;
  const dr = last.rows - first.rows;
  if (dt <= 0 || dr <= 0 || total <= 0) return null;
  const rowsPerMs = dr / dt;
  const fixedMs = Math.min(durationMs / 2, Math.max(0, durationMs - total / rowsPerMs));
  const rates: number[] = [];
  const weights: number[] = [];
  for (let i = 1; i <= endIdx; i++) {
    const a = pts[i - 1]!;
    const b = pts[i]!;
    if (b.atMs > a.atMs && b.rows > a.rows) {
      rates.push((b.rows - a.rows) / (b.atMs - a.atMs));
      weights.push(b.atMs - a.atMs);
    }
  }
  let stderr = 0.25;
  if (rates.length >= 4) {
    const half = Math.floor(rates.length / 2);
    const mean = (xs: number[], ws: number[]) => xs.reduce((a, x, i) => a + x * ws[i]!, 0) / ws.reduce((a, w) => a + w, 0);
    const h1 = mean(rates.slice(0, half), weights.slice(0, half));
    const h2 = mean(rates.slice(half), weights.slice(half));
    const batchMeans = Math.abs(h1 - h2) / (h1 + h2);
    stderr = Math.max(cv(rates) / Math.sqrt(rates.length), batchMeans);
  }
  return { rowsPerMs, fixedMs, stderr, windows: rates.length };
}

interface IndexRisk {
  up: number;
  down: number;
  notes: string[];
}

/**
 * Indexes of the table whose key repeats (2+ rows per key on the source). Every row a backfill
 * updates without HOT (the sample's freshly packed pages leave no room) adds an entry to each
 * index; counting the heap write and each index insert as one unit of work, an index's share is
 * 1 / (1 + indexes). The allowance grows from the kept-shape one to the reshaped one as the
 * sample's rows per key fall short of the source's (2x to 10x).
 */
export function indexRisk(table: string, indexes: ProjectionInput['indexes']): IndexRisk {
  const none = { up: 0, down: 0, notes: [] };
  if (!indexes) return none;
  const src = indexes.source.filter((i) => normRel(i.table) === table);
  if (src.length === 0) return none;
  const share = 1 / (1 + src.length);
  let up = 0;
  let down = 0;
  const notes: string[] = [];
  for (const s of src) {
    if (s.unique || s.rowsPerKey === null || s.rowsPerKey < SHAPE_RATIO_MIN) continue;
    const sb = indexes.sample.find((x) => normRel(x.table) === table && x.index === s.index);
    if (!sb || sb.rowsPerKey === null || sb.rowsPerKey <= 0) continue;
    const ratio = s.rowsPerKey / Math.max(1, sb.rowsPerKey);
    const weight = ratio < SHAPE_RATIO_MIN ? 0 : Math.min(1, Math.log10(ratio));
    up += share * (INDEX_KEPT_UP + (INDEX_GROWTH_UP - INDEX_KEPT_UP) * weight);
    down += share * (INDEX_KEPT_DOWN + (INDEX_GROWTH_DOWN - INDEX_KEPT_DOWN) * weight);
    if (weight === 0) continue;
    notes.push(
      `index ${s.index} holds ~${fmtN(s.rowsPerKey)} rows per key on the source but ~${fmtN(sb.rowsPerKey)} in the sample: ` +
        `keeping it in order can cost more per row on the source than here (the band's upper side allows for it); ` +
        `a sample of its whole key groups would measure it (--sample-method auto takes them for one such index when they fit the sample)`,
    );
  }
  return { up, down, notes };
}

function fmtN(x: number): string {
  return x >= 10 ? String(Math.round(x)) : x.toFixed(1);
}

export function projectSteps(input: ProjectionInput): StepProjection[] {
  const ran = input.steps.filter((s) => s.status === 'completed' || s.status === 'failed');
  const bases = new Map(ran.map((s) => [s.stepId, basisOf(s, input.predictions.get(s.stepId))]));
  // What a statement costs here when it does no size-dependent work: the median catalog-only
  // statement; without any, the cheapest catalog-only step.
  const catalogMs = ran.flatMap((s) =>
    classified(s)
      .filter((x) => x.work === 'catalog')
      .map((x) => x.durationMs),
  );
  const constantSteps = ran.filter((s) => bases.get(s.stepId) === 'constant').map((s) => s.durationMs);
  const statementFixedMs = catalogMs.length ? median(catalogMs) : constantSteps.length ? Math.min(...constantSteps) : 0;
  const stepFixedMs = constantSteps.length ? Math.min(...constantSteps) : statementFixedMs;
  return ran.map((s) => projectStep(s, bases.get(s.stepId)!, input, { statementFixedMs, stepFixedMs }));
}

interface FixedCosts {
  /** What one statement costs here without size-dependent work, ms. */
  statementFixedMs: number;
  /** What a step costs here without size-dependent work, ms. */
  stepFixedMs: number;
}

function projectStep(s: StepTrace, basis: Basis, input: ProjectionInput, fixed: FixedCosts): StepProjection {
  const table = input.stepTables.get(s.stepId) ?? null;
  const size = table ? input.samples.find((x) => normRel(x.table) === table) : undefined;
  const factor = scaleFactor(s, basis, size);
  // Rows cost a little more each on a bigger table.
  const growing = basis === 'rows' && !!table && factor > 1;
  const perRow = growing ? factor * (1 + SIZE_GROWTH_EXPECTED_PER_DOUBLING * Math.log2(factor)) : factor;
  const { ms, spread } = scaledMs(s, basis, perRow, fixed);
  const notes: string[] = [];
  // Symmetric spread of the measurement, and one-sided allowances.
  let u = spread;
  let up = 0;
  let down = 0;
  if (basis !== 'constant' && (size?.sampleRows ?? 0) < 1000) {
    u += 0.3; // too few rows to time reliably
    notes.push(`${s.stepId}: the sample of ${table ?? 'its table'} has under 1000 rows, too few to time reliably`);
  }
  if (growing) {
    up += (SIZE_GROWTH_PER_DOUBLING - SIZE_GROWTH_EXPECTED_PER_DOUBLING) * Math.log2(factor);
    down += SIZE_GROWTH_EXPECTED_PER_DOUBLING * Math.log2(factor);
    const risk = indexRisk(table!, input.indexes);
    up += risk.up;
    down += risk.down;
    notes.push(...risk.notes.map((n) => `${s.stepId}: ${n}`));
  }
  const cache = cacheNote(s.stepId, basis, table, size, input.sourceMemory);
  if (cache) notes.push(cache);
  const low = ms * Math.max(0, 1 - Math.hypot(u, down));
  const high = ms * (1 + u + up);
  const locks = strongestFirst(s.locks.filter((l) => l.granted).map(({ relation, mode }) => ({ relation, mode })));
  return {
    id: s.stepId,
    basis,
    table,
    factor,
    sampleSeconds: s.durationMs / 1000,
    seconds: ms / 1000,
    uncertainty: ms > 0 ? (high - ms) / ms : u,
    lowSeconds: low / 1000,
    highSeconds: high / 1000,
    locks: locks.length ? locks : strongestFirst(input.predictions.get(s.stepId)?.locks ?? []),
    rewrite: s.rewrites.length > 0,
    notes,
  };
}

/** How much more work the source's table means than the sample's, for this basis. */
function scaleFactor(s: StepTrace, basis: Basis, size: SizeRow | undefined): number {
  const rowsRatio = size && size.sampleRows > 0 && size.sourceRows !== null ? size.sourceRows / size.sampleRows : 1;
  const bytesRatio = size && size.sampleBytes > 0 ? size.sourceBytes / size.sampleBytes : rowsRatio;
  switch (basis) {
    case 'rows':
      return rowsRatio;
    case 'rewrite':
    case 'scan':
      return bytesRatio;
    case 'index-build': {
      const n = size?.sampleRows ?? 0;
      const N = size?.sourceRows ?? n;
      // Scans and tree loading are linear; only the sort phases pay log n.
      const phases = Object.entries(s.indexPhases);
      const all = phases.reduce((a, [, ms]) => a + ms, 0);
      const sorting = phases.filter(([p]) => /sort/i.test(p)).reduce((a, [, ms]) => a + ms, 0);
      const sortShare = all > 0 ? sorting / all : 1;
      const logRatio = n > 1 && N > 1 ? Math.log2(N) / Math.log2(n) : 1;
      return rowsRatio * (1 - sortShare + sortShare * logRatio);
    }
    case 'constant':
      return 1;
  }
}

/** The step's time on the source (ms) and the measurement's own relative spread. */
function scaledMs(s: StepTrace, basis: Basis, perRow: number, fixed: FixedCosts): { ms: number; spread: number } {
  const initial = basis === 'constant' ? 0.5 : basis === 'index-build' ? 0.25 : 0.2;
  if (basis === 'constant') return { ms: s.durationMs, spread: initial };
  const rate = basis === 'rows' && s.progress ? steadyRate(s.progress, s.durationMs) : null;
  if (rate) {
    // The backfill: its fixed part, then its rows at the steady rate.
    const rows = s.rows ?? Math.max(...s.progress!.map((p) => p.rows));
    return { ms: rate.fixedMs + (rows * perRow) / rate.rowsPerMs, spread: rate.stderr };
  }
  const batchSpread = basis === 'rows' ? 0.12 + cv(s.batchRates) / Math.sqrt(Math.max(1, s.batchRates.length)) : initial;
  const stmts = classified(s);
  if (stmts.length === 0) {
    const part = Math.min(s.durationMs / 2, fixed.stepFixedMs);
    return { ms: part + (s.durationMs - part) * perRow, spread: batchSpread };
  }
  const inSql = stmts.reduce((a, x) => a + x.durationMs, 0);
  let ms = Math.max(0, s.durationMs - inSql); // the step's own overhead
  for (const x of stmts) {
    if (x.work === 'catalog') ms += x.durationMs;
    else {
      const part = Math.min(x.durationMs / 2, fixed.statementFixedMs);
      ms += part + (x.durationMs - part) * perRow;
    }
  }
  return { ms, spread: batchSpread };
}

/** A note when the table and what the step adds outgrow the source's cache (reads may hit disk). */
function cacheNote(
  stepId: string,
  basis: Basis,
  table: string | null,
  size: SizeRow | undefined,
  memory: SourceMemory | null | undefined,
): string | undefined {
  if (basis === 'constant' || !size || !memory) return undefined;
  const grows = basis === 'rows' || basis === 'rewrite' ? 2 : 1; // new row versions or new storage
  const working = (size.sourceBytes + (size.sourceIndexBytes ?? 0)) * grows;
  if (working <= memory.effectiveCacheBytes) return undefined;
  return (
    `${stepId}: ${table} and what this step adds (~${gb(working)}) exceed the source's effective_cache_size (${gb(memory.effectiveCacheBytes)}): ` +
    `on the source it may read from disk, which the in-memory sample does not show; expect it to take longer than projected`
  );
}

function classified(s: StepTrace): { durationMs: number; work: StatementWork }[] {
  let validated = false;
  const rewrote = s.rewrites.length > 0;
  return (s.statements ?? []).map((x) => {
    // A step that rewrote the table did it in one of its statements (a volatile default, a type
    // change): only constraints added NOT VALID are surely catalog-only there.
    const work =
      rewrote && !/\bNOT\s+VALID\b/i.test(x.sql) && !/^\s*(SELECT|SET|SHOW)\b/i.test(x.sql) ? 'data' : statementWork(x.sql, validated);
    if (/\bVALIDATE\s+CONSTRAINT\b/i.test(x.sql)) validated = true;
    return { durationMs: x.durationMs, work };
  });
}

function gb(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${Math.round(bytes / 1024 ** 2)} MB`;
}

function strongestFirst(locks: { relation: string; mode: string }[]): { relation: string; mode: string }[] {
  const seen = new Set<string>();
  return locks
    .filter((l) => {
      const k = `${l.relation}|${l.mode}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => (LOCK_STRENGTH[b.mode as LockMode] ?? 0) - (LOCK_STRENGTH[a.mode as LockMode] ?? 0));
}

/** Notes of all steps, once each, for the rehearsal's warnings. */
export function projectionNotes(steps: StepProjection[]): string[] {
  return [...new Set(steps.flatMap((s) => s.notes))];
}

/**
 * The `rehearsal.projection` payload. Step bands add up linearly: the errors of one machine and
 * one sample are correlated across steps. `uncertainty` is the upper side of the total's band,
 * relative (the wider side); `low_seconds`/`high_seconds` give the band itself.
 */
export function toProjection(steps: StepProjection[]): RehearsalProjection {
  const total = steps.reduce((a, s) => a + s.seconds, 0);
  const low = steps.reduce((a, s) => a + s.lowSeconds, 0);
  const high = steps.reduce((a, s) => a + s.highSeconds, 0);
  return {
    total_seconds: round(total),
    uncertainty: total > 0 ? round((high - total) / total) : 0,
    low_seconds: round(low),
    high_seconds: round(high),
    steps: steps.map((s) => ({
      id: s.id,
      seconds: round(s.seconds),
      low_seconds: round(s.lowSeconds),
      high_seconds: round(s.highSeconds),
      locks: s.locks,
      rewrite: s.rewrite,
      basis: s.basis,
    })),
  };
}

/** The band as operators read it: "6.7–18.6 s" (falls back to ±% for projections without a band). */
export function projectionRange(p: { total_seconds: number; uncertainty: number; low_seconds?: number; high_seconds?: number }): string {
  if (p.low_seconds !== undefined && p.high_seconds !== undefined) return `${p.low_seconds.toFixed(1)}–${p.high_seconds.toFixed(1)} s`;
  return `±${Math.round(p.uncertainty * 100)}%`;
}

/** How the projection works, for reports. */
export const PROJECTION_METHOD =
  'Each step’s sandbox time is split into what does not grow with the table (the step’s own overhead, catalog-only statements, the fixed part every statement pays) and what does, ' +
  'which is scaled to the source: backfills by rows at their steady rate (from the progress timeline), rewrites and validation scans by heap size, index builds by rows with n·log n for the sort. ' +
  'The range combines the measurement’s own spread (for backfills, the rate’s standard error over the run) with one-sided allowances for what a row sample cannot reproduce: ' +
  'per-row work grows slightly with table size (the projection adds the expected growth), and what it costs to keep an index whose key repeats in order depends on its leaf pages and the heap around them: ' +
  'moderately uncertain when the sample holds whole key groups of it, widely when the sample has far fewer rows per key than the source. ' +
  'It assumes the source keeps the table in memory and runs as fast as the sandbox machine; treat it as a planning figure, not a promise.';

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
