// Duration projections for `plan`, with an uncertainty band.
//  - backfill: one real batch, timed inside a transaction that is rolled back (timeOneBatch), or,
//    when the column does not exist yet, a stand-in batch that rewrites the same number of rows in
//    place (also rolled back); projected over the estimated matching rows at the tuned batch size.
//  - scans, index builds, rewrites: the table's size divided by a read rate measured on a block
//    sample of that table (TABLESAMPLE SYSTEM, read only), times a work factor per kind of work.
import type pg from 'pg';
import { timeOneBatch } from '../../backfill/time-one-batch.js';
import { resolveConfig } from '../../backfill/params.js';
import { estimateMatching, introspectTable } from '../../backfill/backfill-target.js';
import type { StepSpec } from '../../runbook/model.js';
import type { Queryable } from '../../pg/queryable.js';
import type { PlanTableFacts } from '../../pg/catalog/plan-table-facts.js';
import { quoteIdent } from '../../pg/connection.js';
import { formatBytes } from '../../util/units.js';
import type { StatementAnalysis } from '../analysis-types.js';
import type { Estimate } from './plan-types.js';

/**
 * Work per byte relative to one sequential read of the table. These are modeling assumptions, not
 * measurements: the read rate is measured, the factors only turn it into a band. A rehearsal
 * (`pgrunbook rehearse`) measures the real thing on a copy.
 */
export const WORK_FACTORS = {
  scan: { mid: 1, low: 0.5, high: 3, label: 'one read of the table' },
  'index-build': { mid: 3, low: 1.5, high: 8, label: 'a read plus a sort and an index write (assumed 1.5-8x a read)' },
  rewrite: { mid: 4, low: 2, high: 10, label: 'a read, a full write and index rebuilds (assumed 2-10x a read)' },
  rows: { mid: 4, low: 2, high: 12, label: 'a read and a new version of every row (assumed 2-12x a read)' },
  // Measured once at 27x on a 33 MB, 300k-row table (PostgreSQL 15, 5000-row batches, shared machine).
  copy: {
    mid: 25,
    low: 12,
    high: 60,
    label: 'a keyset-batched copy: a keyed read, an insert with index entries and a commit per batch (assumed 12-60x a read)',
  },
} as const;

export interface ReadRate {
  bytesPerSecond: number;
  sampledBytes: number;
  ms: number;
}

/** Reads a block sample (~16 MB, or the whole table when smaller) and times it. */
export async function measureReadRate(db: Queryable, t: PlanTableFacts): Promise<ReadRate | undefined> {
  if (t.accessExclusiveNow || t.tableBytes <= 0) return undefined;
  const pages = Math.max(1, t.tableBytes / 8192);
  const pct = Math.min(100, Math.max(0.001, (100 * 2048) / pages));
  const t0 = performance.now();
  try {
    await db.query(`SELECT count(*) FROM ${t.name} TABLESAMPLE SYSTEM (${pct.toFixed(4)})`);
  } catch {
    return undefined;
  }
  const ms = Math.max(0.5, performance.now() - t0);
  const sampledBytes = (t.tableBytes * pct) / 100;
  return { bytesPerSecond: (sampledBytes / ms) * 1000, sampledBytes, ms };
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
    return {
      seconds: 0,
      low: 0,
      high: waitHigh,
      basis: `a catalog change: instant once the lock is granted (waiting for it: up to ${fmtDuration(waitHigh)} with lock_timeout and retries)`,
    };
  }
  return estimateWork(a.work, a.sizeDriver, tables, rates, waitHigh);
}

/** Size-based band for one kind of work over the given tables (read rate measured per table). */
export function estimateWork(
  work: StatementAnalysis['work'] | 'copy',
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
    const bytes = work === 'rewrite' ? t.tableBytes + t.indexBytes : t.tableBytes;
    const base = bytes / r.bytesPerSecond;
    mid += base * kind.mid;
    low += base * kind.low;
    high += base * kind.high;
    parts.push(`${name}: ${formatBytes(bytes)} at ${formatBytes(r.bytesPerSecond)}/s read`);
  }
  if (parts.length === 0) return undefined;
  const wait = waitHigh > 0 ? `; the high end includes up to ${fmtDuration(waitHigh)} waiting for the lock` : '';
  return { seconds: mid, low, high: high + waitHigh, basis: `${kind.label}; ${parts.join('; ')}${wait}` };
}

/** Projection for a backfill step: one real batch in a rolled-back transaction. */
export async function estimateBackfill(
  pool: pg.Pool,
  ro: Queryable,
  step: StepSpec,
  serverVersionNum: number,
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
  let timing: { rows: number; ms: number; batchSize: number } | undefined;
  let basis: string;
  let matching: number | null = null;
  try {
    timing = await timeOneBatch(pool, step, serverVersionNum);
    matching = cfg.where ? await estimateMatching(ro, info, cfg.where) : total;
    basis = `one real batch of ${timing.rows} rows took ${timing.ms.toFixed(1)} ms (rolled back)`;
  } catch (err: any) {
    if (err?.code !== '42703' || !standIn.column) return { error: `timing one batch: ${err?.message ?? String(err)}` };
    // The column is added by an earlier step: rewrite the same rows in place instead.
    timing = await timeStandIn(
      pool,
      info.qualified,
      info.keys.map((k) => k.quoted),
      standIn.column,
      cfg.initialBatchSize,
      cfg.lockTimeoutMs,
    );
    matching = total;
    basis = `the column does not exist yet, so a stand-in batch rewrote ${timing.rows} rows in place (SET ${standIn.column} = ${standIn.column}, rolled back) in ${timing.ms.toFixed(1)} ms`;
  }
  if (matching === null || total === null) return { error: `${info.display} has no row estimate yet (run ANALYZE on it)` };
  if (timing.rows === 0) {
    return matching === 0
      ? { seconds: 0, low: 0, high: 1, basis: `${basis}: no row matches, nothing to do` }
      : { error: `the first batch matched no rows, so its time says nothing about the ~${Math.round(matching)} rows to update` };
  }
  const msPerRow = timing.ms / timing.rows;
  const work = (matching * msPerRow) / 1000;
  const batches = Math.ceil(matching / Math.max(1, cfg.fixedBatchSize ?? Math.max(1, cfg.targetBatchMs / msPerRow)));
  const pauses = (batches * cfg.pauseMs) / 1000;
  const seconds = work + pauses;
  return {
    seconds,
    low: work * 0.6 + pauses,
    high: work * 2.5 + pauses,
    basis: `${basis}; ~${Math.round(matching).toLocaleString('en-US')} rows to update in ~${batches.toLocaleString('en-US')} batches${pauses ? ` with ${cfg.pauseMs} ms pauses` : ''}; band: cache, contention and throttling`,
  };
}

async function timeStandIn(
  pool: pg.Pool,
  table: string,
  keys: string[],
  column: string,
  rows: number,
  lockTimeoutMs: number,
): Promise<{ rows: number; ms: number; batchSize: number }> {
  const c = await pool.connect();
  let broken = false;
  const k = keys.join(', ');
  const col = quoteIdent(column);
  try {
    await c.query(
      `BEGIN READ WRITE; SET LOCAL lock_timeout = ${Math.round(lockTimeoutMs)}; SET LOCAL statement_timeout = 30000; SET LOCAL jit = off`,
    );
    const t0 = performance.now();
    const r = await c.query(
      `UPDATE ${table} SET ${col} = ${col} WHERE (${k}) IN (SELECT ${k} FROM ${table} ORDER BY ${k} LIMIT ${Math.max(1, Math.round(rows))})`,
    );
    return { rows: r.rowCount ?? 0, ms: performance.now() - t0, batchSize: rows };
  } finally {
    await c.query('ROLLBACK').catch(() => (broken = true));
    c.release(broken ? true : undefined);
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
