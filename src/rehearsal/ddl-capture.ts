// In-transaction lock capture for the sandbox. A metadata-only ALTER holds ACCESS EXCLUSIVE for
// well under a millisecond, far too short for any pg_locks sampler, so event triggers record,
// inside the DDL's own transaction, the relation locks the session holds at the end of each
// command (ddl_command_end) and every table rewrite (table_rewrite). Needs superuser: where the
// sandbox role is not one (a staging URL), the trace falls back to sampling alone.
import type { Queryable } from '../pg/queryable.js';
import { sqlText } from '../pg/sql-files.js';

/** Where the capture writes; ddl-capture-install.sql names it too. */
export const CAPTURE_SCHEMA = 'pgrunbook_rehearsal';

/** Installs the capture; false (and nothing installed) when the role may not create event triggers. */
export async function installDdlCapture(db: Queryable): Promise<boolean> {
  const su = await db.query<{ su: boolean }>(sqlText('rehearsal/sql', 'ddl-capture-superuser'));
  if (!su.rows[0]?.su) return false;
  await db.query(sqlText('rehearsal/sql', 'ddl-capture-install'));
  return true;
}

export interface CapturedLock {
  atMs: number;
  tag: string;
  relation: string;
  mode: string;
}

export async function readCapturedLocks(db: Queryable, appPrefix: string): Promise<CapturedLock[]> {
  const r = await db.query<{ at_ms: number; tag: string; relation: string; mode: string }>(
    `select at_ms, tag, relation, mode from ${CAPTURE_SCHEMA}.ddl_locks where app like $1 || '%' order by id`,
    [appPrefix],
  );
  return r.rows.map((x) => ({ atMs: Number(x.at_ms), tag: x.tag, relation: x.relation, mode: x.mode }));
}

export async function readCapturedRewrites(db: Queryable, appPrefix: string): Promise<{ atMs: number; relation: string }[]> {
  const r = await db.query<{ at_ms: number; relation: string }>(
    `select at_ms, relation from ${CAPTURE_SCHEMA}.rewrites where app like $1 || '%' order by id`,
    [appPrefix],
  );
  return r.rows.map((x) => ({ atMs: Number(x.at_ms), relation: x.relation }));
}
