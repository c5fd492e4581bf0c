// The second worker's key range. The main pass can be cut in two at a key taken from the table:
// the step's cursor row (backfill_cursors) keeps the lower part, whose bound becomes the split key,
// and a range row here covers (split key, old bound] with its own cursor. Each worker's batch
// locks only its own row, updates its rows and moves its own cursor in one transaction, so each
// range is exactly-once on its own, as the single cursor is. The split (bound cut + range row) is
// one transaction under the cursor row's lock; so is the merge at the end of the main pass (the
// range rows' counters added to the cursor row, the rows deleted, the cursor moved to their bound).
import type { Queryable } from '../pg/queryable.js';
import { quoteLiteral } from '../pg/connection.js';
import type { BackfillTarget } from './backfill-target.js';
import { CURSOR_COLUMNS, CURSOR_TABLE, RANGE_TABLE, describeCursor, keyTuple, toRow, type CursorRow } from './cursor-store.js';
import { keyRow, keyText, sameKey, whereClause, type Binder } from './pass-sql.js';

export interface RangeRow {
  rangeNo: number;
  lowerBound: string[];
  upperBound: string[];
  cursor: string[];
  rowsDone: number;
  keysDone: number;
  batches: number;
}

const COLUMNS = `range_no, lower_bound, upper_bound, cursor, rows_done::float8 AS rows_done, keys_done::float8 AS keys_done,
  batches::float8 AS batches`;

export function toRangeRow(r: any): RangeRow {
  return {
    rangeNo: r.range_no,
    lowerBound: r.lower_bound,
    upperBound: r.upper_bound,
    cursor: r.cursor,
    rowsDone: r.rows_done,
    keysDone: r.keys_done,
    batches: r.batches,
  };
}

export const rangeDone = (r: RangeRow): boolean => sameKey(r.cursor, r.upperBound);

const where = (runId: string, stepId: string) => `run_id = ${quoteLiteral(runId)} AND step_id = ${quoteLiteral(stepId)}`;

/** The step's range rows (none before a split, none after the merge); [] when the table is missing. */
export async function readRanges(db: Queryable, runId: string, stepId: string, lock = false): Promise<RangeRow[]> {
  try {
    const r = await db.query(
      `SELECT ${COLUMNS} FROM ${RANGE_TABLE} WHERE ${where(runId, stepId)} ORDER BY range_no${lock ? ' FOR UPDATE' : ''}`,
    );
    return r.rows.map(toRangeRow);
  } catch (err: any) {
    if (err?.code === '42P01' || err?.code === '3F000') return [];
    throw err;
  }
}

export function describeRange(r: RangeRow): string {
  const at = sameKey(r.cursor, r.lowerBound) ? 'not started' : `cursor at ${keyTuple(r.cursor)}`;
  return `keys above ${keyTuple(r.lowerBound)} up to ${keyTuple(r.upperBound)}, ${at}, ${r.rowsDone} rows done in ${r.batches} batches`;
}

/** A saved walk in words: the step's cursor and, while its main pass is split, the second worker's range (its rows are not in the cursor's count until the merge). */
export async function describeSavedWalk(db: Queryable, cur: CursorRow): Promise<string> {
  const ranges = await readRanges(db, cur.runId, cur.stepId);
  return [describeCursor(cur), ...ranges.map((r) => `second key range: ${describeRange(r)}`)].join('; ');
}

/** Locks one range row for the batch transaction (read it with {@link toRangeRow}). */
export function lockRangeSql(runId: string, stepId: string, rangeNo: number): string {
  return `SELECT ${COLUMNS} FROM ${RANGE_TABLE} WHERE ${where(runId, stepId)} AND range_no = ${Math.trunc(rangeNo)} FOR UPDATE`;
}

/**
 * The median key of a block sample of (lower, upper): a real key from the table, strictly inside the
 * range, so both halves hold keys. `pct` is the share of the table's pages sampled. With the step's
 * `where:`, the median of the rows it matches: the rows to write, not the keys to walk past, are
 * what each half should share. Returns the key and how many sampled keys fell in the range.
 */
export function splitKeySql(
  info: BackfillTarget,
  lower: string[] | null,
  upper: string[],
  pct: number,
  bind: Binder,
  where?: string,
): string {
  const k = keyRow(info);
  const row = (v: string[], what: string) => `(${info.keys.map((c, i) => bind(v[i], c.type, `${what} (${c.name})`)).join(', ')})`;
  const cond = [lower ? `${k} > ${row(lower, 'cursor')}` : '', `${k} < ${row(upper, 'pass bound')}`].filter(Boolean).join(' AND ');
  const order = info.keys.map((c) => c.quoted).join(', ');
  // No alias: the `where:` may name the table, as it may in the batches.
  return `WITH __pgrunbook_s AS (
  SELECT ${keyText(info)} AS k, row_number() OVER (ORDER BY ${order}) AS n, count(*) OVER () AS total
    FROM ${info.qualified} TABLESAMPLE SYSTEM (${bind(pct, 'float8', 'percent of pages sampled')})
   WHERE ${cond}${whereClause(where)}
)
SELECT k, total::int AS sampled FROM __pgrunbook_s WHERE n = (total + 1) / 2`;
}

/** Cuts the main pass at `split` (inside the transaction that holds the cursor row's lock). */
export async function insertRange(db: Queryable, runId: string, stepId: string, rangeNo: number, split: string[], upper: string[]) {
  await db.query(
    `INSERT INTO ${RANGE_TABLE} (run_id, step_id, range_no, lower_bound, upper_bound, cursor) VALUES ($1, $2, $3, $4, $5, $4)
       ON CONFLICT DO NOTHING`,
    [runId, stepId, rangeNo, split, upper],
  );
  await db.query(`UPDATE ${CURSOR_TABLE} SET upper_bound = $3, updated_at = now() WHERE run_id = $1 AND step_id = $2`, [
    runId,
    stepId,
    split,
  ]);
}

/**
 * Folds finished ranges into the cursor row (inside the transaction that holds its lock, with the
 * range rows locked): adds their counters, moves the cursor and bound to the highest range bound,
 * and deletes them. Returns the cursor row as the UPDATE left it (the one place the sums are made).
 */
export async function mergeRanges(db: Queryable, runId: string, stepId: string, ranges: RangeRow[]): Promise<CursorRow> {
  const top = ranges[ranges.length - 1]!.upperBound;
  const sum = (f: (r: RangeRow) => number) => ranges.reduce((a, r) => a + f(r), 0);
  await db.query(`DELETE FROM ${RANGE_TABLE} WHERE run_id = $1 AND step_id = $2`, [runId, stepId]);
  const r = await db.query(
    `UPDATE ${CURSOR_TABLE} c SET cursor = $3, upper_bound = $3, rows_done = rows_done + $4, keys_done = keys_done + $5,
            batches = batches + $6, updated_at = now() WHERE run_id = $1 AND step_id = $2
      RETURNING ${CURSOR_COLUMNS}`,
    [runId, stepId, top, sum((r) => r.rowsDone), sum((r) => r.keysDone), sum((r) => r.batches)],
  );
  return toRow(r.rows[0]);
}
