// What swap_table needs to know about a table before it rebuilds it: columns, primary key,
// indexes and index-backed constraints, foreign keys in and out, dependent views (recursively),
// sequences, grants, and the things it refuses to handle.
import type { Queryable } from '../../pg/queryable.js';
import { inlineParams, probe } from '../../pg/probe.js';
import { sqlText } from '../../pg/sql-files.js';
import type { TableFacts } from '../../pg/catalog/catalog-types.js';
import { quoteIdent } from '../../pg/connection.js';

export interface SwapColumn {
  name: string;
  type: string;
  generated: boolean;
  identity: boolean;
}

export interface SwapIndex {
  name: string;
  /** pg_get_indexdef text from " USING ..." on (method, columns, options, predicate). */
  usingClause: string;
  unique: boolean;
  /** Set when the index backs a constraint (p, u, x): that constraint's definition. */
  constraintDef?: string;
}

export interface SwapForeignKey {
  name: string;
  /** Quoted schema.table of the table holding the constraint. */
  table: string;
  /** Quoted schema.table the constraint references. */
  referenced: string;
  /** pg_get_constraintdef text, e.g. FOREIGN KEY (a) REFERENCES public.t(id) ON DELETE CASCADE. */
  definition: string;
}

export interface SwapView {
  /** Quoted schema.name. */
  name: string;
  definition: string;
  options: string[];
  owner: string;
  grants: string[];
  /** Column-level grants, with `%VIEW%` where the view name goes. */
  columnGrants: string[];
  comment: string | null;
}

export interface SwapSequence {
  /** Quoted schema.name. */
  name: string;
  column: string;
  kind: 'serial' | 'identity';
  type: string;
}

export interface SwapInfo {
  columns: SwapColumn[];
  pk: string[];
  indexes: SwapIndex[];
  outgoingFks: SwapForeignKey[];
  incomingFks: SwapForeignKey[];
  /** Dependent views in creation order (a view before views built on it). */
  views: SwapView[];
  sequences: SwapSequence[];
  /** GRANT statements for the table, with `%TABLE%` where the table name goes. */
  grants: string[];
  /** Column-level GRANTs (`GRANT SELECT (a, b) ON %TABLE% TO r`), which LIKE does not copy either. */
  columnGrants: string[];
  owner: string;
  /** Reasons this table cannot be swapped by this kind. */
  blockers: string[];
}

const SWAP_SQL = 'steps/ddl/sql';

/** One of swap_table's catalog queries (steps/ddl/sql/swap-*.sql), as a probe with its parameters inlined. */
function swapQuery<R = any>(db: Queryable, name: string, params: unknown[], opts: { qualifiedNames?: boolean } = {}): Promise<R[]> {
  const sql = inlineParams(sqlText(SWAP_SQL, name), params);
  // An empty search_path makes pg_get_constraintdef and pg_get_viewdef qualify every name.
  return probe<R>(db, opts.qualifiedNames ? `SET LOCAL search_path = pg_catalog; ${sql}` : sql);
}

const qualified = (schema: string, name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`;

async function indexesOf(db: Queryable, oid: number): Promise<SwapIndex[]> {
  return (await swapQuery(db, 'swap-indexes', [oid])).map((r) => {
    const def: string = r.def;
    const at = def.indexOf(' USING ', def.indexOf(' ON '));
    return { name: r.name, usingClause: def.slice(at + 1), unique: r.unique, ...(r.condef ? { constraintDef: r.condef } : {}) };
  });
}

type Grants = { grants: string[]; columnGrants: string[] };

/** GRANT statements of each relation, `placeholder` (%TABLE%, %VIEW%) where its new name goes. */
async function grantsOf(db: Queryable, oids: number[], placeholder: string): Promise<Map<number, Grants>> {
  if (oids.length === 0) return new Map();
  const rows = await swapQuery(db, 'swap-grants', [oids, placeholder]);
  return new Map(rows.map((r) => [Number(r.oid), { grants: r.grants ?? [], columnGrants: r.column_grants ?? [] }]));
}

async function viewsOf(db: Queryable, oid: number): Promise<(SwapView & { relkind: string })[]> {
  const rows = await swapQuery(db, 'swap-dependent-views', [oid], { qualifiedNames: true });
  const grants = await grantsOf(
    db,
    rows.map((r) => Number(r.oid)),
    '%VIEW%',
  );
  return rows.map((r) => ({
    name: qualified(r.nsp, r.name),
    relkind: r.relkind,
    definition: String(r.def).trim().replace(/;$/, ''),
    options: r.options ?? [],
    owner: r.owner,
    grants: grants.get(Number(r.oid))?.grants ?? [],
    columnGrants: grants.get(Number(r.oid))?.columnGrants ?? [],
    comment: r.comment,
  }));
}

function blockersOf(t: TableFacts, meta: any, pk: string[], selfRef: boolean, views: { name: string; relkind: string }[]): string[] {
  const blockers: string[] = [];
  if (t.relkind === 'p') blockers.push('it is partitioned (swap the partitions, or use a partition-aware tool)');
  if (meta.children || meta.inherits) blockers.push('it takes part in table inheritance');
  if (meta.rls) blockers.push('row-level security is enabled (policies would not follow the swap)');
  if (meta.triggers.length) blockers.push(`it has triggers (${meta.triggers.join(', ')}) that would not follow the swap`);
  if (pk.length === 0) blockers.push('it has no primary key (the copy pages by it and the sync trigger matches rows by it)');
  if (selfRef) blockers.push('it has a foreign key to itself');
  for (const v of views) if (v.relkind === 'm') blockers.push(`materialized view ${v.name} depends on it`);
  return blockers;
}

/** The table's columns in order, with their types as format_type writes them. */
export async function swapColumns(db: Queryable, oid: number): Promise<SwapColumn[]> {
  return (await swapQuery(db, 'swap-columns', [oid])).map((r) => ({
    name: r.name,
    type: r.type,
    generated: r.generated,
    identity: r.identity,
  }));
}

export async function describeForSwap(db: Queryable, t: TableFacts): Promise<SwapInfo> {
  const oid = t.oid;
  const columns = await swapColumns(db, oid);
  const pk = (await swapQuery<{ name: string }>(db, 'swap-primary-key', [oid])).map((r) => r.name);
  const fks = await swapQuery(db, 'swap-foreign-keys', [oid], { qualifiedNames: true });
  const fk = (r: any): SwapForeignKey => ({
    name: r.name,
    table: qualified(r.nsp, r.rel),
    referenced: qualified(r.ref_nsp, r.ref_rel),
    definition: r.def,
  });
  const views = await viewsOf(db, oid);
  const sequences = (await swapQuery(db, 'swap-sequences', [oid])).map((r) => ({
    name: qualified(r.nsp, r.seqname),
    column: r.column,
    kind: r.kind,
    type: r.type,
  }));
  const [meta] = await swapQuery(db, 'swap-table-meta', [oid]);
  const own = (await grantsOf(db, [oid], '%TABLE%')).get(oid);
  return {
    columns,
    pk,
    indexes: await indexesOf(db, oid),
    outgoingFks: fks.filter((r) => r.outgoing).map(fk),
    incomingFks: fks.filter((r) => !r.outgoing).map(fk),
    views,
    sequences,
    grants: own?.grants ?? [],
    columnGrants: own?.columnGrants ?? [],
    owner: meta.owner,
    blockers: blockersOf(
      t,
      meta,
      pk,
      fks.some((r) => r.self_ref),
      views,
    ),
  };
}

/** Is `name` free in `schema` (no relation of that name)? */
export async function relationNameFree(db: Queryable, schema: string, name: string): Promise<boolean> {
  return (await swapQuery(db, 'swap-relation-name-free', [schema, name])).length === 0;
}
