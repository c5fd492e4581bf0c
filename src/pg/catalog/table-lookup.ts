// Finding tables: identity, kind and planner statistics, by name or by OID. Catalog reads only;
// sizes come from relpages, so no lookup here waits behind a lock on the table.
import { quoteIdent } from '../connection.js';
import type { Queryable } from '../queryable.js';
import { sqlText } from '../sql-files.js';
import type { RelKind, TableFacts } from './catalog-types.js';

export const CATALOG_SQL = 'pg/catalog/sql';

/** A table (or view, sequence, ...) by name as PostgreSQL parses it (`public.orders`, `"Odd"`); undefined when it does not exist. */
export async function findTable(db: Queryable, name: string): Promise<TableFacts | undefined> {
  const r = await db.query(sqlText(CATALOG_SQL, 'relations'), [name, null]);
  return r.rows[0] ? tableFromRow(r.rows[0]) : undefined;
}

/** The current database and its user tables' names (bare when on the search_path). */
export async function tableNames(db: Queryable): Promise<{ db: string; names: string[] }> {
  const r = await db.query(sqlText(CATALOG_SQL, 'table-names'));
  return { db: r.rows[0].db, names: r.rows[0].names };
}

/** The relations with these OIDs (those that still exist), in no particular order. */
export async function tablesByOid(db: Queryable, oids: number[]): Promise<TableFacts[]> {
  if (oids.length === 0) return [];
  const r = await db.query(sqlText(CATALOG_SQL, 'relations'), [null, oids]);
  return r.rows.map(tableFromRow);
}

function tableFromRow(r: any): TableFacts {
  return {
    oid: Number(r.oid),
    schema: r.schema,
    name: r.name,
    qualified: `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`,
    regclass: r.regclass,
    relkind: r.relkind as RelKind,
    persistence: r.persistence,
    ...(r.is_partition && r.parent ? { partitionOf: r.parent } : {}),
    reltuples: r.reltuples === null ? null : Number(r.reltuples),
    liveTuples: r.live_tuples === null ? null : Number(r.live_tuples),
    relpages: Number(r.relpages),
    heapBytes: Number(r.heap_bytes),
    indexBytes: Number(r.index_bytes),
    tablespace: r.tablespace,
    accessMethod: r.access_method ?? null,
  };
}

/** reltuples when analyzed, else n_live_tup; null when neither is known. */
export function rowEstimate(t: Pick<TableFacts, 'reltuples' | 'liveTuples'>): number | null {
  return t.reltuples ?? t.liveTuples;
}

/**
 * Rows of a table (summed over leaf partitions when partitioned), never count(*): reltuples once
 * analyzed, n_live_tup before the first ANALYZE (reltuples is -1 on PG14+, 0 before).
 */
export async function estimateRows(db: Queryable, oid: number, partitioned: boolean): Promise<number | null> {
  const sql = sqlText(CATALOG_SQL, partitioned ? 'row-estimate-partitioned' : 'row-estimate');
  const r = (await db.query<{ reltuples: number | null; analyzed: boolean | null; live: number | null }>(sql, [oid])).rows[0];
  if (!r) return null;
  if (r.analyzed && (r.reltuples ?? 0) > 0) return Math.round(r.reltuples!);
  if ((r.live ?? 0) > 0) return Math.round(r.live!);
  return r.analyzed ? Math.max(0, Math.round(r.reltuples ?? 0)) : null;
}
