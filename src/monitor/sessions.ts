// Rows of the activity probe and what the panels make of them: long queries, connection counts,
// whose session it is.
import { redact } from '../util/secrets.js';
import type { LongQuery } from './monitor-types.js';

/** Sessions whose application_name starts with this are ours (pgrunbook run, backfill, DDL...). */
export const OWN_APP_PREFIX = 'pgrunbook';
/** The monitor's own sessions. */
export const MONITOR_APP = 'pgrunbook:monitor';

export interface ActivityRow {
  pid: number;
  database: string | null;
  user: string | null;
  app: string | null;
  backendType: string;
  /** null when this role may not see the session (no pg_read_all_stats). */
  state: string | null;
  waitEventType: string | null;
  waitEvent: string | null;
  queryAge: number | null;
  xactAge: number | null;
  stateAge: number | null;
  query: string | null;
  blockedBy: number[] | null;
}

export const HIDDEN_QUERY = '<insufficient privilege>';

export function isOurs(app: string | null | undefined): boolean {
  return !!app && app.startsWith(OWN_APP_PREFIX) && app !== MONITOR_APP;
}

export function isHidden(row: ActivityRow): boolean {
  return row.state === null && (row.query === HIDDEN_QUERY || row.query === null);
}

/** Query text as shown: passwords in ALTER/CREATE ROLE ... PASSWORD '...' and known secrets masked. */
export function maskQuery(text: string | null | undefined): string {
  if (!text) return '';
  return redact(text.replace(/(\bpassword\s+)'(?:[^']|'')*'/gi, "$1'***'"));
}

const ACTIVE_LIKE = new Set(['active', 'fastpath function call']);

/**
 * Non-idle sessions whose statement or transaction is older than `thresholdSeconds`, oldest first.
 * For `idle in transaction` the duration is how long it has sat idle; the transaction age is separate.
 */
export function selectLongQueries(rows: ActivityRow[], thresholdSeconds: number, limit = 50): LongQuery[] {
  const out: LongQuery[] = [];
  for (const r of rows) {
    if (isHidden(r) || r.state === null || r.state === 'idle' || r.app === MONITOR_APP) continue;
    const duration = (ACTIVE_LIKE.has(r.state) ? r.queryAge : r.stateAge) ?? 0;
    const age = Math.max(duration, r.xactAge ?? 0);
    if (age < thresholdSeconds) continue;
    out.push({
      pid: r.pid,
      state: r.state,
      durationSeconds: duration,
      xactAgeSeconds: r.xactAge,
      waitEvent: r.waitEventType ? `${r.waitEventType}:${r.waitEvent ?? ''}` : null,
      query: maskQuery(r.query),
      applicationName: r.app ?? '',
      user: r.user,
      ours: isOurs(r.app),
      database: r.database,
      backendType: r.backendType,
    });
  }
  const key = (q: LongQuery) => Math.max(q.durationSeconds, q.xactAgeSeconds ?? 0);
  return out.sort((a, b) => key(b) - key(a)).slice(0, limit);
}
