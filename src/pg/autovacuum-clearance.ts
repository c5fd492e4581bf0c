// Before a statement asks for a lock that conflicts with autovacuum's SHARE UPDATE EXCLUSIVE, an
// autovacuum (or auto-analyze) of the same table is cancelled: otherwise the statement queues behind
// it, and every application query on the table queues behind the statement, until PostgreSQL itself
// cancels the autovacuum after deadlock_timeout (1 s by default) or it ends. PostgreSQL would cancel
// it anyway; this only takes away the wait. Anti-wraparound runs are left alone (PostgreSQL never
// cancels them either), and a role that may not signal the worker is told so. A role without
// pg_read_all_stats does not see autovacuum workers in pg_stat_activity: nothing is cancelled then, and
// a wait behind one is reported by the lock-wait watch as any other. Best effort: a failed probe changes nothing.
// A cancelled worker takes a moment to abort and let go of its lock (tens of milliseconds on a busy
// server); the statement is sent once it has, so it does not queue behind the dying worker either.
import type pg from 'pg';
import { sqlText } from './sql-files.js';
import type { Clock } from '../util/clock.js';

/** Statements that take a lock conflicting with SHARE UPDATE EXCLUSIVE on an existing relation. */
const CONFLICTING_NODES = new Set([
  'AlterTableStmt',
  'IndexStmt',
  'CreateTrigStmt',
  'RenameStmt',
  'DropStmt',
  'TruncateStmt',
  'ReindexStmt',
  'ClusterStmt',
  'AlterObjectSchemaStmt',
  // swap_table's swap takes its locks with one LOCK TABLE; the weak modes are rarely written before DDL.
  'LockStmt',
  'CommentStmt',
  'CreateStatsStmt',
  'CreatePolicyStmt',
  'AlterPolicyStmt',
  'RuleStmt',
  'RefreshMatViewStmt',
  'VacuumStmt',
]);

/** How long to wait for a cancelled worker to let go of its lock before the statement goes anyway. */
const LET_GO_MS = 1_000;
const LET_GO_POLL_MS = 10;

export function conflictsWithAutovacuum(node: string): boolean {
  return CONFLICTING_NODES.has(node);
}

/** Cancels autovacuum workers on `relations`; returns one line per worker found, for the step's log. */
export async function clearAutovacuum(
  pool: pg.Pool,
  relations: string[],
  statement: string,
  clock: Clock,
): Promise<{ level: 'info' | 'warn'; message: string }[]> {
  if (relations.length === 0) return [];
  let workers: { pid: number; relation: string; wraparound: boolean }[];
  try {
    workers = await workersOn(pool, relations);
  } catch {
    return [];
  }
  const out: { level: 'info' | 'warn'; message: string }[] = [];
  for (const w of workers) {
    const what = `an autovacuum of ${w.relation} (pid ${w.pid})`;
    if (w.wraparound) {
      out.push({
        level: 'warn',
        message: `${what} runs to prevent wraparound and is not cancelled: ${statement} may wait behind it (up to lock_timeout per try), and the table's queries behind ${statement}`,
      });
      continue;
    }
    try {
      const r = await pool.query<{ ok: boolean }>('select pg_cancel_backend($1) as ok', [w.pid]);
      if (!r.rows[0]?.ok) {
        out.push({ level: 'info', message: `${what} ended before it could be cancelled` });
        continue;
      }
      const letGo = await letGoWithin(pool, relations, w.pid, clock);
      out.push({
        level: 'info',
        message: `cancelled ${what} before ${statement}: waiting behind it would queue the application's queries on the table behind ${statement}; autovacuum runs again later${letGo === false ? ` (it still held its lock after ${LET_GO_MS} ms: ${statement} may wait for it)` : ''}`,
      });
    } catch (err) {
      out.push({
        level: 'warn',
        message: `${what} is running and this role may not cancel it (${(err as Error).message}): ${statement} may wait behind it until PostgreSQL cancels it after deadlock_timeout; grant pg_signal_autovacuum_worker (PostgreSQL 18) or run as a superuser to avoid that`,
      });
    }
  }
  return out;
}

async function workersOn(pool: pg.Pool, relations: string[]): Promise<{ pid: number; relation: string; wraparound: boolean }[]> {
  return (await pool.query(sqlText('pg/sql', 'autovacuum-workers-on'), [relations])).rows;
}

/** Whether the cancelled worker `pid` let go of its locks on `relations` within LET_GO_MS; undefined when a probe failed. */
async function letGoWithin(pool: pg.Pool, relations: string[], pid: number, clock: Clock): Promise<boolean | undefined> {
  const t0 = clock.now();
  while (clock.now() - t0 < LET_GO_MS) {
    try {
      if (!(await workersOn(pool, relations)).some((w) => w.pid === pid)) return true;
    } catch {
      return undefined;
    }
    await clock.sleep(LET_GO_POLL_MS);
  }
  return false;
}
