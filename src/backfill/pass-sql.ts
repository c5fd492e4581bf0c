// What the UPDATE, copy and DELETE batch builders share: key rows, the cursor move, the
// skipped-key insert and result row of a main-pass batch, and the whole retry pass around what
// each one does to the rows it takes. One copy keeps the exactly-once bookkeeping the same for all.
import type pg from 'pg';
import { CURSOR_TABLE, RANGE_TABLE, SKIPPED_TABLE } from './cursor-store.js';
import type { BackfillTarget } from './backfill-target.js';

/** Two keys (text[] as stored) are the same key; a missing key is the same as nothing. */
export const sameKey = (a: string[] | null, b: string[] | null): boolean =>
  a !== null && b !== null && a.length === b.length && a.every((v, i) => v === b[i]);

/** The SELECT results of a multi-statement simple query, in order. */
export function selects(r: pg.QueryResult | pg.QueryResult[]): pg.QueryResult[] {
  return (Array.isArray(r) ? r : [r]).filter((x) => x.command === 'SELECT');
}

/** Turns a value into SQL (`$3::bigint` or `'42'::bigint`); `label` explains placeholders in plans. */
export type Binder = (value: unknown, cast: string, label: string) => string;

/** `("a", "b")`, optionally qualified by a range-variable name. */
export function keyRow(info: BackfillTarget, qualifier?: string): string {
  return `(${info.keys.map((k) => (qualifier ? `${qualifier}.${k.quoted}` : k.quoted)).join(', ')})`;
}

/** `(arr[1]::bigint, arr[2]::uuid)` for a text[] expression. */
export function arrayRow(info: BackfillTarget, arr: string): string {
  return `(${info.keys.map((k, i) => `(${arr})[${i + 1}]::${k.type}`).join(', ')})`;
}

/** `ARRAY["a"::text, "b"::text]`: how keys leave the database. */
export function keyText(info: BackfillTarget, qualifier?: string): string {
  return `ARRAY[${info.keys.map((k) => `${qualifier ? `${qualifier}.` : ''}${k.quoted}::text`).join(', ')}]`;
}

export interface CursorMove {
  runId: string;
  stepId: string;
  /** The batch's last key: the new cursor. */
  end: string[];
  /** Keys in the batch's range; null for a pass's last batch (counted as rows updated). */
  keys: number | null;
  batchSize: number;
  /** The second worker's range (its row in backfill_ranges); absent = the step's cursor row. */
  rangeNo?: number;
}

/** Moves the cursor and the counters; `rowsExpr` is the number of rows this batch updated. */
export function cursorUpdate(m: CursorMove, rowsExpr: string, bind: Binder): string {
  const table = m.rangeNo === undefined ? CURSOR_TABLE : RANGE_TABLE;
  const range = m.rangeNo === undefined ? '' : ` AND range_no = ${bind(m.rangeNo, 'int', 'key range')}`;
  return `UPDATE ${table} SET cursor = ${bind(m.end, 'text[]', 'the new cursor')}, rows_done = rows_done + ${rowsExpr},
           keys_done = keys_done + coalesce(${bind(m.keys, 'bigint', 'keys in the range')}, ${rowsExpr}), batches = batches + 1,
           batch_size = ${bind(m.batchSize, 'int', 'batch size')}, updated_at = now()
     WHERE run_id = ${bind(m.runId, 'text', 'run id')} AND step_id = ${bind(m.stepId, 'text', 'step id')}${range} RETURNING rows_done`;
}

// User fragments end with a newline so a trailing `-- comment` cannot swallow what follows.
export function whereClause(where: string | undefined): string {
  return where ? ` AND (${where}\n)` : '';
}

/** The key column of `__pgrunbook_todo`, the skipped keys a retry round takes. */
export const TODO_KEY = '__pgrunbook_todo.__pgrunbook_key';

/** `__pgrunbook_cur`: moves the cursor; `done` counts the rows this batch changed. */
export function cursorCte(m: CursorMove, done: string, bind: Binder): string {
  return `__pgrunbook_cur AS (
  ${cursorUpdate(m, done, bind)}
)`;
}

/** `__pgrunbook_skip`: records the keys in the range `r` (and `where`) that `taken` did not do. */
export function skipCte(info: BackfillTarget, m: CursorMove, r: string, where: string, taken: string, bind: Binder): string {
  const t = info.relname;
  return `__pgrunbook_skip AS (
  INSERT INTO ${SKIPPED_TABLE} (run_id, step_id, key)
  SELECT ${bind(m.runId, 'text', 'run id')}, ${bind(m.stepId, 'text', 'step id')}, ${keyText(info, t)}
    FROM ${info.qualified}
   WHERE ${r}${where}
     AND ${keyText(info, t)} NOT IN (SELECT __pgrunbook_key FROM ${taken})
  ON CONFLICT DO NOTHING
  RETURNING 1
)`;
}

/** The result row of a main-pass batch; `skipped` says whether a `__pgrunbook_skip` CTE exists. */
export function passResult(done: string, skipped: boolean): string {
  const skip = skipped ? '(SELECT count(*) FROM __pgrunbook_skip)::int' : '0';
  return `SELECT ${done}::int AS updated, ${skip} AS skipped, (SELECT rows_done FROM __pgrunbook_cur)::float8 AS rows_done`;
}

export interface RetryRound {
  runId: string;
  stepId: string;
  limit: number;
  /** Continue after this skipped key (null: from the first). */
  after: string[] | null;
}

export interface RetryWork {
  /** CTEs after `__pgrunbook_todo` that lock free rows of it and act on them. */
  ctes: string;
  /** The CTE holding the `__pgrunbook_key` of every row done this round (not merely locked). */
  taken: string;
  /** Extra condition a row must meet to still count (`where`), or ''. */
  where: string;
  /** Rows changed this round, as an SQL expression. */
  done: string;
}

/**
 * Retry pass: take up to `limit` skipped keys, let `work` act on those whose lock is free now,
 * forget keys whose row is gone (or no longer matches), keep the rest for the next round. The
 * work, the deletions from backfill_skipped and the counters share one statement.
 */
export function retrySql(info: BackfillTarget, round: RetryRound, work: RetryWork, bind: Binder): string {
  const t = info.relname;
  const run = bind(round.runId, 'text', 'run id');
  const step = bind(round.stepId, 'text', 'step id');
  const afterSql = round.after ? ` AND key > ${bind(round.after, 'text[]', 'continue after this key')}` : '';
  return `WITH __pgrunbook_todo AS (
  SELECT key AS __pgrunbook_key FROM ${SKIPPED_TABLE}
   WHERE run_id = ${run} AND step_id = ${step}${afterSql}
   ORDER BY key LIMIT ${bind(round.limit, 'int', 'batch size')}
), ${work.ctes}, __pgrunbook_gone AS (
  SELECT ${TODO_KEY} FROM __pgrunbook_todo
   WHERE NOT EXISTS (SELECT 1 FROM ${info.qualified} WHERE ${keyRow(info, t)} = ${arrayRow(info, TODO_KEY)}${work.where})
), __pgrunbook_del AS (
  DELETE FROM ${SKIPPED_TABLE}
   WHERE run_id = ${run} AND step_id = ${step}
     AND key IN (SELECT __pgrunbook_key FROM ${work.taken} UNION SELECT __pgrunbook_key FROM __pgrunbook_gone)
  RETURNING 1
), __pgrunbook_cur AS (
  UPDATE ${CURSOR_TABLE} SET rows_done = rows_done + ${work.done}, batches = batches + (SELECT count(*) > 0 FROM __pgrunbook_todo)::int,
         updated_at = now()
   WHERE run_id = ${run} AND step_id = ${step} RETURNING rows_done
)
SELECT (SELECT count(*) FROM __pgrunbook_todo)::int AS considered, ${work.done}::int AS updated,
       (SELECT count(*) FROM __pgrunbook_del)::int AS resolved, (SELECT rows_done FROM __pgrunbook_cur)::float8 AS rows_done,
       (SELECT max(__pgrunbook_key) FROM __pgrunbook_todo) AS last_key`;
}

/** `__pgrunbook_locked`: the free rows of the range `r` (and `where`), locked with `lock`. */
export function lockRangeCte(info: BackfillTarget, r: string, where: string, lock: string): string {
  return `__pgrunbook_locked AS (
  SELECT tableoid AS __pgrunbook_toid, ctid AS __pgrunbook_tid, ${keyText(info)} AS __pgrunbook_key
    FROM ${info.qualified}
   WHERE ${r}${where}
   FOR ${lock} OF ${info.relname} SKIP LOCKED
)`;
}

/** `__pgrunbook_locked`: the free rows among the skipped keys (and `where`), locked with `lock`. */
export function lockTodoCte(info: BackfillTarget, where: string, lock: string): string {
  const t = info.relname;
  return `__pgrunbook_locked AS (
  SELECT ${t}.tableoid AS __pgrunbook_toid, ${t}.ctid AS __pgrunbook_tid, ${TODO_KEY}
    FROM ${info.qualified} JOIN __pgrunbook_todo ON ${keyRow(info, t)} = ${arrayRow(info, TODO_KEY)}
   WHERE true${where}
   FOR ${lock} OF ${t} SKIP LOCKED
)`;
}
