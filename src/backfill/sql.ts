// SQL of one batch, generated from the table's primary key. Key values travel as text parameters
// cast to the key column types, and ranges are row-value comparisons, `(a, b) > ($3::int, $4::uuid)`,
// which btree indexes answer directly, so composite keys page as cheaply as a single bigint.
//
// Names introduced here start with __pgrunbook_ so they cannot capture a column or table that the
// runbook's `set` / `where` refer to.
import { CURSOR_TABLE, SKIPPED_TABLE } from './cursorStore.js';
import type { TableInfo } from './table.js';

export interface BatchSqlInput {
  info: TableInfo;
  set: string;
  where?: string;
}

const n = (i: number) => `$${i}`;

/** `("a", "b")`, optionally qualified by a range-variable name. */
export function keyRow(info: TableInfo, qualifier?: string): string {
  return `(${info.keys.map((k) => (qualifier ? `${qualifier}.${k.quoted}` : k.quoted)).join(', ')})`;
}

/** `($first::bigint, $first+1::uuid)`: key parameters cast to the column types. */
export function paramRow(info: TableInfo, first: number): string {
  return `(${info.keys.map((k, i) => `${n(first + i)}::${k.type}`).join(', ')})`;
}

/** `(arr[1]::bigint, arr[2]::uuid)` for a text[] expression. */
export function arrayRow(info: TableInfo, arr: string): string {
  return `(${info.keys.map((k, i) => `(${arr})[${i + 1}]::${k.type}`).join(', ')})`;
}

/** `ARRAY["a"::text, "b"::text]`: how keys leave the database. */
export function keyText(info: TableInfo, qualifier?: string): string {
  return `ARRAY[${info.keys.map((k) => `${qualifier ? `${qualifier}.` : ''}${k.quoted}::text`).join(', ')}]`;
}

function orderBy(info: TableInfo, dir: 'asc' | 'desc' = 'asc'): string {
  return info.keys.map((k) => `${k.quoted} ${dir}`).join(', ');
}

// User fragments end with a newline so a trailing `-- comment` cannot swallow what follows.
function whereClause(where: string | undefined): string {
  return where ? ` AND (${where}\n)` : '';
}

function setClause(set: string): string {
  return `${set}\n`;
}

/**
 * Range condition `key > lower AND key <= upper` with parameters starting at `first`
 * (the lower bound is left out for the first batch). Returns the SQL and the next free parameter.
 */
function range(info: TableInfo, first: number, hasLower: boolean, qualifier?: string): { sql: string; next: number } {
  const k = keyRow(info, qualifier);
  const parts: string[] = [];
  let i = first;
  if (hasLower) {
    parts.push(`${k} > ${paramRow(info, i)}`);
    i += info.keys.length;
  }
  parts.push(`${k} <= ${paramRow(info, i)}`);
  i += info.keys.length;
  return { sql: parts.join(' AND '), next: i };
}

/**
 * The end of the next batch: the key `limit` rows past the cursor, within the pass bound.
 * Params: [lower..., upper..., limit]. No row = fewer than `limit` rows remain (the batch ends at the bound).
 * Reads only the primary key index.
 */
export function boundarySql(info: TableInfo, hasLower: boolean): string {
  const r = range(info, 1, hasLower);
  return `SELECT ${keyText(info)} AS k FROM ${info.qualified} WHERE ${r.sql} ORDER BY ${orderBy(info)} OFFSET ${n(r.next)}::int - 1 LIMIT 1`;
}

/** Highest key above `lower` (or overall): the bound of a new pass. Params: [lower...]. */
export function maxKeySql(info: TableInfo, hasLower: boolean): string {
  const cond = hasLower ? ` WHERE ${keyRow(info)} > ${paramRow(info, 1)}` : '';
  return `SELECT ${keyText(info)} AS k FROM ${info.qualified}${cond} ORDER BY ${orderBy(info, 'desc')} LIMIT 1`;
}

/**
 * Moves the cursor and the counters; `rowsExpr` is the number of rows this batch updated. The keys
 * parameter is NULL for a pass's last batch, whose key count the boundary query did not measure.
 */
function cursorUpdate(cursorParam: number, keysParam: number, sizeParam: number, rowsExpr: string): string {
  return `UPDATE ${CURSOR_TABLE} SET cursor = ${n(cursorParam)}::text[], rows_done = rows_done + ${rowsExpr},
           keys_done = keys_done + coalesce(${n(keysParam)}::bigint, ${rowsExpr}), batches = batches + 1, batch_size = ${n(sizeParam)}::int, updated_at = now()
     WHERE run_id = $1 AND step_id = $2 RETURNING rows_done`;
}

/**
 * Fast path: one plain UPDATE of the key range (its own row locks are FOR NO KEY UPDATE). Run with a
 * short lock_timeout: a row held by another session makes it fail with 55P03 after that timeout,
 * and the batch is redone with {@link skipLockedBatchSql}. The cursor moves with
 * {@link moveCursorSql} in the same transaction. (A data-modifying CTE would save that round trip
 * but buffers every updated row for RETURNING, spilling to disk on big batches.)
 *
 * Params: [lower...], [upper...].
 */
export function fastBatchSql(b: BatchSqlInput, hasLower: boolean): string {
  const r = range(b.info, 1, hasLower);
  return `UPDATE ${b.info.qualified} SET ${setClause(b.set)} WHERE ${r.sql}${whereClause(b.where)}`;
}

/** Params: $1 run_id, $2 step_id, $3 new cursor (text[]), $4 rows updated, $5 keys in batch (NULL = use $4), $6 batch size. */
export const moveCursorSql = `UPDATE ${CURSOR_TABLE}
   SET cursor = $3::text[], rows_done = rows_done + $4::bigint, keys_done = keys_done + coalesce($5::bigint, $4::bigint),
       batches = batches + 1, batch_size = $6::int, updated_at = now()
 WHERE run_id = $1 AND step_id = $2
RETURNING rows_done::float8 AS rows_done`;

/**
 * Contended path: lock what is free in the range with SKIP LOCKED, update exactly those rows (by
 * tableoid + ctid of the version we locked), and record the keys of rows that someone else holds in
 * backfill_skipped, in the same transaction as the cursor move. The retry pass handles those later.
 * Skipped rows are found by key, not ctid: a row updated by another session since our snapshot is
 * locked in its newer version, whose ctid differs from the one our snapshot sees.
 *
 * Params: $1 run_id, $2 step_id, [lower...], [upper...], new cursor (text[]), keys in batch, batch size.
 */
export function skipLockedBatchSql(b: BatchSqlInput, hasLower: boolean): string {
  const r = range(b.info, 3, hasLower);
  const t = b.info.relname;
  return `WITH __pgrunbook_locked AS (
  SELECT tableoid AS __pgrunbook_toid, ctid AS __pgrunbook_tid, ${keyText(b.info)} AS __pgrunbook_key
    FROM ${b.info.qualified}
   WHERE ${r.sql}${whereClause(b.where)}
   FOR NO KEY UPDATE OF ${t} SKIP LOCKED
), __pgrunbook_upd AS (
  UPDATE ${b.info.qualified} SET ${setClause(b.set)}
    FROM __pgrunbook_locked __pgrunbook_l
   WHERE ${t}.tableoid = __pgrunbook_l.__pgrunbook_toid AND ${t}.ctid = __pgrunbook_l.__pgrunbook_tid
  RETURNING 1
), __pgrunbook_skip AS (
  INSERT INTO ${SKIPPED_TABLE} (run_id, step_id, key)
  SELECT $1, $2, ${keyText(b.info, t)}
    FROM ${b.info.qualified}
   WHERE ${r.sql}${whereClause(b.where)}
     AND ${keyText(b.info, t)} NOT IN (SELECT __pgrunbook_key FROM __pgrunbook_locked)
  ON CONFLICT DO NOTHING
  RETURNING 1
), __pgrunbook_cur AS (
  ${cursorUpdate(r.next, r.next + 1, r.next + 2, '(SELECT count(*) FROM __pgrunbook_upd)')}
)
SELECT (SELECT count(*) FROM __pgrunbook_upd)::int AS updated, (SELECT count(*) FROM __pgrunbook_skip)::int AS skipped,
       (SELECT rows_done FROM __pgrunbook_cur)::float8 AS rows_done`;
}

/**
 * Retry pass: take up to $3 skipped keys, update those whose lock is now free (SKIP LOCKED again),
 * forget keys whose row is gone or no longer matches `where`, and keep the rest for the next round.
 * Updates and deletions from backfill_skipped share one transaction, so each row is updated once.
 *
 * Params: $1 run_id, $2 step_id, $3 how many keys, $4 continue after this key (text[] or NULL).
 */
export function retryBatchSql(b: BatchSqlInput): string {
  const t = b.info.relname;
  const todoKey = '__pgrunbook_todo.__pgrunbook_key';
  return `WITH __pgrunbook_todo AS (
  SELECT key AS __pgrunbook_key FROM ${SKIPPED_TABLE}
   WHERE run_id = $1 AND step_id = $2 AND ($4::text[] IS NULL OR key > $4::text[])
   ORDER BY key LIMIT $3
), __pgrunbook_locked AS (
  SELECT ${t}.tableoid AS __pgrunbook_toid, ${t}.ctid AS __pgrunbook_tid, ${todoKey}
    FROM ${b.info.qualified} JOIN __pgrunbook_todo ON ${keyRow(b.info, t)} = ${arrayRow(b.info, todoKey)}
   WHERE true${whereClause(b.where)}
   FOR NO KEY UPDATE OF ${t} SKIP LOCKED
), __pgrunbook_upd AS (
  UPDATE ${b.info.qualified} SET ${setClause(b.set)}
    FROM __pgrunbook_locked __pgrunbook_l
   WHERE ${t}.tableoid = __pgrunbook_l.__pgrunbook_toid AND ${t}.ctid = __pgrunbook_l.__pgrunbook_tid
  RETURNING 1
), __pgrunbook_gone AS (
  SELECT ${todoKey} FROM __pgrunbook_todo
   WHERE NOT EXISTS (SELECT 1 FROM ${b.info.qualified} WHERE ${keyRow(b.info, t)} = ${arrayRow(b.info, todoKey)}${whereClause(b.where)})
), __pgrunbook_del AS (
  DELETE FROM ${SKIPPED_TABLE}
   WHERE run_id = $1 AND step_id = $2
     AND key IN (SELECT __pgrunbook_key FROM __pgrunbook_locked UNION SELECT __pgrunbook_key FROM __pgrunbook_gone)
  RETURNING 1
), __pgrunbook_cur AS (
  UPDATE ${CURSOR_TABLE} SET rows_done = rows_done + (SELECT count(*) FROM __pgrunbook_upd), batches = batches + 1, updated_at = now()
   WHERE run_id = $1 AND step_id = $2 RETURNING rows_done
)
SELECT (SELECT count(*) FROM __pgrunbook_todo)::int AS considered, (SELECT count(*) FROM __pgrunbook_upd)::int AS updated,
       (SELECT count(*) FROM __pgrunbook_del)::int AS resolved, (SELECT rows_done FROM __pgrunbook_cur)::float8 AS rows_done,
       (SELECT max(__pgrunbook_key) FROM __pgrunbook_todo) AS last_key`;
}

/**
 * One batch for `plan` and `timeOneBatch`: the fast-path UPDATE from the start of the table, without
 * the cursor bookkeeping. Params: [upper...] (the key `batch size` rows in).
 */
export function firstBatchUpdateSql(b: BatchSqlInput): string {
  const r = range(b.info, 1, false);
  return `UPDATE ${b.info.qualified} SET ${setClause(b.set)} WHERE ${r.sql}${whereClause(b.where)}`;
}
