// Every introspection query of `plan` runs in its own READ ONLY transaction with a short
// lock_timeout: the server itself refuses any write, and no lock outlives the query (a long
// transaction holding ACCESS SHARE would block the very DDL the runbook is about to run).
import type pg from 'pg';
import type { Queryable } from '../../pg/queryable.js';

export function readOnly(pool: pg.Pool, opts: { lockTimeoutMs?: number; statementTimeoutMs?: number } = {}): Queryable {
  const lt = Math.max(1, Math.round(opts.lockTimeoutMs ?? 1000));
  const st = Math.max(1, Math.round(opts.statementTimeoutMs ?? 15_000));
  return {
    async query<R extends pg.QueryResultRow = any>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
      const c = await pool.connect();
      let broken = false;
      try {
        await c.query(`BEGIN READ ONLY; SET LOCAL lock_timeout = ${lt}; SET LOCAL statement_timeout = ${st}; SET LOCAL jit = off`);
        const r = await c.query<R>(sql, params as any[]);
        await c.query('COMMIT');
        return r;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => (broken = true));
        throw err;
      } finally {
        c.release(broken ? true : undefined);
      }
    },
  };
}
