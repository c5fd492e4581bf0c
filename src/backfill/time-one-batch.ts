// For `pgrunbook plan`: run real batches (the first ones) and measure them, inside a transaction
// that is always rolled back. It touches no cursor and commits nothing; the row locks it takes last
// only as long as the transaction, and it waits at most the step's lock_timeout for any of them.
import type pg from 'pg';
import { RunbookError } from '../util/runbook-error.js';
import type { StepSpec } from '../runbook/model.js';
import { checkFragments } from './backfill-fragments.js';
import { resolveConfig, type BackfillConfig } from './params.js';
import { rangeCopySql } from './copy-sql.js';
import { boundarySql, literalBinder, maxKeySql, rangeUpdateSql } from './batch-sql.js';
import { introspectTable, tablePages, type BackfillTarget } from './backfill-target.js';
import { keyRow, keyText } from './pass-sql.js';

export interface BatchTiming {
  /** Rows the batch updated (before the rollback). */
  rows: number;
  /** Duration of the UPDATE itself. */
  ms: number;
  /** Rows of key range the batch covered. */
  batchSize: number;
}

export async function timeOneBatch(
  pool: pg.Pool,
  step: StepSpec,
  _serverVersionNum: number,
  opts: { batchSize?: number } = {},
): Promise<BatchTiming> {
  const cfg = resolveConfig(step.params);
  const bad = await checkFragments(cfg.set, cfg.where);
  if (bad.length)
    throw new RunbookError(`backfill ${step.id}: ${bad[0]!.message}`, { hint: 'fix the step in the runbook; nothing was run' });
  const info = await introspectTable(pool, cfg.table);
  const size = opts.batchSize ?? cfg.fixedBatchSize ?? cfg.initialBatchSize;
  const c = await pool.connect();
  let broken = false;
  try {
    await c.query(
      `BEGIN; SET LOCAL lock_timeout = ${Math.round(cfg.lockTimeoutMs)}; SET LOCAL statement_timeout = ${Math.round(cfg.statementTimeoutMs)}; SET LOCAL jit = off`,
    );
    const max = await c.query<{ k: string[] }>(maxKeySql(info, null, literalBinder));
    const upper = max.rows[0]?.k;
    if (!upper) return { rows: 0, ms: 0, batchSize: 0 };
    const b = await c.query<{ k: string[] }>(boundarySql(info, null, upper, size, literalBinder));
    const end = b.rows[0]?.k ?? upper;
    const t0 = performance.now();
    const r = await c.query(rangeUpdateSql({ info, set: cfg.set, where: cfg.where }, null, end, literalBinder));
    const ms = performance.now() - t0;
    return { rows: r.rowCount ?? 0, ms, batchSize: size };
  } catch (err: any) {
    if (err?.code === '55P03') {
      throw new RunbookError(
        `timing one batch of ${info.display}: a row or table lock was held longer than lock_timeout (${cfg.lockTimeoutMs} ms)`,
        {
          sqlstate: err.code,
          hint: 'the real run steps around held rows; for the estimate, plan again when the table is quieter',
        },
      );
    }
    throw err;
  } finally {
    await c.query('ROLLBACK').catch(() => (broken = true));
    c.release(broken ? true : undefined);
  }
}

/** One timed batch of a sample: `keys` of key range, `rows` written, `ms` of its statement. */
export interface BatchSample {
  keys: number;
  rows: number;
  ms: number;
  /** WAL the statement wrote: the server's insert position before and after it (other writers meanwhile count too). */
  walBytes?: number;
}

export interface BatchCostSample {
  samples: BatchSample[];
  /** Median time of the round trip that opens each batch (settings and the walk to the batch's end key). */
  openMs: number;
  /** The table had fewer keys than the samples asked for. */
  partial: boolean;
  /** Where the batches started: at random keys across the table, or all at its start (an empty block sample). */
  starts: 'spread' | 'start';
}

/** SQL run untimed inside a sample batch's savepoint, before its timed statement: what earlier steps do to the same key range. */
export type BeforeBatch = (lower: string[] | null, end: string[]) => string;

/**
 * For `plan`: batches of the given sizes, each over its own key range starting at a key picked at
 * random from a block sample of the table (so free space or skew at the table's start does not
 * bias every plan), each as the engine runs it (a round trip with the settings and the end-key
 * walk, then the UPDATE, or the INSERT .. SELECT of a copy), each undone by ROLLBACK TO SAVEPOINT,
 * all in one transaction that is rolled back. `setup` runs first in the same transaction (a copy's
 * empty target); `before` runs untimed before each timed statement. Nothing is committed.
 */
export async function sampleBatchCost(
  pool: pg.Pool,
  cfg: BackfillConfig,
  opts: { sizes: number[]; setup?: string[]; before?: BeforeBatch },
): Promise<BatchCostSample> {
  if (!cfg.copy) {
    const bad = await checkFragments(cfg.set, cfg.where);
    if (bad.length)
      throw new RunbookError(`backfill of ${cfg.table}: ${bad[0]!.message}`, { hint: 'fix the step in the runbook; nothing was run' });
  }
  const info = await introspectTable(pool, cfg.table);
  const settings = [
    `SET LOCAL lock_timeout = ${Math.round(cfg.lockTimeoutMs)}`,
    `SET LOCAL statement_timeout = ${Math.round(cfg.statementTimeoutMs)}`,
    'SET LOCAL jit = off',
    'SET LOCAL synchronous_commit = off',
  ];
  const c = await pool.connect();
  let broken = false;
  const out: BatchCostSample = { samples: [], openMs: 0, partial: false, starts: 'start' };
  const opens: number[] = [];
  try {
    const canReadWal = await walReadable(c);
    await c.query(['BEGIN', ...settings, ...(opts.setup ?? [])].join(';\n'));
    const max = await c.query<{ k: string[] }>(maxKeySql(info, null, literalBinder));
    const upper = max.rows[0]?.k;
    if (!upper) return out;
    const starts = await spreadStartKeys(c, info, opts.sizes.length);
    for (const [i, size] of opts.sizes.entries()) {
      const t0 = performance.now();
      let lower = starts[i] ?? null;
      let row = await batchEnd(c, settings, info, lower, upper, size);
      if (!row && lower) {
        // Too few keys after this start for the batch: take it from the table's start instead.
        await c.query('ROLLBACK TO SAVEPOINT pgrunbook_sample');
        lower = null;
        row = await batchEnd(c, settings, info, lower, upper, size);
      }
      opens.push(performance.now() - t0);
      // The basis says "random key ranges" only when a batch really started at one.
      if (lower) out.starts = 'spread';
      const end = row?.k ?? upper;
      if (opts.before) await c.query(opts.before(lower, end));
      const wal0 = canReadWal ? await walPosition(c) : undefined;
      const t1 = performance.now();
      const r = cfg.copy
        ? await c.query<{ n: number }>(rangeCopySql({ info, copy: cfg.copy }, lower, end, literalBinder))
        : await c.query(rangeUpdateSql({ info, set: cfg.set, where: cfg.where }, lower, end, literalBinder));
      const ms = performance.now() - t1;
      const rows = cfg.copy ? Number(r.rows[0]?.n ?? 0) : (r.rowCount ?? 0);
      const walBytes = wal0 === undefined ? undefined : await walSince(c, wal0);
      await c.query('ROLLBACK TO SAVEPOINT pgrunbook_sample');
      out.samples.push({ keys: row ? size : Math.max(rows, 1), rows, ms, walBytes });
      if (!row) {
        out.partial = true;
        break;
      }
    }
    out.openMs = median(opens);
    return out;
  } catch (err: any) {
    if (err?.code === '55P03') {
      throw new RunbookError(
        `timing sample batches of ${info.display}: a row or table lock was held longer than lock_timeout (${cfg.lockTimeoutMs} ms)`,
        { sqlstate: err.code, hint: 'the real run steps around held rows; for the estimate, plan again when the table is quieter' },
      );
    }
    throw err;
  } finally {
    await c.query('ROLLBACK').catch(() => (broken = true));
    c.release(broken ? true : undefined);
  }
}

/** Opens a sample batch (savepoint, settings) and finds its end key, as the engine's batch does; undefined when fewer keys remain. */
async function batchEnd(
  c: pg.PoolClient,
  settings: string[],
  info: BackfillTarget,
  lower: string[] | null,
  upper: string[],
  size: number,
): Promise<{ k: string[] } | undefined> {
  const b = await c.query(['SAVEPOINT pgrunbook_sample', ...settings, boundarySql(info, lower, upper, size, literalBinder)].join(';\n'));
  return (Array.isArray(b) ? b.at(-1) : b)?.rows[0] as { k: string[] } | undefined;
}

/**
 * `n` keys at random places of the table, in key order (null: the table's start), from the rows of
 * about 2n random blocks (TABLESAMPLE SYSTEM reads only those blocks). A new set on every plan.
 */
async function spreadStartKeys(c: pg.PoolClient, info: BackfillTarget, n: number): Promise<(string[] | null)[]> {
  const relpages = await tablePages(c, info);
  const pct = Math.min(100, Math.max(0.0001, (100 * 2 * n) / relpages));
  const r = await c.query<{ k: string[] }>(
    `SELECT k FROM (SELECT ${keyText(info)} AS k, ${keyRow(info)} AS r FROM ${info.qualified} TABLESAMPLE SYSTEM (${pct.toFixed(4)})
       ORDER BY random() LIMIT ${n}) s ORDER BY r`,
  );
  const keys: (string[] | null)[] = r.rows.map((x) => x.k);
  while (keys.length < n) keys.unshift(null);
  return keys;
}

/** Whether this role may read the WAL position (a DBA can revoke it): without it the samples leave WAL out. */
async function walReadable(c: pg.PoolClient): Promise<boolean> {
  const r = await c.query<{ ok: boolean }>(
    `SELECT has_function_privilege('pg_current_wal_insert_lsn()', 'EXECUTE')
        AND has_function_privilege('pg_wal_lsn_diff(pg_lsn, pg_lsn)', 'EXECUTE') AS ok`,
  );
  return r.rows[0]?.ok === true;
}

/** The server's WAL insert position (a standby has none, but a standby cannot run the sample's writes either). */
async function walPosition(c: pg.PoolClient): Promise<string> {
  return (await c.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]!.l;
}

/** WAL bytes written since `from` (the batch's own inserts and index entries, rolled back or not, are in it). */
async function walSince(c: pg.PoolClient, from: string): Promise<number> {
  const r = await c.query<{ b: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)::bigint AS b', [from]);
  return Math.max(0, Number(r.rows[0]?.b ?? 0));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
