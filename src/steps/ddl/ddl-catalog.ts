// Catalog look-ups of the DDL kinds: the catalog layer (src/pg/catalog) read through probes with a
// short lock_timeout and statement_timeout, so a planning or verification query can never queue
// behind (or block) DDL.
import type { Queryable } from '../../pg/queryable.js';
import { quoteQualified } from '../../pg/connection.js';
import { probe, probing } from '../../pg/probe.js';
import type { ColumnFacts, ConstraintFacts, TableFacts } from '../../pg/catalog/catalog-types.js';
import * as lookup from '../../pg/catalog/table-lookup.js';
import * as parts from '../../pg/catalog/table-parts.js';
import { RunbookError } from '../../util/runbook-error.js';
import { closest } from '../../runbook/suggest.js';

function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A table by the runbook's name (`orders`, `app.orders`); undefined when it does not exist. */
export function findTable(q: Queryable, table: string): Promise<TableFacts | undefined> {
  return lookup.findTable(probing(q), quoteQualified(table));
}

/**
 * For plan(): the table as the server knows it (with a connection), and the name the planned SQL
 * uses: the server's qualified name when found, else the runbook's name quoted (a dry run offline).
 * With a connection, a missing table fails the plan (SQLSTATE 42P01); `plan` and `run` plan the
 * step offline when an earlier step creates that table.
 */
export async function planTable(db: Queryable | undefined, table: string): Promise<{ qualified: string; info?: TableFacts }> {
  const info = db ? await findTable(db, table) : undefined;
  if (db && !info) throw await missingTableError(db, table);
  return { qualified: info?.qualified ?? quoteQualified(table), info };
}

/**
 * "table x does not exist", naming the closest existing table (a typo, or the wrong database).
 * SQLSTATE 42P01 (undefined_table) marks it for `plan` and `run`, which fail on it before any gate.
 */
export async function missingTableError(q: Queryable, table: string): Promise<RunbookError> {
  const known = await lookup.tableNames(probing(q)).catch(() => ({ db: '?', names: [] as string[] }));
  const near = closest(table.replace(/"/g, ''), known.names);
  return new RunbookError(`table ${table} does not exist in database ${known.db}${near ? `; the closest existing table is ${near}` : ''}`, {
    hint: `check the table name (and schema) in the runbook or the --var values${near ? ` (did you mean ${near}?)` : ''}, and that --db points at the right database; search_path decides unqualified names`,
    sqlstate: '42P01',
    exitCode: 2,
  });
}

/** "about N rows (reltuples)": a size from planner statistics, never a count. */
export function estimatedRowsText(t: TableFacts): string | undefined {
  return t.reltuples === null ? undefined : `about ${Math.round(t.reltuples).toLocaleString('en-US')} rows (reltuples)`;
}

export async function requireTable(q: Queryable, table: string): Promise<TableFacts> {
  const t = await findTable(q, table);
  if (!t) throw await missingTableError(q, table);
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
  if (!c)
    throw new RunbookError(`column ${column} does not exist on ${table.schema}.${table.name}`, {
      hint: 'check the column name; an earlier add_column step may not have run yet',
    });
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

/** What depends on a column, as PostgreSQL describes it (indexes, constraints, views, ...). */
export function columnDependents(q: Queryable, tableOid: number, attnum: number, exceptTrigger?: string): Promise<string[]> {
  return parts.columnDependents(probing(q), tableOid, attnum, exceptTrigger);
}

export function primaryKeyColumns(q: Queryable, tableOid: number): Promise<string[]> {
  return parts.primaryKey(probing(q), tableOid).then((keys) => keys.map((k) => k.name));
}
