// Catalog and evidence reads that must never queue behind (or block) DDL: each runs with SET LOCAL
// lock_timeout / statement_timeout in one implicit transaction (the simple query protocol runs the
// batch as one), so the settings hold for that statement only.
import type pg from 'pg';
import { quoteLiteral } from './connection.js';
import type { Queryable } from './queryable.js';

export interface ProbeTimeouts {
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
}

/** Runs one read-only statement under short timeouts. No bind parameters: callers pass quoted identifiers and literals. */
export async function probe<R = any>(q: Queryable, sql: string, opts: ProbeTimeouts = {}): Promise<R[]> {
  const lt = Math.max(1, Math.round(opts.lockTimeoutMs ?? 1000));
  const st = Math.max(0, Math.round(opts.statementTimeoutMs ?? 10_000));
  // No parallel workers: an evidence scan (remaining NULLs, orphans) on a live server should take
  // one core, not every core the application is using.
  const res: any = await q.query(
    `SET LOCAL lock_timeout = ${lt}; SET LOCAL statement_timeout = ${st}; SET LOCAL max_parallel_workers_per_gather = 0; ${sql}`,
  );
  const last = Array.isArray(res) ? res[res.length - 1] : res;
  return (last?.rows ?? []) as R[];
}

/**
 * A Queryable whose every query runs as a probe: parameters are written into the text as literals
 * (the simple protocol takes none). For the catalog lookups, whose SQL files use $n parameters.
 */
export function probing(q: Queryable, opts: ProbeTimeouts = {}): Queryable {
  return {
    async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
      const rows = await probe<R>(q, inlineParams(sql, params), opts);
      return { rows, rowCount: rows.length, command: 'SELECT', oid: 0, fields: [] };
    },
  };
}

/** `$1`..`$n` replaced by SQL literals. Our SQL files hold no dollar quoting, so every `$n` is a parameter. */
export function inlineParams(sql: string, params: unknown[]): string {
  return sql.replace(/\$(\d+)(?!\d)/g, (whole, n: string) => {
    const i = Number(n) - 1;
    if (i >= params.length) throw new Error(`SQL parameter ${whole} has no value (${params.length} given)`);
    return sqlValue(params[i]);
  });
}

function sqlValue(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot pass ${v} as an SQL parameter`);
    return String(v);
  }
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return quoteLiteral(`{${v.map(arrayElement).join(',')}}`);
  return quoteLiteral(String(v));
}

function arrayElement(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return `"${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
