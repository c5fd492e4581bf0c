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

export interface MatchingEstimate {
  rows: number;
  /** Where the figure comes from, in the operator's words. */
  basis: string;
}

/** Rows a block sample for the matching estimate aims at: a few hundred pages of a narrow table. */
const MATCH_SAMPLE_ROWS = 10_000;

/**
 * Rows matching `where`: the share that matches in a block sample of about MATCH_SAMPLE_ROWS rows,
 * applied to the table's row estimate; EXPLAIN's estimate when there is no row estimate or the
 * sample fails. The planner alone guesses for a column without statistics (one an earlier step just
 * added: `amount_cents IS NULL` on 1M rows, all of them NULL, came out as 5,075).
 */
export async function estimateMatching(db: Queryable, info: BackfillTarget, where: string): Promise<MatchingEstimate | null> {
  const total = info.estimatedRows;
  if (total) {
    const pct = Math.min(100, Math.max(0.01, (100 * MATCH_SAMPLE_ROWS) / total));
    try {
      const r = await db.query<{ n: number; m: number }>(
        `SELECT count(*)::float8 AS n, count(*) FILTER (WHERE (${where}\n))::float8 AS m FROM ${info.qualified} TABLESAMPLE SYSTEM (${pct.toFixed(4)})`,
      );
      const { n, m } = r.rows[0] ?? { n: 0, m: 0 };
      if (n > 0)
        return {
          rows: Math.round((total * m) / n),
          basis: `${m.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} rows in a ${+pct.toFixed(2)}% block sample match, of ~${total.toLocaleString('en-US')} rows`,
        };
    } catch {
      /* the planner's estimate below */
    }
  }
  try {
    const r = await db.query<{ 'QUERY PLAN': any }>(`EXPLAIN (FORMAT JSON) SELECT 1 FROM ${info.qualified} WHERE (${where}\n)`);
    const plan = r.rows[0]?.['QUERY PLAN'];
    const rows = Array.isArray(plan) ? plan[0]?.Plan?.['Plan Rows'] : undefined;
    return typeof rows === 'number' ? { rows, basis: "the planner's estimate (EXPLAIN)" } : null;
  } catch {
    return null;
  }
}

/** The table's size in pages, as a block sample's share is reckoned; a partitioned parent has none of its own, so its row estimate at about 50 rows a page stands in. */
export async function tablePages(db: Queryable, info: BackfillTarget): Promise<number> {
  if (info.partitioned) return Math.max(1, (info.estimatedRows ?? 0) / 50);
  return Number((await db.query<{ pages: number }>(sqlText('backfill/sql', 'table-pages'), [info.oid])).rows[0]?.pages ?? 1);
}
