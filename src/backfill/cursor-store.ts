// The persisted backfill cursor. Every batch locks this row, updates the target rows and moves the
// cursor in one transaction, so a batch is either wholly done and recorded or not done at all:
// kill -9, a dropped connection or a server restart can neither lose a batch nor apply one twice.
// The row lock (SELECT .. FOR UPDATE at the start of every batch) also serialises a resumed runner
// behind a batch that an orphaned backend of the killed runner may still be finishing.
//
// Key values are stored as text[] (one element per key column) and cast back with the column's
// type, so bigint, uuid, text and composite keys round-trip exactly.
import type { Queryable } from '../pg/queryable.js';
import { quoteLiteral } from '../pg/connection.js';

/** `(1, 42)`: a stored key as the operator reads it. */
export const keyTuple = (k: string[]): string => `(${k.join(', ')})`;

export const CURSOR_TABLE = 'pgrunbook.backfill_cursors';
export const SKIPPED_TABLE = 'pgrunbook.backfill_skipped';
/** The second worker's key range (range-store.ts). */
export const RANGE_TABLE = 'pgrunbook.backfill_ranges';

/** Idempotent DDL for the cursor tables; the state-schema migration runs it inside schema pgrunbook. */
export const backfillSchemaSql = `
CREATE TABLE IF NOT EXISTS pgrunbook.backfill_cursors (
  run_id        text        NOT NULL,
  step_id       text        NOT NULL,
  table_name    text        NOT NULL,
  key_columns   text[]      NOT NULL,
  -- main: first walk up to upper_bound; catch-up: rows added above it meanwhile;
  -- retry: rows skipped because another session held their lock; done.
  pass          text        NOT NULL DEFAULT 'main' CHECK (pass IN ('main', 'catch-up', 'retry', 'done')),
  catchup_round int         NOT NULL DEFAULT 0,
  cursor        text[],     -- last key done (exclusive lower bound of the next batch); NULL = from the start
  upper_bound   text[],     -- inclusive upper bound of the current pass; NULL = the table was empty
  rows_done     bigint      NOT NULL DEFAULT 0,
  keys_done     bigint      NOT NULL DEFAULT 0,
  batches       bigint      NOT NULL DEFAULT 0,
  batch_size    int,
  started_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  PRIMARY KEY (run_id, step_id)
);
CREATE TABLE IF NOT EXISTS pgrunbook.backfill_skipped (
  run_id     text        NOT NULL,
  step_id    text        NOT NULL,
  key        text[]      NOT NULL,
  skipped_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, step_id, key)
);
-- The second worker's key range (range-store.ts): cut off the main pass, folded back at its end.
CREATE TABLE IF NOT EXISTS pgrunbook.backfill_ranges (
  run_id      text        NOT NULL,
  step_id     text        NOT NULL,
  range_no    int         NOT NULL CHECK (range_no >= 2), -- range 1 is the step's backfill_cursors row
  lower_bound text[]      NOT NULL,  -- exclusive: the split key, the last key of the range below
  upper_bound text[]      NOT NULL,  -- inclusive: the main pass's bound when the range was cut off
  cursor      text[]      NOT NULL,  -- last key done; starts at lower_bound
  rows_done   bigint      NOT NULL DEFAULT 0,
  keys_done   bigint      NOT NULL DEFAULT 0,
  batches     bigint      NOT NULL DEFAULT 0,
  batch_size  int,
  started_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, step_id, range_no)
);
`;

export type Pass = 'main' | 'catch-up' | 'retry' | 'done';

export interface CursorRow {
  runId: string;
  stepId: string;
  tableName: string;
  keyColumns: string[];
  pass: Pass;
  catchupRound: number;
  cursor: string[] | null;
  upperBound: string[] | null;
  rowsDone: number;
  keysDone: number;
  batches: number;
  batchSize: number | null;
  skippedPending: number;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/** The cursor row's columns as {@link toRow} reads them (the table aliased `c`). */
export const CURSOR_COLUMNS = `run_id, step_id, table_name, key_columns, pass, catchup_round, cursor, upper_bound,
  rows_done::float8 as rows_done, keys_done::float8 as keys_done, batches::float8 as batches, batch_size,
  (select count(*) from pgrunbook.backfill_skipped s where s.run_id = c.run_id and s.step_id = c.step_id)::int as skipped,
  started_at, updated_at, finished_at`;

export function toRow(r: any): CursorRow {
  return {
    runId: r.run_id,
    stepId: r.step_id,
    tableName: r.table_name,
    keyColumns: r.key_columns,
    pass: r.pass,
    catchupRound: r.catchup_round,
    cursor: r.cursor,
    upperBound: r.upper_bound,
    rowsDone: r.rows_done,
    keysDone: r.keys_done,
    batches: r.batches,
    batchSize: r.batch_size,
    skippedPending: r.skipped,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
  };
}

/** The cursor of (run, step), or undefined (also when the state schema does not exist yet). */
export async function readCursor(db: Queryable, runId: string, stepId: string): Promise<CursorRow | undefined> {
  try {
    const r = await db.query(`select ${CURSOR_COLUMNS} from ${CURSOR_TABLE} c where run_id = $1 and step_id = $2`, [runId, stepId]);
    return r.rows[0] ? toRow(r.rows[0]) : undefined;
  } catch (err: any) {
    if (err?.code === '42P01' || err?.code === '3F000') return undefined; // table or schema missing
    throw err;
  }
}

/** Locks the cursor row for the current transaction (read it with {@link toRow}). Literal values. */
export function lockCursorSql(runId: string, stepId: string): string {
  return `select ${CURSOR_COLUMNS} from ${CURSOR_TABLE} c where run_id = ${quoteLiteral(runId)} and step_id = ${quoteLiteral(stepId)} for update`;
}

/** Creates the cursor with the bound of the main pass, unless a previous attempt already did. */
export async function createCursor(
  db: Queryable,
  v: { runId: string; stepId: string; tableName: string; keyColumns: string[]; upperBound: string[] | null; batchSize: number },
): Promise<void> {
  await db.query(
    `insert into ${CURSOR_TABLE} (run_id, step_id, table_name, key_columns, upper_bound, batch_size)
     values ($1, $2, $3, $4, $5, $6) on conflict (run_id, step_id) do nothing`,
    [v.runId, v.stepId, v.tableName, v.keyColumns, v.upperBound, v.batchSize],
  );
}

/** Moves to another pass (inside the batch transaction that holds the row lock). */
export async function setPass(
  db: Queryable,
  runId: string,
  stepId: string,
  pass: Pass,
  upperBound: string[] | null,
  catchupRound: number,
): Promise<void> {
  await db.query(
    `update ${CURSOR_TABLE} set pass = $3, upper_bound = $4, catchup_round = $5, updated_at = now(),
            finished_at = case when $3 = 'done' then now() end
      where run_id = $1 and step_id = $2`,
    [runId, stepId, pass, upperBound, catchupRound],
  );
}

/** Where a walk stands; `what` names it (default `backfill of <table>`). */
export function describeCursor(c: CursorRow, what = `backfill of ${c.tableName}`): string {
  const at = c.cursor ? keyTuple(c.cursor) : 'the start';
  const skipped = c.skippedPending > 0 ? `, ${c.skippedPending} locked row(s) waiting for the retry pass` : '';
  if (c.pass === 'done') return `${what} finished: ${c.rowsDone} rows in ${c.batches} batches`;
  return `${what}: ${c.pass} pass, cursor at ${at}${c.upperBound ? ` of ${keyTuple(c.upperBound)}` : ''}, ${c.rowsDone} rows done in ${c.batches} batches${skipped}`;
}

/** Forgets a step's cursor and skipped keys (its work was undone, or starts over). */
export async function deleteCursor(db: Queryable, runId: string, stepId: string): Promise<void> {
  try {
    await db.query(`delete from ${SKIPPED_TABLE} where run_id = $1 and step_id = $2`, [runId, stepId]);
    await db.query(`delete from ${RANGE_TABLE} where run_id = $1 and step_id = $2`, [runId, stepId]);
    await db.query(`delete from ${CURSOR_TABLE} where run_id = $1 and step_id = $2`, [runId, stepId]);
  } catch (err: any) {
    if (err?.code !== '42P01' && err?.code !== '3F000') throw err; // no state schema: nothing to forget
  }
}
