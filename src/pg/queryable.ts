// Anything that runs a query: a pg Pool, a PoolClient or a Client.
import type pg from 'pg';

export interface Queryable {
  query<R extends pg.QueryResultRow = any>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
}
