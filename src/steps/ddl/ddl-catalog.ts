// Catalog look-ups shared by the DDL kinds. Every probe runs with a short lock_timeout and
// statement_timeout so a planning or verification query can never queue behind (or block) DDL.
import type { Queryable } from '../step-kind.js';
import { quoteQualified } from '../../pg/connection.js';
import { qname } from './ddl-names.js';
import { RunbookError } from '../../engine/runbook-error.js';

export interface TableInfo {
  oid: number;
  schema: string;
  name: string;
  /** Quoted `schema.name`. */
  qualified: string;
  relkind: string;
  /** reltuples, or null when the table was never analyzed. */
  estimatedRows: number | null;
}

export interface ColumnInfo {
  attnum: number;
  type: string;
  notNull: boolean;
  defaultExpr: string | null;
  identity: string;
  generated: string;
}

export interface IndexInfo {
  oid: number;
  schema: string;
  name: string;
  table: string;
  tableOid: number;
  valid: boolean;
  ready: boolean;
  unique: boolean;
  primary: boolean;
  definition: string;
}

export interface ConstraintInfo {
  oid: number;
  name: string;
  type: string;
  validated: boolean;
  definition: string;
}

/**
 * Runs one read-only statement with SET LOCAL lock_timeout / statement_timeout (the simple query
 * protocol runs the batch as one implicit transaction, so the settings hold for the SELECT only).
 * No bind parameters: callers pass quoted identifiers and literals.
 */
export async function probe<R = any>(q: Queryable, sql: string, opts: { lockTimeoutMs?: number; statementTimeoutMs?: number } = {}): Promise<R[]> {
  const lt = Math.max(1, Math.round(opts.lockTimeoutMs ?? 1000));
  const st = Math.max(0, Math.round(opts.statementTimeoutMs ?? 10_000));
  // No parallel workers: an evidence scan (remaining NULLs, orphans) on a live server should take
  // one core, not every core the application is using.
  const res: any = await q.query(`SET LOCAL lock_timeout = ${lt}; SET LOCAL statement_timeout = ${st}; SET LOCAL max_parallel_workers_per_gather = 0; ${sql}`);
  const last = Array.isArray(res) ? res[res.length - 1] : res;
  return (last?.rows ?? []) as R[];
}

function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export async function findTable(q: Queryable, table: string): Promise<TableInfo | undefined> {
  const rows = await probe<any>(
    q,
    `select c.oid::int8 as oid, n.nspname as schema, c.relname as name, c.relkind::text as relkind,
            case when c.reltuples < 0 then null else c.reltuples::float8 end as reltuples
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.oid = to_regclass(${lit(quoteQualified(table))})`,
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    oid: Number(r.oid),
    schema: r.schema,
    name: r.name,
    qualified: qname(r.schema, r.name),
    relkind: r.relkind,
    estimatedRows: r.reltuples === null ? null : Number(r.reltuples),
  };
}

/**
 * For plan(): the table as the server knows it (with a connection), and the name the planned SQL
 * uses: the server's qualified name when found, else the runbook's name quoted (a dry run offline,
 * or a table an earlier step creates).
 */
export async function planTable(db: Queryable | undefined, table: string): Promise<{ qualified: string; info?: TableInfo }> {
  const info = db ? await findTable(db, table) : undefined;
  return { qualified: info?.qualified ?? quoteQualified(table), info };
}

/** "about N rows (reltuples)": a size from planner statistics, never a count. */
export function estimatedRowsText(t: TableInfo): string | undefined {
  return t.estimatedRows === null ? undefined : `about ${Math.round(t.estimatedRows).toLocaleString('en-US')} rows (reltuples)`;
}

export async function requireTable(q: Queryable, table: string): Promise<TableInfo> {
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

export async function findColumn(q: Queryable, tableOid: number, column: string): Promise<ColumnInfo | undefined> {
  const rows = await probe<any>(
    q,
    `select a.attnum, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull,
            pg_get_expr(d.adbin, d.adrelid) as default_expr, a.attidentity::text as identity, a.attgenerated::text as generated
       from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attrelid = ${tableOid} and a.attname = ${lit(column)} and not a.attisdropped and a.attnum > 0`,
  );
  const r = rows[0];
  if (!r) return undefined;
  return { attnum: r.attnum, type: r.type, notNull: r.attnotnull, defaultExpr: r.default_expr, identity: r.identity, generated: r.generated };
}

export async function requireColumn(q: Queryable, table: TableInfo, column: string): Promise<ColumnInfo> {
  const c = await findColumn(q, table.oid, column);
  if (!c) throw new RunbookError(`column ${column} does not exist on ${table.schema}.${table.name}`, { hint: 'check the column name; an earlier add_column step may not have run yet' });
  return c;
}

/** An index by name in a schema (index names are unique per schema). */
export async function findIndex(q: Queryable, schema: string, name: string): Promise<IndexInfo | undefined> {
  const rows = await probe<any>(
    q,
    `select c.oid::int8 as oid, n.nspname as schema, c.relname as name, i.indrelid::regclass::text as table, i.indrelid::int8 as table_oid,
            i.indisvalid, i.indisready, i.indisunique, i.indisprimary, pg_get_indexdef(c.oid) as def
       from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_index i on i.indexrelid = c.oid
      where n.nspname = ${lit(schema)} and c.relname = ${lit(name)}`,
  );
  const r = rows[0];
  if (!r) return undefined;
  return {
    oid: Number(r.oid),
    schema: r.schema,
    name: r.name,
    table: r.table,
    tableOid: Number(r.table_oid),
    valid: r.indisvalid,
    ready: r.indisready,
    unique: r.indisunique,
    primary: r.indisprimary,
    definition: r.def,
  };
}

export async function findConstraint(q: Queryable, tableOid: number, name: string): Promise<ConstraintInfo | undefined> {
  const rows = await probe<any>(
    q,
    `select oid::int8 as oid, conname, contype::text as contype, convalidated, pg_get_constraintdef(oid) as def
       from pg_constraint where conrelid = ${tableOid} and conname = ${lit(name)}`,
  );
  const r = rows[0];
  if (!r) return undefined;
  return { oid: Number(r.oid), name: r.conname, type: r.contype, validated: r.convalidated, definition: r.def };
}

/** True when the table has at least one row (reads one tuple, never counts). */
export async function hasRows(q: Queryable, qualified: string): Promise<boolean> {
  const rows = await probe<{ e: boolean }>(q, `select exists (select 1 from ${qualified} limit 1) as e`);
  return rows[0]?.e === true;
}

export async function serverVersionNum(q: Queryable): Promise<number> {
  const r = await q.query<{ n: string }>(`select current_setting('server_version_num') as n`);
  return Number(r.rows[0]!.n);
}

export { lit as sqlLiteral };
