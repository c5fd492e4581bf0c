// One operator per runbook and database: a session-level advisory lock held on a dedicated
// connection for the whole run. If that connection dies, PostgreSQL releases the lock by itself.
import type pg from 'pg';
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

export async function tryAcquireRunLock(client: pg.ClientBase, runbookName: string): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok`, [LOCK_CLASS, runbookName]);
  return r.rows[0]!.ok;
}

export async function releaseRunLock(client: pg.ClientBase, runbookName: string): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock($1, hashtext($2))`, [LOCK_CLASS, runbookName]);
}

/** Who holds the lock for this runbook (null when nobody does). Joins the runs table when present. */
export async function findLockHolder(db: { query: pg.Pool['query'] }, runbookName: string): Promise<LockHolder | null> {
  const r = await db.query<any>(
    `SELECT l.pid AS backend_pid, a.client_addr::text AS client_addr, a.backend_start
       FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::int::oid
        AND l.objid = hashtext($2)::oid AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [LOCK_CLASS, runbookName],
  );
  if (!r.rows.length) return null;
  const backendPid: number = r.rows[0].backend_pid;
  let run: any;
  try {
    const rr = await db.query<any>(
      `SELECT run_id, os_user, host, pid, to_char(started_at, 'YYYY-MM-DD HH24:MI:SS TZ') AS started_at
         FROM pgrunbook.runs WHERE backend_pid = $1 AND runbook_name = $2 AND status = 'running'
        ORDER BY started_at DESC LIMIT 1`,
      [backendPid, runbookName],
    );
    run = rr.rows[0];
  } catch {
    /* schema not created yet */
  }
  return {
    backendPid,
    runId: run?.run_id ?? null,
    user: run?.os_user ?? null,
    host: run?.host ?? null,
    pid: run?.pid ?? null,
    startedAt: run?.started_at ?? null,
    clientAddr: r.rows[0].client_addr ?? null,
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
