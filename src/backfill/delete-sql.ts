// The batch SQL of a batched DELETE: the same key walk, cursor and skipped-key bookkeeping as the
// UPDATE batches in batch-sql.ts, but each batch deletes its key range (the rows matching `where`).
// The cursor moves in the same statement as the delete, so a crash never repeats or skips a batch.
// A range that meets a row lock held past lock_timeout is redone with SKIP LOCKED, and the keys it
// skipped are deleted by the retry pass once free (or forgotten if the row is gone meanwhile).
import type { BackfillTarget } from './backfill-target.js';
import { range } from './batch-sql.js';
import {
  type Binder,
  type CursorMove,
  cursorCte,
  keyText,
  lockRangeCte,
  lockTodoCte,
  passResult,
  retrySql,
  skipCte,
  whereClause,
} from './pass-sql.js';

export interface DeleteSqlInput {
  info: BackfillTarget;
  where?: string;
}

const deleted = '(SELECT count(*) FROM __pgrunbook_rm)';

/**
 * Deletes the row versions `__pgrunbook_locked` locked (by tableoid + ctid) and returns their keys.
 * A row locked in a version newer than this statement's snapshot is not deleted here; only the keys
 * returned count as done, so that row goes to the retry pass.
 */
function deleteLockedCte(b: DeleteSqlInput): string {
  const t = b.info.relname;
  return `__pgrunbook_rm AS (
  DELETE FROM ${b.info.qualified} USING __pgrunbook_locked __pgrunbook_l
   WHERE ${t}.tableoid = __pgrunbook_l.__pgrunbook_toid AND ${t}.ctid = __pgrunbook_l.__pgrunbook_tid
  RETURNING ${keyText(b.info, t)} AS __pgrunbook_key
)`;
}

/** Fast path: one DELETE of the key range and the cursor move, in one statement. */
export function fastDeleteSql(b: DeleteSqlInput, lower: string[] | null, m: CursorMove, bind: Binder): string {
  return `WITH __pgrunbook_rm AS (
  DELETE FROM ${b.info.qualified}
   WHERE ${range(b.info, lower, m.end, bind)}${whereClause(b.where)}
  RETURNING 1
), ${cursorCte(m, deleted, bind)}
${passResult(deleted, false)}`;
}

/** Contended path: delete what is free in the range (SKIP LOCKED), record the keys of the rest for the retry pass. */
export function skipLockedDeleteSql(b: DeleteSqlInput, lower: string[] | null, m: CursorMove, bind: Binder): string {
  const r = range(b.info, lower, m.end, bind);
  const where = whereClause(b.where);
  return `WITH ${lockRangeCte(b.info, r, where, 'UPDATE')}, ${deleteLockedCte(b)}, ${skipCte(b.info, m, r, where, '__pgrunbook_rm', bind)}, ${cursorCte(m, deleted, bind)}
${passResult(deleted, true)}`;
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
  const where = whereClause(b.where);
  const ctes = `${lockTodoCte(b.info, where, 'UPDATE')}, ${deleteLockedCte(b)}`;
  return retrySql(b.info, { runId, stepId, limit, after }, { ctes, taken: '__pgrunbook_rm', where, done: deleted }, bind);
}
