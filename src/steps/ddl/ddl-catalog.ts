// Catalog look-ups of the DDL kinds: the catalog layer (src/pg/catalog) read through probes with a
// short lock_timeout and statement_timeout, so a planning or verification query can never queue
// behind (or block) DDL.
import type { Queryable } from '../../pg/queryable.js';
import { quoteQualified } from '../../pg/connection.js';
import { probe, probing } from '../../pg/probe.js';
import type { ColumnFacts, ConstraintFacts, TableFacts } from '../../pg/catalog/catalog-types.js';
import * as lookup from '../../pg/catalog/table-lookup.js';
import * as parts from '../../pg/catalog/table-parts.js';
import { RunbookError } from '../../engine/runbook-error.js';

function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A table by the runbook's name (`orders`, `app.orders`); undefined when it does not exist. */
export function findTable(q: Queryable, table: string): Promise<TableFacts | undefined> {
  return lookup.findTable(probing(q), quoteQualified(table));
}

/**
 * For plan(): the table as the server knows it (with a connection), and the name the planned SQL
 * uses: the server's qualified name when found, else the runbook's name quoted (a dry run offline,
 * or a table an earlier step creates).
 */
export async function planTable(db: Queryable | undefined, table: string): Promise<{ qualified: string; info?: TableFacts }> {
  const info = db ? await findTable(db, table) : undefined;
  return { qualified: info?.qualified ?? quoteQualified(table), info };
}

/** "about N rows (reltuples)": a size from planner statistics, never a count. */
export function estimatedRowsText(t: TableFacts): string | undefined {
  return t.reltuples === null ? undefined : `about ${Math.round(t.reltuples).toLocaleString('en-US')} rows (reltuples)`;
}

export async function requireTable(q: Queryable, table: string): Promise<TableFacts> {
  const t = await findTable(q, table);
  if (!t) {
    throw new RunbookError(`table ${table} does not exist`, {
      hint: 'check the table name (and schema) in the runbook or the --var values; search_path decides unqualified names',
    });
  }
  if (t.relkind !== 'r' && t.relkind !== 'p') {
    throw new RunbookError(`${table} is not a table (relkind ${t.relkind})`, { hint: 'point the step at the underlying table' });
  }
  return t;
}

export function findColumn(q: Queryable, tableOid: number, column: string): Promise<ColumnFacts | undefined> {
  return parts.findColumn(probing(q), tableOid, column);
}

export async function requireColumn(q: Queryable, table: TableFacts, column: string): Promise<ColumnFacts> {
  const c = await findColumn(q, table.oid, column);
  if (!c) throw new RunbookError(`column ${column} does not exist on ${table.schema}.${table.name}`, { hint: 'check the column name; an earlier add_column step may not have run yet' });
  return c;
}

/** An index by name in a schema (index names are unique per schema), with its definition. */
export function findIndex(q: Queryable, schema: string, name: string): Promise<parts.DefinedIndex | undefined> {
  return parts.findIndex(probing(q), schema, name);
}

export function findConstraint(q: Queryable, tableOid: number, name: string): Promise<ConstraintFacts | undefined> {
  return parts.findConstraint(probing(q), tableOid, name);
}

/** True when the table has at least one row (reads one tuple, never counts). */
export async function hasRows(q: Queryable, qualified: string): Promise<boolean> {
  const rows = await probe<{ e: boolean }>(q, `select exists (select 1 from ${qualified} limit 1) as e`);
  return rows[0]?.e === true;
}

export { lit as sqlLiteral };
