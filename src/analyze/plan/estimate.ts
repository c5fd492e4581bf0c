// Duration projections for `plan`, with an uncertainty band.
//  - backfill and a swap_table copy: sample batches of two sizes, timed as the engine runs them and
//    undone (sampleBatchCost, one rolled-back transaction; a backfill whose column does not exist yet
//    rewrites a column in place instead); the fixed and per-key costs fitted on them are run through
//    the engine's tuner over the table's keys (batch-projection.ts). A single batch's time per row,
//    as before, missed each batch's fixed part (round trips, planning) and the sizes the tuner picks.
//    The WAL the samples wrote per key, over the whole walk, adds the wal_rate and
//    checkpoint_pressure rules' pacing (wal-pacing.ts).
//  - scans, index builds, rewrites: the table's size divided by a read rate measured on a block
//    sample of that table (TABLESAMPLE SYSTEM, read only), times a work factor per kind of work.
import type pg from 'pg';
import { z } from 'zod';
import { sampleBatchCost, type BatchCostSample } from '../../backfill/time-one-batch.js';
import { literalBinder, rangeUpdateSql } from '../../backfill/batch-sql.js';
import type { EarlierChanges } from './earlier-steps.js';
import { batchKnobs, batchKnobsShape, resolveConfig, type BackfillConfig } from '../../backfill/params.js';
import { AIM_FRACTION } from '../../backfill/tuner.js';
import type { PlannedCopy } from '../../engine/step-kind.js';
import { fitBatchCost, projectBatches, sampleSpread } from './batch-projection.js';
import { estimateMatching, introspectTable } from '../../backfill/backfill-target.js';
import type { StepSpec } from '../../runbook/model.js';
import type { Queryable } from '../../pg/queryable.js';
import type { PlanTableFacts } from '../../pg/catalog/plan-table-facts.js';
import { quoteIdent } from '../../pg/connection.js';
import { formatBytes } from '../../util/units.js';
import type { StatementAnalysis } from '../analysis-types.js';
import type { Estimate } from './plan-types.js';
import { AUTO } from '../../backfill/second-worker-policy.js';
import { type PlanWalFacts, readPlanWalFacts, type WalPacing, walPacing, walPerKey, walRateInForce } from './wal-pacing.js';

/**
 * Work per byte relative to one sequential read of the table. These are modeling assumptions, not
 * measurements: the read rate is measured, the factors only turn it into a band. A rehearsal
 * (`pgrunbook rehearse`) measures the real thing on a copy.
 */
export const WORK_FACTORS = {
  // Low end from a 1M-row run (PG 17, load ~13): a VALIDATE of a simple CHECK took 0.54-0.71x the
  // read of the slice, a foreign key's 1.35x; on a 10 MB table in a loaded CI run the timed read was
  // slowed by the other work and a CHECK's VALIDATE took 0.21x it.
  scan: { mid: 1, low: 0.2, high: 3, label: 'one read of the table' },
  checksum: { mid: 1, low: 0.5, high: 3, label: 'one read of the table turning every row into text and hashing it' },
  // CREATE INDEX CONCURRENTLY reads the table twice and waits for older transactions between its
  // phases: on PG 17 (20k-1M rows, load 4-14) it took 4.6-10.7x the timed read, where 3x was assumed;
  // on a 10 MB table (a test on PG 14 and 18), 2.6x a timed read that had come out slow.
  'index-build': {
    mid: 6,
    low: 2,
    high: 16,
    label: 'a read plus a sort and an index write; CONCURRENTLY, two reads and waits between its phases (assumed 2-16x a read)',
  },
  rewrite: { mid: 4, low: 2, high: 10, label: 'a read, a full write and index rebuilds (assumed 2-10x a read)' },
  rows: { mid: 4, low: 2, high: 12, label: 'a read and a new version of every row (assumed 2-12x a read)' },
  // Only when the copy cannot be sampled (--no-time-batch, a sample that failed). Measured once at
  // 27x on a 33 MB, 300k-row table; the copy through the tuned engine ran 3.6-6.9x over it since.
  copy: {
    mid: 25,
    low: 12,
    high: 60,
    label: 'a keyset-batched copy: a keyed read, an insert with index entries and a commit per batch (assumed 12-60x a read)',
  },
} as const;

export interface ReadRate {
  bytesPerSecond: number;
  /** The same read turning every row into text and hashing it (a copy's verification), right after. */
  checksumBytesPerSecond?: number;
  /** A consecutive slice read in block order, or a block sample (scattered blocks). */
  how: 'slice' | 'blocks';
  sampledBytes: number;
  ms: number;
}

/** A contiguous slice of the table, read in block order as a sequential scan reads it: about 16 MB. */
const SLICE_PAGES = 2048;

/**
 * Reads a slice of the table and times it: on PostgreSQL 14+ (TID range scans) ~16 MB of
 * consecutive blocks from a random place, read in order as the VALIDATE / CREATE INDEX scan reads
 * them, whatever of them is cached now counting as cached; before 14 (or partitioned), a block
 * sample (TABLESAMPLE SYSTEM), whose scattered reads are slower than a sequential scan.
 */
export async function measureReadRate(
  db: Queryable,
  t: PlanTableFacts,
  versionNum: number,
): Promise<ReadRate | { error: string } | undefined> {
  if (t.accessExclusiveNow || t.tableBytes <= 0) return undefined;
  const pages = Math.max(1, Math.floor(t.tableBytes / 8192));
  const slice = versionNum >= 140000 && t.relkind !== 'p';
  const pct = Math.min(100, Math.max(0.001, (100 * SLICE_PAGES) / pages));
  const from = slice ? Math.floor(Math.random() * Math.max(1, pages - SLICE_PAGES)) : 0;
  const rows = slice
    ? `${t.name} __pgrunbook_r WHERE ctid >= '(${from},0)'::tid AND ctid < '(${from + SLICE_PAGES},0)'::tid`
    : `${t.name} __pgrunbook_r TABLESAMPLE SYSTEM (${pct.toFixed(4)})`;
  const ms = await serverMs(db, `SELECT count(*) FROM ${rows}`);
  if (typeof ms !== 'number') return ms;
  const sampledBytes = slice ? Math.min(pages, SLICE_PAGES) * 8192 : (t.tableBytes * pct) / 100;
  const rate: ReadRate = { bytesPerSecond: (sampledBytes / ms) * 1000, sampledBytes, ms, how: slice ? 'slice' : 'blocks' };
  // A verification reads what the copy just read: the same rows, cached now by the read above.
  const hashMs = await serverMs(db, `SELECT sum(hashtextextended(__pgrunbook_r::text, 0)) FROM ${rows}`);
  return typeof hashMs !== 'number' ? rate : { ...rate, checksumBytesPerSecond: (sampledBytes / hashMs) * 1000 };
}

/**
 * A read-only query's execution time as the server measured it (EXPLAIN ANALYZE, no per-node
 * timing): the scan alone, without this client's round trips and wake-ups, which a step's own
 * round trips account for separately.
 */
async function serverMs(db: Queryable, sql: string): Promise<number | { error: string }> {
  try {
    const r = await db.query<{ 'QUERY PLAN': [{ 'Execution Time': number }] }>(`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${sql}`);
    const ms = Number(r.rows[0]?.['QUERY PLAN']?.[0]?.['Execution Time']);
    return Number.isFinite(ms) ? Math.max(0.5, ms) : { error: 'EXPLAIN ANALYZE gave no execution time' };
  } catch (err: any) {
    const grant = err?.code === '42501' ? ': grant the planning role SELECT on it' : '';
    return { error: `${err?.message ?? err}${grant}` };
  }
}

export function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 1) return `${Math.max(1, Math.round(s * 1000))} ms`;
  if (s < 90) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function estimateText(e: Estimate): string {
  if (e.seconds === 0 && e.high === 0) return 'instant';
  if (e.seconds === 0) return `instant once locked (lock wait ≤ ${fmtDuration(e.high)})`;
  return `~${fmtDuration(e.seconds)} (${fmtDuration(e.low)} – ${fmtDuration(e.high)})`;
}

/** Projection for one analyzed statement from the sizes of the tables it rewrites or scans. */
export function estimateStatement(
  a: StatementAnalysis,
  tables: Map<string, PlanTableFacts>,
  rates: Map<string, ReadRate>,
  lockWait: { lockTimeoutMs: number; retries: number },
): Estimate | undefined {
  const waitHigh = (lockWait.lockTimeoutMs * (lockWait.retries + 1)) / 1000;
  if (a.work === 'none' || a.work === 'catalog') {
    const what = a.work === 'catalog' ? 'a catalog change' : 'no table read in full, nothing rewritten';
    return {
      seconds: 0,
      low: 0,
      high: waitHigh,
      basis: `${what}: instant once the lock is granted (waiting for it: up to ${fmtDuration(waitHigh)} with lock_timeout and retries)`,
    };
  }
  return estimateWork(a.work, a.sizeDriver, tables, rates, waitHigh);
}

/** Size-based band for one kind of work over the given tables (read rate measured per table). */
export function estimateWork(
  work: StatementAnalysis['work'] | 'copy' | 'checksum',
  sizeDriver: string[],
  tables: Map<string, PlanTableFacts>,
  rates: Map<string, ReadRate>,
  waitHigh: number,
): Estimate | undefined {
  const kind = work === 'unknown' || work === 'none' || work === 'catalog' ? undefined : WORK_FACTORS[work];
  if (!kind) return undefined;
  let mid = 0;
  let low = 0;
  let high = 0;
  const parts: string[] = [];
  for (const name of sizeDriver) {
    const t = tables.get(name);
    const r = rates.get(name);
    if (!t) continue;
    if (!r) {
      parts.push(`${name}: ${formatBytes(t.tableBytes)}, read rate not measured`);
      continue;
    }
    const rate = work === 'checksum' ? r.checksumBytesPerSecond : r.bytesPerSecond;
    if (!rate) {
      parts.push(`${name}: ${formatBytes(t.tableBytes)}, checksum rate not measured`);
      continue;
    }
    const bytes = work === 'rewrite' ? t.tableBytes + t.indexBytes : t.tableBytes;
    const base = bytes / rate;
    mid += base * kind.mid;
    low += base * kind.low;
    high += base * kind.high;
    parts.push(
      `${name}: ${formatBytes(bytes)} at ${formatBytes(rate)}/s ${work === 'checksum' ? 'hashed' : 'read'} (timed on ${r.how === 'slice' ? `a ${formatBytes(r.sampledBytes)} slice read in order` : 'a block sample'})`,
    );
  }
  // Nothing timed: no figure at all, rather than a zero that reads as "instant".
  if (mid === 0) return undefined;
  const wait = waitHigh > 0 ? `; the high end includes up to ${fmtDuration(waitHigh)} waiting for the lock` : '';
  return { seconds: mid, low, high: high + waitHigh, basis: `${kind.label}; ${parts.join('; ')}${wait}` };
}

/** Sample sizes: the engine's first size and four times it, three times each (fastest, median and slowest of each bound the band), or the fixed size twice. */
function sampleSizes(k: Pick<BackfillConfig, 'fixedBatchSize' | 'initialBatchSize' | 'maxBatchSize'>): number[] {
  if (k.fixedBatchSize !== undefined) return [k.fixedBatchSize, k.fixedBatchSize];
  const a = k.initialBatchSize;
  const b = Math.max(a + 1, Math.min(k.maxBatchSize, a * 4));
  return [a, b, a, b, a, b];
}

/**
 * The work of a batched walk of `keys` keys: the tuner's projection on the median sample of each
 * size; the band from the fastest samples (x0.6) to the slowest (x2.5: cache, contention, throttling),
 * so samples that met a loaded server widen it by as much as they varied.
 */
function batchedEstimate(
  sample: BatchCostSample,
  cfg: BackfillConfig,
  keys: number,
  what: string,
  wal: PlanWalFacts,
): Estimate | { error: string } {
  const cost = fitBatchCost(sample, 'median');
  const fast = fitBatchCost(sample, 'fastest');
  const slow = fitBatchCost(sample, 'slowest');
  if (!cost || !fast || !slow) return { error: 'the sample batches found no keys to time' };
  const p = projectBatches(cost, cfg, keys);
  const pacing = walPacingOf(sample, cfg, keys, (p.ms - p.pausesMs) / 1000, wal);
  // The batches' own time (median, fastest x0.6, slowest x2.5), then the WAL rules' pacing of each.
  const work = (x: { ms: number; pausesMs: number }) => (x.ms - x.pausesMs) / 1000;
  const paced = (w: number) => (pacing ? pacing.seconds(w) : w);
  const pauses = p.pausesMs / 1000;
  const spread = sampleSpread(sample);
  const sizing =
    cfg.fixedBatchSize !== undefined
      ? `fixed batches of ${fmt(cfg.fixedBatchSize)}`
      : `the engine's tuner (aiming at ${Math.round(cfg.targetBatchMs * AIM_FRACTION)} ms of its ${cfg.targetBatchMs} ms target) settles at ~${fmt(p.size)} keys`;
  // Two workers on halves of the keys can at most halve the walk; auto adds the second only on a long walk.
  const twoWorkers = cfg.workers === 2 || (cfg.workers === 'auto' && p.batches >= AUTO.minBatchesLeft);
  // Halved before pacing: two workers write the WAL twice as fast, so wal_rate holds them back harder.
  const low = paced(Math.min(work(p), work(projectBatches(fast, cfg, keys)) * 0.6) / (twoWorkers ? 2 : 1)) + pauses;
  return {
    seconds: paced(work(p)) + pauses,
    low,
    high: paced(Math.max(work(p), work(projectBatches(slow, cfg, keys)) * 2.5)) + pauses,
    basis:
      `${sample.samples.length} timed ${what} batch${sample.samples.length === 1 ? '' : 'es'} (rolled back${sample.starts === 'spread' ? ', at random key ranges' : ''}): ${cost.fit}, plus ${fmtDuration(sample.openMs / 1000)} to open each batch; ` +
      `${sizing}, so ~${fmt(keys)} keys take ~${fmt(p.batches)} batches${pauses ? ` with ${cfg.pauseMs} ms pauses` : ''}; ` +
      `band: 0.6x the fastest samples to 2.5x the slowest (cache, contention and throttling; the slowest sample of a size took ${spread.toFixed(1)}x its fastest)` +
      (pacing ? `; ${pacing.note}` : sample.samples.length ? '; WAL not counted: this role may not read the WAL position' : '') +
      (twoWorkers
        ? `; timed as one worker: ${cfg.workers === 2 ? 'workers: 2' : 'workers: auto, on a walk this long,'} can run a second on the other half of the keys, so the band's low end is halved (the batches' time; the WAL rules then pace two workers' WAL)`
        : ''),
  };
}

/** The WAL rules' pacing of the walk, from the WAL the samples wrote per key; undefined when the samples carry no WAL figure. */
function walPacingOf(
  sample: BatchCostSample,
  cfg: BackfillConfig,
  keys: number,
  workSeconds: number,
  wal: PlanWalFacts,
): WalPacing | undefined {
  const perKey = walPerKey(sample);
  if (perKey === undefined) return undefined;
  const t = cfg.throttle;
  const rules = t.enabled
    ? {
        ...walRateInForce(t.walRateBytes, t.walRateByDefault, wal.consumers),
        checkpointPressureMs: t.checkpointPressureMs,
        probeIntervalMs: t.probeIntervalMs,
      }
    : { walRateBytes: 0, checkpointPressureMs: 0, probeIntervalMs: t.probeIntervalMs };
  return walPacing(perKey * keys, workSeconds, rules, wal.checkpoint);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Projection for a backfill step: sample batches of two sizes in a rolled-back transaction, run through the engine's tuner. */
export async function estimateBackfill(
  pool: pg.Pool,
  ro: Queryable,
  step: StepSpec,
  standIn: { column?: string },
): Promise<Estimate | { error: string }> {
  let cfg;
  try {
    cfg = resolveConfig(step.params);
  } catch (err) {
    return { error: `backfill parameters: ${(err as Error).message}` };
  }
  let info;
  try {
    info = await introspectTable(ro, cfg.table);
  } catch (err) {
    return { error: (err as Error).message };
  }
  const total = info.estimatedRows;
  if (total === null) return { error: `${info.display} has no row estimate yet (run ANALYZE on it)` };
  let sample: BatchCostSample;
  let what = 'UPDATE';
  let standInNote = '';
  let matching: number | null;
  try {
    sample = await sampleBatchCost(pool, cfg, { sizes: sampleSizes(cfg) });
    matching = cfg.where ? ((await estimateMatching(ro, info, cfg.where))?.rows ?? null) : total;
  } catch (err: any) {
    if (err?.code !== '42703' || !standIn.column) return { error: `timing sample batches: ${err?.message ?? String(err)}` };
    // The column is added by an earlier step: rewrite the same rows in place instead.
    const col = quoteIdent(standIn.column);
    sample = await sampleBatchCost(pool, { ...cfg, set: `${col} = ${col}`, where: undefined }, { sizes: sampleSizes(cfg) });
    matching = total;
    what = 'stand-in';
    standInNote = `; the column does not exist yet, so the samples rewrote ${standIn.column} in place (SET ${standIn.column} = ${standIn.column})`;
  }
  if (matching === null) return { error: `${info.display} has no row estimate yet (run ANALYZE on it)` };
  const rows = sample.samples.reduce((a, x) => a + x.rows, 0);
  if (rows === 0) {
    return matching === 0
      ? {
          seconds: 0,
          low: 0,
          high: 1,
          basis: `${sample.samples.length} sample batches matched no row, and the statistics agree: nothing to do`,
        }
      : { error: `the sample batches matched no rows, so their time says nothing about the ~${fmt(matching)} rows to update` };
  }
  const e = batchedEstimate(sample, cfg, total, what, await readPlanWalFacts(ro));
  if ('error' in e) return e;
  return { ...e, basis: `${e.basis}; ~${fmt(Math.min(matching, total))} of them match${standInNote}` };
}

/** Projection for a copy (swap_table's): sample batches into an empty table of the target's shape, rolled back, after replaying what earlier steps do to the table. */
export async function estimateCopy(
  pool: pg.Pool,
  ro: Queryable,
  copy: PlannedCopy,
  earlier: EarlierChanges,
): Promise<Estimate | { error: string }> {
  let cfg: BackfillConfig;
  let total: number | null;
  try {
    const knobs = batchKnobs(z.object(batchKnobsShape).parse(copy.params));
    const { setup, ...spec } = copy.sample;
    cfg = { table: copy.table, set: '', ...knobs, copy: spec };
    const info = await introspectTable(ro, copy.table);
    total = info.estimatedRows;
    if (total === null) return { error: `${copy.table} has no row estimate yet (run ANALYZE on it)` };
    const before = earlier.rewrites.length
      ? (lower: string[] | null, end: string[]) =>
          earlier.rewrites.map((r) => rangeUpdateSql({ info, set: r.set, where: r.where }, lower, end, literalBinder)).join(';\n')
      : undefined;
    const sample = await sampleBatchCost(pool, cfg, { sizes: sampleSizes(cfg), setup: [...setup, ...earlier.setup], before });
    const e = batchedEstimate(sample, cfg, total, 'copy', await readPlanWalFacts(ro));
    if ('error' in e) return e;
    const said = [
      ...(earlier.replayed.length ? [`the sample replays ${earlier.replayed.join('; ')}`] : []),
      ...(earlier.notReplayed.length ? [`the sample does not replay ${earlier.notReplayed.join('; ')}`] : []),
    ];
    return said.length ? { ...e, basis: `${e.basis}; ${said.join('; ')}` } : e;
  } catch (err: any) {
    return { error: `timing sample copy batches: ${err?.message ?? String(err)}` };
  }
}

export function sumEstimates(list: (Estimate | undefined)[]): Estimate | undefined {
  const xs = list.filter((e): e is Estimate => !!e);
  if (xs.length === 0) return undefined;
  return {
    seconds: xs.reduce((a, e) => a + e.seconds, 0),
    low: xs.reduce((a, e) => a + e.low, 0),
    high: xs.reduce((a, e) => a + e.high, 0),
    basis: 'sum of its parts',
  };
}
