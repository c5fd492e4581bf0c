// The batch SQL of a copy (swap_table's copy into its shadow table): the same key walk, cursor and
// skipped-key bookkeeping as the UPDATE batches in batch-sql.ts, but each batch reads its key range
// and inserts it into another table.
//
// Rows are read FOR KEY SHARE: it does not conflict with the application's ordinary UPDATEs (FOR NO
// KEY UPDATE), only with a DELETE or a key change, which then waits for the batch and lets its sync
// trigger see the copied row. The insert is ON CONFLICT DO NOTHING: a newer version already written
// by the trigger wins. A range that meets a held lock past lock_timeout is redone with SKIP LOCKED,
// and the keys it skipped are copied by the retry pass, as the backfill does.
import { CURSOR_TABLE, SKIPPED_TABLE } from './cursor-store.js';
import type { BackfillTarget } from './backfill-target.js';
import { arrayRow, type Binder, type CursorMove, cursorUpdate, keyRow, keyText, range } from './batch-sql.js';

export interface CopySpec {
  /** Quoted, schema-qualified table the rows go into. */
  into: string;
  /** Quoted source columns every batch reads (all of them: a value expression may use any). */
  read: string[];
  /** Quoted target columns, and the value of each as an expression over the source row's columns. */
  columns: string[];
  values: string[];
  /** The target has an identity column: keep the source's values. */
  overridingSystemValue: boolean;
}

export interface CopySqlInput {
  info: BackfillTarget;
  copy: CopySpec;
}

const SRC = '__pgrunbook_src';

function insertCte(c: CopySpec): string {
  const overriding = c.overridingSystemValue ? ' OVERRIDING SYSTEM VALUE' : '';
  return `__pgrunbook_ins AS (
  INSERT INTO ${c.into} (${c.columns.join(', ')})${overriding}
  SELECT ${c.values.join(', ')} FROM ${SRC} ON CONFLICT DO NOTHING RETURNING 1
)`;
}

const readList = (b: CopySqlInput) => b.copy.read.map((col) => `${b.info.relname}.${col}`).join(', ');
const counted = `(SELECT count(*) FROM ${SRC})`;

/** Fast path: copy the key range, locking its rows FOR KEY SHARE, and move the cursor, in one statement. */
export function fastCopySql(b: CopySqlInput, lower: string[] | null, m: CursorMove, bind: Binder): string {
  return `WITH ${SRC} AS (
  SELECT ${readList(b)} FROM ${b.info.qualified} WHERE ${range(b.info, lower, m.end, bind)} FOR KEY SHARE
), ${insertCte(b.copy)}, __pgrunbook_cur AS (
  ${cursorUpdate(m, counted, bind)}
)
SELECT ${counted}::int AS updated, 0 AS skipped, (SELECT rows_done FROM __pgrunbook_cur)::float8 AS rows_done`;
}

/** Contended path: copy what is free in the range (SKIP LOCKED) and record the keys of the rest for the retry pass. */
export function skipLockedCopySql(b: CopySqlInput, lower: string[] | null, m: CursorMove, bind: Binder): string {
  const t = b.info.relname;
  const r = range(b.info, lower, m.end, bind);
  return `WITH ${SRC} AS (
  SELECT ${readList(b)}, ${keyText(b.info, t)} AS __pgrunbook_key FROM ${b.info.qualified}
   WHERE ${r} FOR KEY SHARE SKIP LOCKED
), ${insertCte(b.copy)}, __pgrunbook_skip AS (
  INSERT INTO ${SKIPPED_TABLE} (run_id, step_id, key)
  SELECT ${bind(m.runId, 'text', 'run id')}, ${bind(m.stepId, 'text', 'step id')}, ${keyText(b.info, t)}
    FROM ${b.info.qualified}
   WHERE ${r} AND ${keyText(b.info, t)} NOT IN (SELECT __pgrunbook_key FROM ${SRC})
  ON CONFLICT DO NOTHING
  RETURNING 1
), __pgrunbook_cur AS (
  ${cursorUpdate(m, counted, bind)}
)
SELECT ${counted}::int AS updated, (SELECT count(*) FROM __pgrunbook_skip)::int AS skipped,
       (SELECT rows_done FROM __pgrunbook_cur)::float8 AS rows_done`;
}

/**
 * Retry pass: copy up to `limit` skipped keys whose lock is free now, forget keys whose row is gone
 * (deleted: the trigger already removed it from the target), keep the rest for the next round.
 */
export function retryCopySql(b: CopySqlInput, runId: string, stepId: string, limit: number, after: string[] | null, bind: Binder): string {
  const t = b.info.relname;
  const todoKey = '__pgrunbook_todo.__pgrunbook_key';
  const run = bind(runId, 'text', 'run id');
  const step = bind(stepId, 'text', 'step id');
  const afterSql = after ? ` AND key > ${bind(after, 'text[]', 'continue after this key')}` : '';
  return `WITH __pgrunbook_todo AS (
  SELECT key AS __pgrunbook_key FROM ${SKIPPED_TABLE}
   WHERE run_id = ${run} AND step_id = ${step}${afterSql}
   ORDER BY key LIMIT ${bind(limit, 'int', 'batch size')}
), ${SRC} AS (
  SELECT ${readList(b)}, ${todoKey}
    FROM ${b.info.qualified} JOIN __pgrunbook_todo ON ${keyRow(b.info, t)} = ${arrayRow(b.info, todoKey)}
   FOR KEY SHARE OF ${t} SKIP LOCKED
), ${insertCte(b.copy)}, __pgrunbook_gone AS (
  SELECT ${todoKey} FROM __pgrunbook_todo
   WHERE NOT EXISTS (SELECT 1 FROM ${b.info.qualified} WHERE ${keyRow(b.info, t)} = ${arrayRow(b.info, todoKey)})
), __pgrunbook_del AS (
  DELETE FROM ${SKIPPED_TABLE}
   WHERE run_id = ${run} AND step_id = ${step}
     AND key IN (SELECT __pgrunbook_key FROM ${SRC} UNION SELECT __pgrunbook_key FROM __pgrunbook_gone)
  RETURNING 1
), __pgrunbook_cur AS (
  UPDATE ${CURSOR_TABLE} SET rows_done = rows_done + ${counted}, batches = batches + (SELECT count(*) > 0 FROM __pgrunbook_todo)::int,
         updated_at = now()
   WHERE run_id = ${run} AND step_id = ${step} RETURNING rows_done
)
SELECT (SELECT count(*) FROM __pgrunbook_todo)::int AS considered, ${counted}::int AS updated,
       (SELECT count(*) FROM __pgrunbook_del)::int AS resolved, (SELECT rows_done FROM __pgrunbook_cur)::float8 AS rows_done,
       (SELECT max(__pgrunbook_key) FROM __pgrunbook_todo) AS last_key`;
}
