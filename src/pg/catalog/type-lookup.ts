// Facts about indexes by name, functions, casts and types: what the analyzer asks besides tables.
import type { Queryable } from '../queryable.js';
import { sqlText } from '../sql-files.js';
import type { RelKind } from './catalog-types.js';
import { CATALOG_SQL } from './table-lookup.js';

export type Volatility = 'immutable' | 'stable' | 'volatile';

export interface TypeUser {
  /** The table, regclass text. */
  table: string;
  /** The column of that type; absent for a table typed by it (CREATE TABLE ... OF). */
  column?: string;
  relkind: RelKind;
}

export interface IndexOwner {
  /** Index name as regclass text. */
  index: string;
  table: string;
  /** Relkind of the table (r or p). */
  tableKind: RelKind;
  /** Partitioned index. */
  partitioned: boolean;
  valid: boolean;
  constraint?: string;
}

/** The table an index (name as PostgreSQL parses it) belongs to; undefined when there is no such index. */
export async function indexOwner(db: Queryable, name: string): Promise<IndexOwner | undefined> {
  const row = (await db.query(sqlText(CATALOG_SQL, 'index-owner'), [name])).rows[0];
  if (!row) return undefined;
  return {
    index: row.index,
    table: row.table,
    tableKind: row.relkind,
    partitioned: row.partitioned,
    valid: row.is_valid,
    ...(row.constraint_name ? { constraint: row.constraint_name } : {}),
  };
}

const VOLATILITY: Record<string, Volatility> = { i: 'immutable', s: 'stable', v: 'volatile' };
const VOLATILITY_RANK: Record<Volatility, number> = { immutable: 0, stable: 1, volatile: 2 };

/** The most volatile overload of a function that accepts `nargs` arguments (any overload when none fits); undefined when no such function. */
export async function functionVolatility(
  db: Queryable,
  schema: string | undefined,
  name: string,
  nargs: number,
): Promise<Volatility | undefined> {
  const r = await db.query<{ provolatile: string; fits: boolean }>(sqlText(CATALOG_SQL, 'function-volatility'), [
    name,
    schema ?? null,
    nargs,
  ]);
  const fitting = r.rows.filter((x) => x.fits);
  let worst: Volatility | undefined;
  for (const x of fitting.length ? fitting : r.rows) {
    const v = VOLATILITY[x.provolatile];
    if (v && (!worst || VOLATILITY_RANK[v] > VOLATILITY_RANK[worst])) worst = v;
  }
  return worst;
}

/** pg_cast.castmethod between two types given as SQL names ('b' binary, 'f' function, 'i' I/O); undefined = no cast. */
export async function castMethod(db: Queryable, source: string, target: string): Promise<'b' | 'f' | 'i' | undefined> {
  const m = (await db.query<{ m: string }>(sqlText(CATALOG_SQL, 'cast-method'), [source, target])).rows[0]?.m;
  return m === 'b' || m === 'f' || m === 'i' ? m : undefined;
}

/** Whether a type (name as PostgreSQL parses it) is a domain with constraints; undefined when there is no such type. */
export async function isConstrainedDomain(db: Queryable, name: string): Promise<boolean | undefined> {
  return (await db.query<{ d: boolean }>(sqlText(CATALOG_SQL, 'constrained-domain'), [name])).rows[0]?.d;
}

/** Tables with a column of this type (name as PostgreSQL parses it), and tables typed by it. */
export async function typeUsers(db: Queryable, name: string): Promise<TypeUser[]> {
  const r = await db.query(sqlText(CATALOG_SQL, 'type-users'), [name]);
  return r.rows.map((x) => ({ table: x.table, ...(x.column ? { column: x.column } : {}), relkind: x.relkind as RelKind }));
}

/** The table an extended statistics object is on (schema undefined: the search_path). */
export async function statisticsTable(db: Queryable, schema: string | undefined, name: string): Promise<string | undefined> {
  return (await db.query<{ table: string }>(sqlText(CATALOG_SQL, 'statistics-table'), [schema ?? null, name])).rows[0]?.table;
}
