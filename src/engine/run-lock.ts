// One operator per runbook and database: a session-level advisory lock held on a dedicated
// connection for the whole run. If that connection dies, PostgreSQL releases the lock by itself.
import type { Queryable } from '../pg/queryable.js';
import { sqlText } from '../pg/sql-files.js';
import { RunLockHeldError } from '../util/runbook-error.js';

const LOCK_CLASS = 1347899970; // 'PGRB'

export interface LockHolder {
  backendPid: number;
  runId: string | null;
  user: string | null;
  host: string | null;
  pid: number | null;
  startedAt: string | null;
  clientAddr: string | null;
}

const SQL = 'engine/sql';

/** Takes the lock on `client`'s session without waiting; false when another session holds it. */
export async function tryAcquireRunLock(client: Queryable, runbookName: string): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>(sqlText(SQL, 'run-lock-try'), [LOCK_CLASS, runbookName]);
  return r.rows[0]!.ok;
}

export async function releaseRunLock(client: Queryable, runbookName: string): Promise<void> {
  await client.query(sqlText(SQL, 'run-lock-release'), [LOCK_CLASS, runbookName]);
}

/** Who holds the lock for this runbook (null when nobody does). Joins the runs table when present. */
export async function findLockHolder(db: Queryable, runbookName: string): Promise<LockHolder | null> {
  const r = await db.query<{ backend_pid: number; client_addr: string | null }>(sqlText(SQL, 'run-lock-holder'), [LOCK_CLASS, runbookName]);
  const held = r.rows[0];
  if (!held) return null;
  let run: { run_id: string; os_user: string | null; host: string | null; pid: number | null; started_at: string } | undefined;
  try {
    run = (await db.query(sqlText(SQL, 'run-lock-holder-run'), [held.backend_pid, runbookName])).rows[0];
  } catch {
    /* schema not created yet */
  }
  return {
    backendPid: held.backend_pid,
    runId: run?.run_id ?? null,
    user: run?.os_user ?? null,
    host: run?.host ?? null,
    pid: run?.pid ?? null,
    startedAt: run?.started_at ?? null,
    clientAddr: held.client_addr ?? null,
  };
}

export function lockHeldError(runbookName: string, h: LockHolder | null): RunLockHeldError {
  const who = h
    ? `${h.user ?? 'unknown user'}@${h.host ?? h.clientAddr ?? 'unknown host'} (pid ${h.pid ?? '?'}, backend pid ${h.backendPid}` +
      `${h.startedAt ? `, started ${h.startedAt}` : ''}${h.runId ? `, run ${h.runId}` : ''})`
    : 'another session';
  return new RunLockHeldError(
    `runbook "${runbookName}" is already running on this database, held by ${who}. ` +
      `Wait for it, or if that session is gone for good end it (SELECT pg_terminate_backend(${h?.backendPid ?? 'pid'})), then \`pgrunbook resume\`.`,
  );
}
