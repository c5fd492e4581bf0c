// The Locks panel key: cancel one of OUR statements (typically a DDL queued for a lock, holding up
// every query behind it). Other people's sessions are refused: that call belongs to the operator,
// with pg_cancel_backend() and full knowledge of what the session does.
import type { Queryable } from '../pg/queryable.js';
import { redact } from '../util/secrets.js';
import { sqlText } from '../pg/sql-files.js';
import { isOurs, maskQuery, MONITOR_APP, OWN_APP_PREFIX } from './sessions.js';
import type { LockSession, MonitorSample } from './monitor-types.js';

export interface CancelResult {
  pid: number;
  cancelled: boolean;
  /** Why nothing was cancelled, or what was. */
  message: string;
  /** Whether it was waiting for a lock when cancelled. */
  wasWaiting?: boolean;
}

export async function cancelOwnStatement(db: Queryable, pid: number): Promise<CancelResult> {
  if (!Number.isInteger(pid) || pid <= 0) return { pid, cancelled: false, message: `"${pid}" is not a backend pid` };
  let row:
    | { app: string | null; state: string | null; wait_event_type: string | null; query: string | null; cancelled: boolean | null }
    | undefined;
  try {
    row = (await db.query(sqlText('monitor/sql', 'cancel-own-statement'), [pid, OWN_APP_PREFIX, MONITOR_APP])).rows[0];
  } catch (err) {
    return { pid, cancelled: false, message: `could not cancel pid ${pid}: ${redact((err as Error).message)}` };
  }
  if (!row) return { pid, cancelled: false, message: `pid ${pid} is gone: no such session any more` };
  if (!isOurs(row.app)) {
    const who = row.app === MONITOR_APP ? 'the monitor itself' : `application_name "${row.app ?? ''}"`;
    return {
      pid,
      cancelled: false,
      message: `refused: pid ${pid} is not a pgrunbook session (${who}). Cancel it yourself with pg_cancel_backend(${pid}) if you are sure.`,
    };
  }
  if (row.state !== 'active') {
    return {
      pid,
      cancelled: false,
      message: `pid ${pid} is not running a statement (state: ${row.state ?? 'unknown'}); nothing to cancel`,
    };
  }
  const wasWaiting = row.wait_event_type === 'Lock';
  if (!row.cancelled) return { pid, cancelled: false, message: `pid ${pid}: the server did not accept the cancel request`, wasWaiting };
  return {
    pid,
    cancelled: true,
    wasWaiting,
    message: `cancelled pid ${pid}${wasWaiting ? ' (was waiting for a lock)' : ''}: ${maskQuery(row.query)}`,
  };
}

/** The session the cancel key acts on: our waiting statement with the most sessions queued behind it. */
export function cancellableSession(sample: MonitorSample | undefined): LockSession | undefined {
  return sample?.locks
    .filter((l) => l.ours && l.blockedBy.length > 0)
    .sort((a, b) => b.queuedBehind - a.queuedBehind || (b.waitingSeconds ?? 0) - (a.waitingSeconds ?? 0))[0];
}
