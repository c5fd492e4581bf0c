// What the projection needs to know beyond row counts, read from the catalogs (read-only, no
// table access, safe on the source):
//  - per index of a touched table, how many rows share one key. A row sample keeps the distinct
//    keys of a repeated column but divides the rows per key by the sampling factor, and keeping a
//    btree in order costs more per inserted entry when each key holds more rows. So an index whose
//    rows per key differ a lot between source and sample is maintained at a different cost per row.
//  - the source's memory settings: whether the table (and what a backfill adds to it) fits the
//    cache the source has.
import type { Queryable } from '../pg/queryable.js';
import { sqlText } from '../pg/sql-files.js';

export interface IndexShape {
  /** Table, as schema.name (public. omitted, like TableSample.table). */
  table: string;
  index: string;
  unique: boolean;
  /** reltuples of the table divided by the estimated distinct keys; null when not estimable (expression index, no statistics). */
  rowsPerKey: number | null;
}

export interface SourceMemory {
  sharedBuffersBytes: number;
  effectiveCacheBytes: number;
}

/**
 * Index shapes for the given tables (quoted schema.name). Distinct keys come from pg_stats: the
 * largest n_distinct among the index's columns, a lower bound on distinct key combinations, so
 * rowsPerKey is an upper bound. Tables the role cannot see statistics for get null.
 */
export async function readIndexShapes(db: Queryable, tables: string[]): Promise<IndexShape[]> {
  if (tables.length === 0) return [];
  const r = await db.query<{ tbl: string; idx: string; uniq: boolean; reltuples: string; distinct: string | null; exprs: boolean }>(
    sqlText('rehearsal/sql', 'index-shapes'),
    [tables],
  );
  return r.rows.map((x) => {
    const rows = Number(x.reltuples);
    const distinct = x.distinct === null ? NaN : Number(x.distinct);
    const rowsPerKey = x.uniq ? 1 : !x.exprs && rows > 0 && distinct >= 1 ? rows / distinct : null;
    return { table: x.tbl, index: x.idx, unique: x.uniq, rowsPerKey };
  });
}

export async function readSourceMemory(db: Queryable): Promise<SourceMemory | null> {
  try {
    const r = await db.query<{ sb: string; ec: string }>(sqlText('rehearsal/sql', 'source-memory'));
    const sb = Number(r.rows[0]?.sb);
    const ec = Number(r.rows[0]?.ec);
    return Number.isFinite(sb) && Number.isFinite(ec) ? { sharedBuffersBytes: sb, effectiveCacheBytes: ec } : null;
  } catch {
    return null;
  }
}
