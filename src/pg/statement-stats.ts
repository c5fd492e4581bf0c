// The application's latency on the tables a step touches, from pg_stat_statements. A baseline is the
// calls-weighted mean the extension had recorded before the step; during it, each poll compares two
// readings (the delta of calls and execution time per statement). Statements are matched to a
// table by their text naming it, and pgrunbook's own statements are left out by their text.
import type { Queryable } from './queryable.js';
import { sqlText } from './sql-files.js';

export interface StatementStat {
  queryid: string;
  calls: number;
  totalMs: number;
  query: string;
  /** When the entry's counters started (17+); null before. */
  since: string | null;
}

export type StatementStatsReading =
  | { ok: true; at: number; stats: StatementStat[]; note?: string }
  | { ok: false; note: string; sqlstate?: string };

export interface LatencyFigure {
  /** Calls-weighted mean execution time, ms. */
  meanMs: number;
  calls: number;
  /** Calls per second over the window; null for a baseline (history of unknown length). */
  callsPerSec: number | null;
  statements: number;
}

export interface LockWait {
  pid: number;
  rel: string;
  mode: string;
  waitMs: number;
  query: string;
}

const escapeRegex = (s: string) => s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');

/** Word-bounded, case-insensitive patterns for a table's bare name (quotes and schema dropped). */
export function tablePatterns(tables: string[]): string[] {
  return tables.map((t) => {
    const bare = (t.split('.').pop() ?? t).replace(/"/g, '');
    return `\\m${escapeRegex(bare)}\\M`;
  });
}

/** Why pg_stat_statements cannot be read here, worded as what to do about it. */
function noteFor(err: { code?: string; message?: string }): string {
  const fix =
    err.code === '42P01' || err.code === '42883'
      ? 'run `CREATE EXTENSION pg_stat_statements` in this database (the library must be in shared_preload_libraries)'
      : err.code === '55000'
        ? "add pg_stat_statements to shared_preload_libraries and restart the server (e.g. ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements')"
        : err.code === '42501'
          ? 'grant pg_read_all_stats (or pg_monitor) to the role pgrunbook connects as'
          : 'check that pg_stat_statements is installed and readable by this role';
  return `application latency is not watched: pg_stat_statements cannot be read (${err.message ?? err.code}); ${fix}`;
}

export async function readStatementStats(
  db: Queryable,
  tables: string[],
  serverVersionNum: number,
  now: number,
  excludeRoleOid: number | null = null,
): Promise<StatementStatsReading> {
  let rows: { queryid: string; calls: number; total_ms: number; query: string; since: string | null; hidden: boolean }[];
  try {
    rows = (await db.query(sqlText('pg/sql', 'statement-stats', serverVersionNum), [tablePatterns(tables), excludeRoleOid])).rows;
  } catch (err: any) {
    return { ok: false, note: noteFor(err), sqlstate: err?.code };
  }
  const hidden = rows.filter((r) => r.hidden).length;
  const stats = rows
    .filter((r) => !r.hidden)
    .map((r) => ({ queryid: r.queryid, calls: r.calls, totalMs: r.total_ms, query: r.query, since: r.since }));
  const note =
    hidden > 0
      ? `${hidden} statement(s) of other roles are hidden from this role, so their latency is not counted: grant pg_read_all_stats (or pg_monitor) to it`
      : undefined;
  return { ok: true, at: now, stats, ...(note ? { note } : {}) };
}

/** The mean over everything recorded so far: the baseline taken before a step. */
export function baselineOf(stats: StatementStat[]): LatencyFigure | null {
  const calls = stats.reduce((n, s) => n + s.calls, 0);
  if (calls === 0) return null;
  const total = stats.reduce((n, s) => n + s.totalMs, 0);
  return { meanMs: total / calls, calls, callsPerSec: null, statements: stats.length };
}

/** The calls and time between two readings. Entries that were reset or are new count from zero. */
export function deltaOf(prev: { at: number; stats: StatementStat[] }, cur: { at: number; stats: StatementStat[] }): LatencyFigure | null {
  const before = new Map(prev.stats.map((s) => [s.queryid, s]));
  let calls = 0;
  let total = 0;
  let statements = 0;
  for (const s of cur.stats) {
    const p = before.get(s.queryid);
    const reset = !p || s.calls < p.calls || (s.since !== null && s.since !== p.since);
    const dc = reset ? s.calls : s.calls - p.calls;
    if (dc <= 0) continue;
    calls += dc;
    total += reset ? s.totalMs : s.totalMs - p.totalMs;
    statements++;
  }
  const seconds = (cur.at - prev.at) / 1000;
  if (calls === 0 || seconds <= 0) return null;
  return { meanMs: total / calls, calls, callsPerSec: calls / seconds, statements };
}

/** Other sessions waiting for a lock on the tables right now. */
export async function readLockWaits(db: Queryable, tables: string[]): Promise<LockWait[]> {
  const rows = (await db.query(sqlText('pg/sql', 'lock-waits-on-tables'), [tables])).rows;
  return rows.map((r: any) => ({ pid: r.pid, rel: r.rel, mode: r.mode, waitMs: r.wait_ms, query: r.query }));
}
