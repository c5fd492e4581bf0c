// SQL of one batch, generated from the table's primary key. Ranges are row-value comparisons,
// `(a, b) > ($1::int, $2::uuid)`, which btree indexes answer directly, so composite keys page as
// cheaply as a single bigint.
//
// Values go in through a Binder: `paramBinder` makes `$n` placeholders (plan output, one-off
// queries), `literalBinder` quotes them into the text so the engine can send several statements in
// one simple-protocol round trip (a batch costs two round trips, which matters on a busy server
// where every round trip waits for a CPU). Either way the planner sees the bounds' values and picks
// an index range scan.
//
// Names introduced here start with __pgrunbook_ so they cannot capture a column or table that the
// runbook's `set` / `where` refer to.
import { quoteLiteral } from '../pg/connection.js';
import { CURSOR_TABLE, SKIPPED_TABLE } from './cursor-store.js';
import type { BackfillTarget } from './backfill-target.js';

export interface BatchSqlInput {
  info: BackfillTarget;
  set: string;
  where?: string;
}

/** Turns a value into SQL (`$3::bigint` or `'42'::bigint`); `label` explains placeholders in plans. */
export type Binder = (value: unknown, cast: string, label: string) => string;

export function paramBinder(): { bind: Binder; params: unknown[]; labels: string[] } {
  const params: unknown[] = [];
  const labels: string[] = [];
  return {
    params,
    labels,
    bind: (value, cast, label) => {
      params.push(value);
      labels.push(label);
      return `$${params.length}::${cast}`;
    },
  };
}

export const literalBinder: Binder = (value, cast) => `${toLiteral(value)}::${cast}`;

function toLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (Array.isArray(v)) return `ARRAY[${v.map((x) => (x === null ? 'NULL' : quoteLiteral(String(x)))).join(', ')}]::text[]`;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
    return String(v);
  }
  return quoteLiteral(String(v));
}

/** `("a", "b")`, optionally qualified by a range-variable name. */
export function keyRow(info: BackfillTarget, qualifier?: string): string {
  return `(${info.keys.map((k) => (qualifier ? `${qualifier}.${k.quoted}` : k.quoted)).join(', ')})`;
}

/** Key values (text, as stored in the cursor) cast back to the column types. */
function valueRow(info: BackfillTarget, values: string[], bind: Binder, what: string): string {
  return `(${info.keys.map((k, i) => bind(values[i], k.type, `${what} (${k.name})`)).join(', ')})`;
}

/** `(arr[1]::bigint, arr[2]::uuid)` for a text[] expression. */
export function arrayRow(info: BackfillTarget, arr: string): string {
  return `(${info.keys.map((k, i) => `(${arr})[${i + 1}]::${k.type}`).join(', ')})`;
}

/** `ARRAY["a"::text, "b"::text]`: how keys leave the database. */
export function keyText(info: BackfillTarget, qualifier?: string): string {
  return `ARRAY[${info.keys.map((k) => `${qualifier ? `${qualifier}.` : ''}${k.quoted}::text`).join(', ')}]`;
}

function orderBy(info: BackfillTarget, dir: 'asc' | 'desc' = 'asc'): string {
  return info.keys.map((k) => `${k.quoted} ${dir}`).join(', ');
}

// User fragments end with a newline so a trailing `-- comment` cannot swallow what follows.
function whereClause(where: string | undefined): string {
  return where ? ` AND (${where}\n)` : '';
}

function setClause(set: string): string {
  return `${set}\n`;
}

/** `key > lower AND key <= upper` (no lower bound in the first batch of the table). */
export function range(info: BackfillTarget, lower: string[] | null, upper: string[], bind: Binder, qualifier?: string): string {
  const k = keyRow(info, qualifier);
  const parts: string[] = [];
  if (lower) parts.push(`${k} > ${valueRow(info, lower, bind, 'last key done, exclusive')}`);
  parts.push(`${k} <= ${valueRow(info, upper, bind, 'last key of this batch, inclusive')}`);
  return parts.join(' AND ');
}

/**
 * The end of the next batch: the key `limit` rows past `lower`, within the pass bound `upper`.
 * No row = fewer than `limit` rows remain (the batch ends at the bound). Reads only the key index.
 */
export function boundarySql(info: BackfillTarget, lower: string[] | null, upper: string[], limit: number, bind: Binder): string {
  const k = keyRow(info);
  const cond = [lower ? `${k} > ${valueRow(info, lower, bind, 'cursor')}` : '', `${k} <= ${valueRow(info, upper, bind, 'pass bound')}`]
    .filter(Boolean)
    .join(' AND ');
  // The alias marks the statement as pgrunbook's in pg_stat_statements (the app_latency rule skips it).
  return `SELECT ${keyText(info)} AS k FROM ${info.qualified} __pgrunbook_t WHERE ${cond} ORDER BY ${orderBy(info)} OFFSET ${bind(limit, 'int', 'batch size')} - 1 LIMIT 1`;
}

/** Highest key above `lower` (or overall): the bound of a new pass. */
export function maxKeySql(info: BackfillTarget, lower: string[] | null, bind: Binder): string {
  const cond = lower ? ` WHERE ${keyRow(info)} > ${valueRow(info, lower, bind, 'cursor')}` : '';
  return `SELECT ${keyText(info)} AS k FROM ${info.qualified} __pgrunbook_t${cond} ORDER BY ${orderBy(info, 'desc')} LIMIT 1`;
}

export interface CursorMove {
  runId: string;
  stepId: string;
  /** The batch's last key: the new cursor. */
  end: string[];
  /** Keys in the batch's range; null for a pass's last batch (counted as rows updated). */
  keys: number | null;
  batchSize: number;
}

/** Moves the cursor and the counters; `rowsExpr` is the number of rows this batch updated. */
export function cursorUpdate(m: CursorMove, rowsExpr: string, bind: Binder): string {
  return `UPDATE ${CURSOR_TABLE} SET cursor = ${bind(m.end, 'text[]', 'the new cursor')}, rows_done = rows_done + ${rowsExpr},
           keys_done = keys_done + coalesce(${bind(m.keys, 'bigint', 'keys in the range')}, ${rowsExpr}), batches = batches + 1,
           batch_size = ${bind(m.batchSize, 'int', 'batch size')}, updated_at = now()
     WHERE run_id = ${bind(m.runId, 'text', 'run id')} AND step_id = ${bind(m.stepId, 'text', 'step id')} RETURNING rows_done`;
}

/**
 * Fast path: one plain UPDATE of the key range (its own row locks are FOR NO KEY UPDATE) and the
 * cursor move, in one statement. Run with a short lock_timeout: a row held by another session
 * makes it fail with 55P03 after that timeout, and the batch is redone with {@link skipLockedBatchSql}.
 */
export function fastBatchSql(b: BatchSqlInput, lower: string[] | null, m: CursorMove, bind: Binder): string {
  return `WITH __pgrunbook_upd AS (
  UPDATE ${b.info.qualified} SET ${b.set}
   WHERE ${range(b.info, lower, m.end, bind)}${whereClause(b.where)}
  RETURNING 1
), __pgrunbook_cur AS (
  ${cursorUpdate(m, '(SELECT count(*) FROM __pgrunbook_upd)', bind)}
)
SELECT (SELECT count(*) FROM __pgrunbook_upd)::int AS updated, 0 AS skipped, (SELECT rows_done FROM __pgrunbook_cur)::float8 AS rows_done`;
}

/** `__pgrunbook_upd`: updates exactly the row versions `__pgrunbook_locked` locked (by tableoid + ctid). */
function updateLockedCte(b: BatchSqlInput): string {
  const t = b.info.relname;
  return `__pgrunbook_upd AS (
  UPDATE ${b.info.qualified} SET ${setClause(b.set)}    FROM __pgrunbook_locked __pgrunbook_l
   WHERE ${t}.tableoid = __pgrunbook_l.__pgrunbook_toid AND ${t}.ctid = __pgrunbook_l.__pgrunbook_tid
  RETURNING 1
)`;
}

/**
 * Contended path: lock what is free in the range with SKIP LOCKED, update exactly those rows (by
 * tableoid + ctid of the version we locked), and record the keys of rows that someone else holds in
 * backfill_skipped, in the same transaction as the cursor move. The retry pass handles those later.
 * Skipped rows are found by key, not ctid: a row updated by another session since our snapshot is
 * locked in its newer version, whose ctid differs from the one our snapshot sees.
 */
export function skipLockedBatchSql(b: BatchSqlInput, lower: string[] | null, m: CursorMove, bind: Binder): string {
  const t = b.info.relname;
  const r = range(b.info, lower, m.end, bind);
  return `WITH __pgrunbook_locked AS (
  SELECT tableoid AS __pgrunbook_toid, ctid AS __pgrunbook_tid, ${keyText(b.info)} AS __pgrunbook_key
    FROM ${b.info.qualified}
   WHERE ${r}${whereClause(b.where)}
   FOR NO KEY UPDATE OF ${t} SKIP LOCKED
), ${updateLockedCte(b)}, __pgrunbook_skip AS (
  INSERT INTO ${SKIPPED_TABLE} (run_id, step_id, key)
  SELECT ${bind(m.runId, 'text', 'run id')}, ${bind(m.stepId, 'text', 'step id')}, ${keyText(b.info, t)}
    FROM ${b.info.qualified}
   WHERE ${r}${whereClause(b.where)}
     AND ${keyText(b.info, t)} NOT IN (SELECT __pgrunbook_key FROM __pgrunbook_locked)
  ON CONFLICT DO NOTHING
  RETURNING 1
), __pgrunbook_cur AS (
  ${cursorUpdate(m, '(SELECT count(*) FROM __pgrunbook_upd)', bind)}
)
SELECT (SELECT count(*) FROM __pgrunbook_upd)::int AS updated, (SELECT count(*) FROM __pgrunbook_skip)::int AS skipped,
       (SELECT rows_done FROM __pgrunbook_cur)::float8 AS rows_done`;
}

/**
 * Retry pass: take up to `limit` skipped keys (after key `after`), update those whose lock is now
 * free (SKIP LOCKED again), forget keys whose row is gone or no longer matches `where`, and keep the
 * rest for the next round. Updates and deletions from backfill_skipped share one transaction, so
 * each row is updated once.
 */
export function retryBatchSql(
  b: BatchSqlInput,
  runId: string,
  stepId: string,
  limit: number,
  after: string[] | null,
  bind: Binder,
): string {
  const t = b.info.relname;
  const todoKey = '__pgrunbook_todo.__pgrunbook_key';
  const run = bind(runId, 'text', 'run id');
  const step = bind(stepId, 'text', 'step id');
  const afterSql = after ? ` AND key > ${bind(after, 'text[]', 'continue after this key')}` : '';
  return `WITH __pgrunbook_todo AS (
  SELECT key AS __pgrunbook_key FROM ${SKIPPED_TABLE}
   WHERE run_id = ${run} AND step_id = ${step}${afterSql}
   ORDER BY key LIMIT ${bind(limit, 'int', 'batch size')}
), __pgrunbook_locked AS (
  SELECT ${t}.tableoid AS __pgrunbook_toid, ${t}.ctid AS __pgrunbook_tid, ${todoKey}
    FROM ${b.info.qualified} JOIN __pgrunbook_todo ON ${keyRow(b.info, t)} = ${arrayRow(b.info, todoKey)}
   WHERE true${whereClause(b.where)}
   FOR NO KEY UPDATE OF ${t} SKIP LOCKED
), ${updateLockedCte(b)}, __pgrunbook_gone AS (
  SELECT ${todoKey} FROM __pgrunbook_todo
   WHERE NOT EXISTS (SELECT 1 FROM ${b.info.qualified} WHERE ${keyRow(b.info, t)} = ${arrayRow(b.info, todoKey)}${whereClause(b.where)})
), __pgrunbook_del AS (
  DELETE FROM ${SKIPPED_TABLE}
   WHERE run_id = ${run} AND step_id = ${step}
     AND key IN (SELECT __pgrunbook_key FROM __pgrunbook_locked UNION SELECT __pgrunbook_key FROM __pgrunbook_gone)
  RETURNING 1
), __pgrunbook_cur AS (
  UPDATE ${CURSOR_TABLE} SET rows_done = rows_done + (SELECT count(*) FROM __pgrunbook_upd), batches = batches + (SELECT count(*) > 0 FROM __pgrunbook_todo)::int,
         updated_at = now()
   WHERE run_id = ${run} AND step_id = ${step} RETURNING rows_done
)
SELECT (SELECT count(*) FROM __pgrunbook_todo)::int AS considered, (SELECT count(*) FROM __pgrunbook_upd)::int AS updated,
       (SELECT count(*) FROM __pgrunbook_del)::int AS resolved, (SELECT rows_done FROM __pgrunbook_cur)::float8 AS rows_done,
       (SELECT max(__pgrunbook_key) FROM __pgrunbook_todo) AS last_key`;
}

/** The batch's UPDATE alone (no cursor bookkeeping), for timing one batch in a rolled-back transaction. */
export function rangeUpdateSql(b: BatchSqlInput, lower: string[] | null, upper: string[], bind: Binder): string {
  return `UPDATE ${b.info.qualified} SET ${setClause(b.set)} WHERE ${range(b.info, lower, upper, bind)}${whereClause(b.where)}`;
}
