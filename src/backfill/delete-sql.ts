// The batch SQL of a batched DELETE: the same key walk, cursor and skipped-key bookkeeping as the
// UPDATE batches in batch-sql.ts, but each batch deletes its key range (the rows matching `where`).
// The cursor moves in the same statement as the delete, so a crash never repeats or skips a batch.
// A range that meets a row lock held past lock_timeout is redone with SKIP LOCKED, and the keys it
// skipped are deleted by the retry pass once free (or forgotten if the row is gone meanwhile).
import { CURSOR_TABLE, SKIPPED_TABLE } from './cursor-store.js';
import type { BackfillTarget } from './backfill-target.js';
import { arrayRow, type Binder, type CursorMove, cursorUpdate, keyRow, keyText, range } from './batch-sql.js';

export interface DeleteSqlInput {
  info: BackfillTarget;
  where?: string;
}

// A user fragment ends with a newline so a trailing `-- comment` cannot swallow what follows.
const matching = (where: string | undefined) => (where ? ` AND (${where}\n)` : '');
const deleted = '(SELECT count(*) FROM __pgrunbook_rm)';

/** Deletes exactly the row versions `__pgrunbook_locked` locked (by tableoid + ctid). */
function deleteLockedCte(b: DeleteSqlInput): string {
  const t = b.info.relname;
  return `__pgrunbook_rm AS (
  DELETE FROM ${b.info.qualified} USING __pgrunbook_locked __pgrunbook_l
   WHERE ${t}.tableoid = __pgrunbook_l.__pgrunbook_toid AND ${t}.ctid = __pgrunbook_l.__pgrunbook_tid
  RETURNING 1
)`;
}

/** Fast path: one DELETE of the key range and the cursor move, in one statement. */
export function fastDeleteSql(b: DeleteSqlInput, lower: string[] | null, m: CursorMove, bind: Binder): string {
  return `WITH __pgrunbook_rm AS (
  DELETE FROM ${b.info.qualified}
   WHERE ${range(b.info, lower, m.end, bind)}${matching(b.where)}
  RETURNING 1
), __pgrunbook_cur AS (
  ${cursorUpdate(m, deleted, bind)}
)
SELECT ${deleted}::int AS updated, 0 AS skipped, (SELECT rows_done FROM __pgrunbook_cur)::float8 AS rows_done`;
}

/** Contended path: delete what is free in the range (SKIP LOCKED), record the keys of the rest for the retry pass. */
export function skipLockedDeleteSql(b: DeleteSqlInput, lower: string[] | null, m: CursorMove, bind: Binder): string {
  const t = b.info.relname;
  const r = range(b.info, lower, m.end, bind);
  return `WITH __pgrunbook_locked AS (
  SELECT tableoid AS __pgrunbook_toid, ctid AS __pgrunbook_tid, ${keyText(b.info)} AS __pgrunbook_key
    FROM ${b.info.qualified}
   WHERE ${r}${matching(b.where)}
   FOR UPDATE OF ${t} SKIP LOCKED
), ${deleteLockedCte(b)}, __pgrunbook_skip AS (
  INSERT INTO ${SKIPPED_TABLE} (run_id, step_id, key)
  SELECT ${bind(m.runId, 'text', 'run id')}, ${bind(m.stepId, 'text', 'step id')}, ${keyText(b.info, t)}
    FROM ${b.info.qualified}
   WHERE ${r}${matching(b.where)}
     AND ${keyText(b.info, t)} NOT IN (SELECT __pgrunbook_key FROM __pgrunbook_locked)
  ON CONFLICT DO NOTHING
  RETURNING 1
), __pgrunbook_cur AS (
  ${cursorUpdate(m, deleted, bind)}
)
SELECT ${deleted}::int AS updated, (SELECT count(*) FROM __pgrunbook_skip)::int AS skipped,
       (SELECT rows_done FROM __pgrunbook_cur)::float8 AS rows_done`;
}

/** Retry pass: delete up to `limit` skipped keys whose lock is free now; forget rows gone or no longer matching. */
export function retryDeleteSql(
  b: DeleteSqlInput,
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
   WHERE true${matching(b.where)}
   FOR UPDATE OF ${t} SKIP LOCKED
), ${deleteLockedCte(b)}, __pgrunbook_gone AS (
  SELECT ${todoKey} FROM __pgrunbook_todo
   WHERE NOT EXISTS (SELECT 1 FROM ${b.info.qualified} WHERE ${keyRow(b.info, t)} = ${arrayRow(b.info, todoKey)}${matching(b.where)})
), __pgrunbook_del AS (
  DELETE FROM ${SKIPPED_TABLE}
   WHERE run_id = ${run} AND step_id = ${step}
     AND key IN (SELECT __pgrunbook_key FROM __pgrunbook_locked UNION SELECT __pgrunbook_key FROM __pgrunbook_gone)
  RETURNING 1
), __pgrunbook_cur AS (
  UPDATE ${CURSOR_TABLE} SET rows_done = rows_done + ${deleted}, batches = batches + (SELECT count(*) > 0 FROM __pgrunbook_todo)::int,
         updated_at = now()
   WHERE run_id = ${run} AND step_id = ${step} RETURNING rows_done
)
SELECT (SELECT count(*) FROM __pgrunbook_todo)::int AS considered, ${deleted}::int AS updated,
       (SELECT count(*) FROM __pgrunbook_del)::int AS resolved, (SELECT rows_done FROM __pgrunbook_cur)::float8 AS rows_done,
       (SELECT max(__pgrunbook_key) FROM __pgrunbook_todo) AS last_key`;
}
