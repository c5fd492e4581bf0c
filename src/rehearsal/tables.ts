// Which tables a rehearsal must copy: the ones the deploy phase touches (from each step's plan,
// its SQL and its `table` fields), plus what they need to exist and stay consistent: tables they
// reference by FK (transitively), tables that reference them, partitions, dependent views.
import { loadParser, parseStatements } from '../pg/sqlparse.js';
import { STEP_KINDS } from '../steps/registry.js';
import type { Runbook, StepSpec } from '../runbook/model.js';
import type { Queryable, StepPlan } from '../steps/step-kind.js';

export type TableRole = 'touched' | 'referenced' | 'referencing' | 'partition' | 'view';

export interface TableInfo {
  oid: number;
  schema: string;
  name: string;
  /** Quoted schema.name, safe to splice into SQL. */
  qualified: string;
  /** Human form: schema.name (public. omitted). */
  display: string;
  /** r table, p partitioned, v view, m matview, f foreign. */
  relkind: string;
  role: TableRole;
  /** reltuples (never count(*)); null when never analyzed. */
  rowsEstimate: number | null;
  /** Heap pages × block size, from pg_class: no lock taken. */
  heapBytes: number;
  /** All indexes, from pg_class.relpages. */
  indexBytes: number;
  relpages: number;
}

export interface ForeignKey {
  name: string;
  child: number;
  childColumns: string[];
  parent: number;
  parentColumns: string[];
  /** format_type of each parent column, to cast literal keys. */
  parentTypes: string[];
}

/** Plans every deploy step (read-only) and collects relation names from locks, SQL and `table` fields. */
export async function touchedRelationNames(runbook: Runbook, db: Queryable | undefined, serverVersionNum?: number): Promise<string[]> {
  await loadParser();
  const names = new Set<string>();
  for (const step of runbook.phases.deploy) {
    collectTableFields(step.params, names);
    const plan = await planOf(step, runbook, db, serverVersionNum);
    for (const l of plan?.locks ?? []) names.add(l.relation);
    for (const st of plan?.statements ?? []) collectSqlRelations(st.sql, names);
    if (typeof step.rollback === 'string') collectSqlRelations(step.rollback, names);
    collectSqlFields(step.params, names);
  }
  return [...names].filter(Boolean);
}

export async function planOf(step: StepSpec, runbook: Runbook, db: Queryable | undefined, serverVersionNum?: number): Promise<StepPlan | undefined> {
  const kind = STEP_KINDS.get(step.kind);
  if (!kind) return undefined;
  try {
    return await kind.plan(step, { db, serverVersionNum, runbook });
  } catch {
    return undefined;
  }
}

function collectTableFields(v: unknown, out: Set<string>): void {
  if (!v || typeof v !== 'object') return;
  for (const [k, x] of Object.entries(v)) {
    if ((k === 'table' || k === 'references' || k === 'ref_table') && typeof x === 'string') out.add(x);
    else if (typeof x === 'object') collectTableFields(x, out);
  }
}

function collectSqlFields(v: unknown, out: Set<string>): void {
  if (typeof v === 'string') {
    if (/\b(alter|update|insert|delete|create|drop|select|lock|vacuum|analyze|cluster|truncate)\b/i.test(v)) collectSqlRelations(v, out);
    return;
  }
  if (v && typeof v === 'object') for (const x of Object.values(v)) collectSqlFields(x, out);
}

export function collectSqlRelations(sql: string, out: Set<string>): void {
  let stmts;
  try {
    stmts = parseStatements(sql);
  } catch {
    return;
  }
  for (const s of stmts) walk(s.ast, out);
}

function walk(node: unknown, out: Set<string>): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) return node.forEach((n) => walk(n, out));
  const n = node as Record<string, unknown>;
  if (typeof n.relname === 'string') {
    const q = (s: string) => (/^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);
    out.add(typeof n.schemaname === 'string' ? `${q(n.schemaname)}.${q(n.relname)}` : q(n.relname));
  }
  for (const v of Object.values(n)) walk(v, out);
}

const INFO_SQL = `
  select c.oid::int as oid, n.nspname as schema, c.relname as name, c.relkind::text as relkind,
         case when c.reltuples < 0 then null else c.reltuples::float8 end as rows,
         c.relpages::int as relpages,
         c.relpages::float8 * current_setting('block_size')::int as heap_bytes,
         coalesce((select sum(i.relpages)::float8 from pg_index x join pg_class i on i.oid = x.indexrelid where x.indrelid = c.oid), 0)
           * current_setting('block_size')::int as index_bytes,
         s.n_live_tup::float8 as live
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    left join pg_stat_user_tables s on s.relid = c.oid
   where c.oid = any($1::oid[])`;

/** Resolves names to tables on `db` and widens the set with everything they need. Catalog reads only. */
export async function resolveTableSet(db: Queryable, names: string[]): Promise<{ tables: TableInfo[]; fks: ForeignKey[]; missing: string[] }> {
  const roles = new Map<number, TableRole>();
  const missing: string[] = [];
  for (const name of names) {
    const r = await db.query<{ oid: number | null; kind: string | null }>(
      `select c.oid::int as oid, c.relkind::text as kind from pg_class c where c.oid = to_regclass($1)`,
      [name],
    ).catch(() => ({ rows: [] as { oid: number | null; kind: string | null }[] }));
    const row = r.rows[0];
    if (!row?.oid) missing.push(name); // created by the deploy itself, or a typo the plan will report
    else if (row.kind === 'r' || row.kind === 'p') roles.set(row.oid, 'touched');
    else if (row.kind === 'i') {
      const t = await db.query<{ oid: number }>(`select indrelid::int as oid from pg_index where indexrelid = $1`, [row.oid]);
      if (t.rows[0]) roles.set(t.rows[0].oid, 'touched');
    }
  }
  const add = (oid: number, role: TableRole) => {
    if (!roles.has(oid)) {
      roles.set(oid, role);
      return true;
    }
    return false;
  };
  // Partitions and inheritance children of touched tables hold their rows.
  for (const oid of [...roles.keys()]) {
    const r = await db.query<{ oid: number }>(
      `with recursive t(oid) as (select inhrelid from pg_inherits where inhparent = $1
         union select i.inhrelid from pg_inherits i join t on i.inhparent = t.oid) select oid::int from t`,
      [oid],
    );
    for (const p of r.rows) add(p.oid, 'partition');
  }
  // Tables referencing a touched table (one level: their rows see the change), then every table
  // referenced by anything in the set, transitively (the FKs must restore).
  const fkRows = async (where: string, oids: number[]) =>
    (
      await db.query<{ name: string; child: number; parent: number; ccols: string[]; pcols: string[]; ptypes: string[] }>(
        `select con.conname as name, con.conrelid::int as child, con.confrelid::int as parent,
                (select array_agg(a.attname::text order by k.i) from unnest(con.conkey) with ordinality k(n, i)
                   join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.n) as ccols,
                (select array_agg(a.attname::text order by k.i) from unnest(con.confkey) with ordinality k(n, i)
                   join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.n) as pcols,
                (select array_agg(format_type(a.atttypid, a.atttypmod) order by k.i) from unnest(con.confkey) with ordinality k(n, i)
                   join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.n) as ptypes
           from pg_constraint con where con.contype = 'f' and ${where} = any($1::oid[])`,
        [oids],
      )
    ).rows;
  const touched = [...roles.entries()].filter(([, r]) => r === 'touched' || r === 'partition').map(([o]) => o);
  for (const fk of await fkRows('con.confrelid', touched)) add(fk.child, 'referencing');
  for (let frontier = [...roles.keys()]; frontier.length; ) {
    const next: number[] = [];
    for (const fk of await fkRows('con.conrelid', frontier)) if (add(fk.parent, 'referenced')) next.push(fk.parent);
    frontier = next;
  }
  // Views over the set (they bind by OID, and swaps must recreate them).
  const views = await db.query<{ oid: number }>(
    `select distinct r.ev_class::int as oid from pg_depend d join pg_rewrite r on r.oid = d.objid
      join pg_class v on v.oid = r.ev_class
     where d.classid = 'pg_rewrite'::regclass and d.refobjid = any($1::oid[]) and r.ev_class <> d.refobjid and v.relkind in ('v', 'm')`,
    [[...roles.keys()]],
  );
  for (const v of views.rows) add(v.oid, 'view');

  const oids = [...roles.keys()];
  const info = await db.query<{ oid: number; schema: string; name: string; relkind: string; rows: number | null; relpages: number; heap_bytes: number; index_bytes: number; live: number | null }>(INFO_SQL, [oids]);
  const tables = info.rows.map<TableInfo>((r) => ({
    oid: r.oid,
    schema: r.schema,
    name: r.name,
    qualified: `${quote(r.schema)}.${quote(r.name)}`,
    display: r.schema === 'public' ? r.name : `${r.schema}.${r.name}`,
    relkind: r.relkind,
    role: roles.get(r.oid)!,
    rowsEstimate: r.rows ?? r.live,
    heapBytes: Number(r.heap_bytes),
    indexBytes: Number(r.index_bytes),
    relpages: r.relpages,
  }));
  const allFks = (await fkRows('con.conrelid', oids)).filter((f) => roles.has(f.parent));
  const fks = allFks.map<ForeignKey>((f) => ({ name: f.name, child: f.child, childColumns: f.ccols, parent: f.parent, parentColumns: f.pcols, parentTypes: f.ptypes }));
  return { tables, fks, missing };
}

function quote(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
