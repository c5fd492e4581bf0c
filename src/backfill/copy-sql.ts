// The batch SQL of a copy (swap_table's copy into its shadow table): the same key walk, cursor and
// skipped-key bookkeeping as the UPDATE batches in batch-sql.ts, but each batch reads its key range
// and inserts it into another table.
//
// Rows are read FOR KEY SHARE: it does not conflict with the application's ordinary UPDATEs (FOR NO
// KEY UPDATE), only with a DELETE or a key change, which then waits for the batch and lets its sync
// trigger see the copied row. The insert is ON CONFLICT DO NOTHING: a newer version already written
// by the trigger wins. A range that meets a held lock past lock_timeout is redone with SKIP LOCKED,
// and the keys it skipped are copied by the retry pass, as the backfill does.
import type { BackfillTarget } from './backfill-target.js';
import { range } from './batch-sql.js';
import { arrayRow, type Binder, type CursorMove, cursorCte, keyRow, keyText, passResult, retrySql, skipCte, TODO_KEY } from './pass-sql.js';

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
), ${insertCte(b.copy)}, ${cursorCte(m, counted, bind)}
${passResult(counted, false)}`;
}

/** One key range copied without a cursor: what `plan` times (in a rolled-back transaction) for its estimate. */
export function rangeCopySql(b: CopySqlInput, lower: string[] | null, end: string[], bind: Binder): string {
  return `WITH ${SRC} AS (
  SELECT ${readList(b)} FROM ${b.info.qualified} WHERE ${range(b.info, lower, end, bind)} FOR KEY SHARE
), ${insertCte(b.copy)}
SELECT count(*)::int AS n FROM __pgrunbook_ins`;
}

/** Contended path: copy what is free in the range (SKIP LOCKED) and record the keys of the rest for the retry pass. */
export function skipLockedCopySql(b: CopySqlInput, lower: string[] | null, m: CursorMove, bind: Binder): string {
  const t = b.info.relname;
  const r = range(b.info, lower, m.end, bind);
  return `WITH ${SRC} AS (
  SELECT ${readList(b)}, ${keyText(b.info, t)} AS __pgrunbook_key FROM ${b.info.qualified}
   WHERE ${r} FOR KEY SHARE SKIP LOCKED
), ${insertCte(b.copy)}, ${skipCte(b.info, m, r, '', SRC, bind)}, ${cursorCte(m, counted, bind)}
${passResult(counted, true)}`;
}

/**
 * Retry pass: copy up to `limit` skipped keys whose lock is free now, forget keys whose row is gone
 * (deleted: the trigger already removed it from the target), keep the rest for the next round.
 */
export function retryCopySql(b: CopySqlInput, runId: string, stepId: string, limit: number, after: string[] | null, bind: Binder): string {
  const t = b.info.relname;
  const ctes = `${SRC} AS (
  SELECT ${readList(b)}, ${TODO_KEY}
    FROM ${b.info.qualified} JOIN __pgrunbook_todo ON ${keyRow(b.info, t)} = ${arrayRow(b.info, TODO_KEY)}
   FOR KEY SHARE OF ${t} SKIP LOCKED
), ${insertCte(b.copy)}`;
  return retrySql(b.info, { runId, stepId, limit, after }, { ctes, taken: SRC, where: '', done: counted }, bind);
}
