// The table a backfill walks, as the batch SQL needs it: quoted names, the primary key (the keyset
// the cursor walks) with its types (to cast cursor values back), and a row estimate. Read through
// the catalog layer (src/pg/catalog).
import type { Queryable } from '../pg/queryable.js';
import type { KeyColumn } from '../pg/catalog/catalog-types.js';
import { estimateRows, findTable } from '../pg/catalog/table-lookup.js';
import { primaryKey } from '../pg/catalog/table-parts.js';
import { quoteIdent, quoteQualified } from '../pg/connection.js';
import { RunbookError } from '../util/runbook-error.js';
import { sqlText } from '../pg/sql-files.js';

export interface BatchKey extends KeyColumn {
  /** Quoted identifier. */
  quoted: string;
}

export interface BackfillTarget {
  oid: number;
  /** `schema.table` for messages (and the cursor row: keep it stable). */
  display: string;
  /** Quoted, schema-qualified name for FROM / UPDATE. */
  qualified: string;
  /** Quoted bare name: how user SQL and FOR UPDATE OF refer to the table. */
  relname: string;
  keys: BatchKey[];
  partitioned: boolean;
  /** Planner's row count (reltuples, summed over partitions); null when never analyzed. */
  estimatedRows: number | null;
}

export async function introspectTable(db: Queryable, table: string): Promise<BackfillTarget> {
  const t = await findTable(db, quoteQualified(table));
  if (!t) {
    throw new RunbookError(`backfill: table ${table} does not exist`, {
      hint: 'check `table:` (schema-qualify it when it is not on the search_path) and that an earlier step created it',
    });
  }
  if (t.relkind !== 'r' && t.relkind !== 'p') {
    throw new RunbookError(`backfill: ${t.schema}.${t.name} is not a table (relkind ${t.relkind})`, {
      hint: 'point `table:` at the base table, not a view',
    });
  }
  const keys = await primaryKey(db, t.oid);
  if (keys.length === 0) {
    throw new RunbookError(`backfill: ${t.schema}.${t.name} has no primary key`, {
      hint: 'the batch cursor walks the primary key; add one first (build a unique index CONCURRENTLY, then ADD PRIMARY KEY USING INDEX)',
    });
  }
  return {
    oid: t.oid,
    display: `${t.schema}.${t.name}`,
    qualified: t.qualified,
    relname: quoteIdent(t.name),
    keys: keys.map((k) => ({ ...k, quoted: quoteIdent(k.name) })),
    partitioned: t.relkind === 'p',
    estimatedRows: await estimateRows(db, t.oid, t.relkind === 'p'),
  };
}

/** The planner's estimate of rows matching `where` (EXPLAIN only: nothing is executed). */
export async function estimateMatching(db: Queryable, info: BackfillTarget, where: string): Promise<number | null> {
  try {
    const r = await db.query<{ 'QUERY PLAN': any }>(`EXPLAIN (FORMAT JSON) SELECT 1 FROM ${info.qualified} WHERE (${where})`);
    const plan = r.rows[0]?.['QUERY PLAN'];
    const rows = Array.isArray(plan) ? plan[0]?.Plan?.['Plan Rows'] : undefined;
    return typeof rows === 'number' ? rows : null;
  } catch {
    return null;
  }
}

/** The table's size in pages, as a block sample's share is reckoned; a partitioned parent has none of its own, so its row estimate at about 50 rows a page stands in. */
export async function tablePages(db: Queryable, info: BackfillTarget): Promise<number> {
  if (info.partitioned) return Math.max(1, (info.estimatedRows ?? 0) / 50);
  return Number((await db.query<{ pages: number }>(sqlText('backfill/sql', 'table-pages'), [info.oid])).rows[0]?.pages ?? 1);
}
