// What the batch engine needs to know about the target table: its primary key (the keyset the
// cursor walks), the key types (to cast cursor values back), and cheap size estimates.
import { quoteIdent, quoteQualified } from '../pg/connection.js';
import { RunbookError } from '../engine/runbook-error.js';
import type { Queryable } from '../steps/step-kind.js';

export interface KeyColumn {
  name: string;
  /** Quoted identifier. */
  quoted: string;
  /** format_type() of the column, used in casts (`bigint`, `uuid`, `character varying(20)`). */
  type: string;
}

export interface TableInfo {
  oid: number;
  /** `schema.table` for messages. */
  display: string;
  /** Quoted, schema-qualified name for FROM / UPDATE. */
  qualified: string;
  /** Quoted bare name: how user SQL and FOR UPDATE OF refer to the table. */
  relname: string;
  keys: KeyColumn[];
  partitioned: boolean;
  /** Planner's row count (reltuples, summed over partitions); null when never analyzed. */
  estimatedRows: number | null;
}

export async function introspectTable(db: Queryable, table: string): Promise<TableInfo> {
  const rel = await db.query<{ oid: number; nspname: string; relname: string; relkind: string }>(
    `select c.oid::int8::float8 as oid, n.nspname, c.relname, c.relkind
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.oid = to_regclass($1)`,
    [quoteQualified(table)],
  );
  const r = rel.rows[0];
  if (!r) {
    throw new RunbookError(`backfill: table ${table} does not exist`, {
      hint: 'check `table:` (schema-qualify it when it is not on the search_path) and that an earlier step created it',
    });
  }
  if (r.relkind !== 'r' && r.relkind !== 'p') {
    throw new RunbookError(`backfill: ${r.nspname}.${r.relname} is not a table (relkind ${r.relkind})`, { hint: 'point `table:` at the base table, not a view' });
  }
  const keys = await db.query<{ attname: string; type: string }>(
    `select a.attname, format_type(a.atttypid, a.atttypmod) as type
       from pg_index i
       cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
       join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
      where i.indrelid = $1::int8::oid and i.indisprimary
      order by k.ord`,
    [r.oid],
  );
  if (keys.rows.length === 0) {
    throw new RunbookError(`backfill: ${r.nspname}.${r.relname} has no primary key`, {
      hint: 'the batch cursor walks the primary key; add one first (build a unique index CONCURRENTLY, then ADD PRIMARY KEY USING INDEX)',
    });
  }
  return {
    oid: Number(r.oid),
    display: `${r.nspname}.${r.relname}`,
    qualified: `${quoteIdent(r.nspname)}.${quoteIdent(r.relname)}`,
    relname: quoteIdent(r.relname),
    keys: keys.rows.map((k) => ({ name: k.attname, quoted: quoteIdent(k.attname), type: k.type })),
    partitioned: r.relkind === 'p',
    estimatedRows: await estimateRows(db, Number(r.oid), r.relkind === 'p'),
  };
}

/** reltuples (never count(*)); falls back to n_live_tup before the first ANALYZE. */
export async function estimateRows(db: Queryable, oid: number, partitioned: boolean): Promise<number | null> {
  const sql = partitioned
    ? `select sum(greatest(c.reltuples, 0))::float8 as reltuples, bool_or(c.reltuples >= 0) as analyzed,
              (select sum(n_live_tup) from pg_stat_user_tables s join pg_partition_tree($1::int8::oid) t on t.relid = s.relid)::float8 as live
         from pg_partition_tree($1::int8::oid) t join pg_class c on c.oid = t.relid where t.isleaf`
    : `select c.reltuples::float8 as reltuples, c.reltuples >= 0 as analyzed,
              (select n_live_tup from pg_stat_user_tables s where s.relid = c.oid)::float8 as live
         from pg_class c where c.oid = $1::int8::oid`;
  const r = (await db.query<{ reltuples: number | null; analyzed: boolean | null; live: number | null }>(sql, [oid])).rows[0];
  if (!r) return null;
  // reltuples is -1 (PG14+) or 0 before the first VACUUM/ANALYZE; n_live_tup is the better guess then.
  if (r.analyzed && (r.reltuples ?? 0) > 0) return Math.round(r.reltuples!);
  if ((r.live ?? 0) > 0) return Math.round(r.live!);
  return r.analyzed ? Math.max(0, Math.round(r.reltuples ?? 0)) : null;
}

/** The planner's estimate of rows matching `where` (EXPLAIN only: nothing is executed). */
export async function estimateMatching(db: Queryable, info: TableInfo, where: string): Promise<number | null> {
  try {
    const r = await db.query<{ 'QUERY PLAN': any }>(`EXPLAIN (FORMAT JSON) SELECT 1 FROM ${info.qualified} WHERE (${where})`);
    const plan = r.rows[0]?.['QUERY PLAN'];
    const rows = Array.isArray(plan) ? plan[0]?.Plan?.['Plan Rows'] : undefined;
    return typeof rows === 'number' ? rows : null;
  } catch {
    return null;
  }
}
