// A schema copy without pg_dump. pg_dump refuses servers newer than itself, and the client on a
// machine is often older than the production server; the catalog of the source knows everything a
// rehearsal needs, and the server's own deparse functions (pg_get_*def) write most of the DDL.
//
// readCatalogSchema runs in the caller's read-only transaction on the source (the snapshot the data
// copy shares) and returns statements in pg_dump's two sections: pre-data (schemas, extensions,
// types, functions, sequences, tables, partitions, views) and post-data (constraint indexes,
// indexes, FKs, NOT VALID checks, triggers, statistics, replica identity, matview refresh), so
// indexes are built once, on the loaded sample. What the relations need is found by following
// pg_depend from them (and what they own) through types and functions; relations a view, a
// function or a partition needs are added, schema only, and reported.
import { RunbookError } from '../engine/runbook-error.js';
import { quoteIdent, quoteLiteral } from '../pg/connection.js';
import type { Queryable } from '../pg/queryable.js';
import { redact } from '../util/secrets.js';

import { sqlText } from '../pg/sql-files.js';

const sqlFile = (name: string): string => sqlText('rehearsal/sql', name);

const BUILTIN_SCHEMAS = new Set(['pg_catalog', 'information_schema', 'pg_toast']);
/** Owned objects whose dependencies must exist before the relation is created. */
const PRE_DATA_KINDS = new Set(['default', 'check', 'view', 'type']);
const STORAGE: Record<string, string> = { p: 'PLAIN', e: 'EXTERNAL', m: 'MAIN', x: 'EXTENDED' };

export interface ExtraRelation {
  oid: number;
  schema: string;
  name: string;
  relkind: string;
  /** Why it was added, e.g. "read by view public.v". */
  why: string;
  rows: number | null;
  heapBytes: number;
  indexBytes: number;
}

export interface NeededExtension {
  name: string;
  schema: string;
  /** Objects of the extension the copied schema uses, e.g. "type public.citext". */
  neededBy: string[];
}

export interface CatalogDump {
  sourceVersionNum: number;
  /** CREATE SCHEMA IF NOT EXISTS each, before the extensions. */
  schemas: string[];
  /** CREATE EXTENSION IF NOT EXISTS each that the sandbox has; a warning for the others. */
  extensions: NeededExtension[];
  preData: string[];
  postData: string[];
  /** Relations created (empty) beyond those asked for. */
  extraRelations: ExtraRelation[];
  /** Indexes INVALID on the source; not copied. */
  invalidIndexes: string[];
  warnings: string[];
}

interface Walked {
  rels: Map<number, string | null>;
  types: Set<number>;
  funcs: Set<number>;
  seqs: Set<number>;
  extensions: Map<string, Set<string>>;
  /** node → the nodes it needs first. Nodes: r:oid relation, t:oid type, f:oid function, s:oid sequence, a:oid array (a link only). */
  edges: Map<string, Set<string>>;
  warnings: string[];
}

/**
 * Reads the DDL that recreates the relations `relationOids` (tables, partitioned tables, views,
 * materialized views) and what they need. `db` must be one session, inside the transaction whose
 * snapshot the data copy uses; the session's search_path is emptied meanwhile so that every name
 * the server deparses comes out schema-qualified, and restored after.
 */
export async function readCatalogSchema(db: Queryable, relationOids: number[]): Promise<CatalogDump> {
  const version = Number((await db.query<{ v: string }>(`select current_setting('server_version_num') as v`)).rows[0]!.v);
  if (version < 140000) {
    throw new RunbookError(`the catalog-based schema copy needs PostgreSQL 14 or newer on the source (it runs ${Math.floor(version / 10000)})`, {
      hint: 'use pg_dump for this server (schemaFrom pg_dump); any pg_dump 14 or newer can dump it',
      exitCode: 1,
    });
  }
  const saved = (await db.query<{ p: string }>(`select current_setting('search_path') as p`)).rows[0]!.p;
  await db.query(`select set_config('search_path', '', false)`);
  try {
    const walked = await walk(db, relationOids);
    await lockRelations(db, [...walked.rels.keys()]);
    return await build(db, walked, version);
  } finally {
    await db.query(`select set_config('search_path', $1, false)`, [saved]).catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// Walk: which relations, types, functions, sequences and extensions the copy needs.

interface RefRow {
  from_class: number;
  from_obj: number;
  from_identity: string | null;
  classid: number;
  objid: number;
  type: string;
  schema: string | null;
  identity: string;
  extension: string | null;
  relkind: string | null;
  typtype: string | null;
  typrelid: number | null;
  typrelkind: string | null;
  array_of: number | null;
  prokind: string | null;
}

async function walk(db: Queryable, relationOids: number[]): Promise<Walked> {
  const cls = (await db.query<Record<string, number>>(
    `select 'pg_class'::regclass::oid as pg_class, 'pg_type'::regclass::oid as pg_type, 'pg_proc'::regclass::oid as pg_proc,
            'pg_rewrite'::regclass::oid as pg_rewrite, 'pg_constraint'::regclass::oid as pg_constraint, 'pg_namespace'::regclass::oid as pg_namespace,
            'pg_collation'::regclass::oid as pg_collation`,
  )).rows[0]!;
  const w: Walked = { rels: new Map(), types: new Set(), funcs: new Set(), seqs: new Set(), extensions: new Map(), edges: new Map(), warnings: [] };
  const key = (c: number, o: number) => `${c}:${o}`;
  const seen = new Set<string>();
  const nodeOf = new Map<string, string | null>();
  const unsupported = new Set<string>();
  let frontier: { classid: number; objid: number }[] = [];
  let newRels: number[] = [];
  const addRel = (oid: number, why: string | null) => {
    if (w.rels.has(oid)) return;
    w.rels.set(oid, why);
    newRels.push(oid);
  };
  const enqueue = (classid: number, objid: number, node: string | null) => {
    const k = key(classid, objid);
    if (seen.has(k)) return;
    seen.add(k);
    nodeOf.set(k, node);
    frontier.push({ classid, objid });
  };
  const warnUnsupported = (what: string) => {
    if (unsupported.has(what)) return;
    unsupported.add(what);
    w.warnings.push(`${what} is not recreated by the catalog schema copy; whatever needs it will fail in the sandbox (use pg_dump or a staging URL)`);
  };
  for (const oid of relationOids) addRel(oid, null);

  const classify = (r: RefRow): string | null => {
    if (r.extension) {
      const by = w.extensions.get(r.extension) ?? new Set<string>();
      by.add(`${r.type} ${r.identity}`);
      w.extensions.set(r.extension, by);
      return null;
    }
    if (r.classid === cls.pg_namespace || (r.schema && BUILTIN_SCHEMAS.has(r.schema))) return null;
    const from = r.from_identity ?? 'the copied relations';
    switch (r.classid) {
      case cls.pg_type:
        if (r.array_of) {
          enqueue(r.classid, r.objid, `a:${r.objid}`); // its element comes next, through the internal dependency
          return `a:${r.objid}`;
        }
        if (r.typrelid && r.typrelkind !== 'c') {
          addRel(r.typrelid, `its row type is used by ${from}`);
          return `r:${r.typrelid}`;
        }
        if (r.typtype === 'e' || r.typtype === 'd' || r.typtype === 'c') {
          w.types.add(r.objid);
          enqueue(r.classid, r.objid, `t:${r.objid}`);
          return `t:${r.objid}`;
        }
        warnUnsupported(`${r.typtype === 'r' ? 'range type' : r.typtype === 'm' ? 'multirange type' : 'base type'} ${r.identity}`);
        return null;
      case cls.pg_proc:
        if (r.prokind !== 'f' && r.prokind !== 'p') {
          warnUnsupported(`${r.type} ${r.identity}`);
          return null;
        }
        w.funcs.add(r.objid);
        enqueue(r.classid, r.objid, `f:${r.objid}`);
        return `f:${r.objid}`;
      case cls.pg_class:
        if (r.relkind === 'S') {
          w.seqs.add(r.objid);
          return `s:${r.objid}`;
        }
        if (r.relkind === 'c') {
          // A composite type's columns: walked as part of that type.
          if (r.from_class === cls.pg_type) enqueue(r.classid, r.objid, `t:${r.from_obj}`);
          return null;
        }
        if (r.relkind && 'rpvmf'.includes(r.relkind)) {
          // Views and functions read relations; a partition or child needs its parent. An FK's
          // target is in the set already (the FK closure), or the FK is left out.
          if (r.from_class === cls.pg_rewrite || r.from_class === cls.pg_proc || r.from_class === cls.pg_class) {
            addRel(r.objid, r.from_class === cls.pg_class ? `parent of ${from}` : `read by ${from}`);
          }
          return w.rels.has(r.objid) ? `r:${r.objid}` : null;
        }
        return null;
      case cls.pg_constraint:
        // A domain's constraints (may call functions).
        if (r.from_class === cls.pg_type) enqueue(r.classid, r.objid, `t:${r.from_obj}`);
        return null;
      case cls.pg_collation:
        warnUnsupported(`collation ${r.identity}`);
        return null;
      default:
        warnUnsupported(`${r.type} ${r.identity}`);
        return null;
    }
  };

  while (newRels.length || frontier.length) {
    if (newRels.length) {
      const batch = newRels;
      newRels = [];
      for (const oid of batch) enqueue(cls.pg_class, oid, `r:${oid}`);
      const owned = await db.query<{ classid: number; objid: number; rel: number; kind: string; identity: string }>(sqlFile('catalog-owned'), [batch]);
      for (const o of owned.rows) {
        if (o.kind === 'sequence') w.seqs.add(o.objid);
        else if (o.kind === 'policy') warnUnsupported(`row-level security policy ${o.identity}`);
        else if (o.kind === 'rule') warnUnsupported(`rule ${o.identity}`);
        else enqueue(o.classid, o.objid, PRE_DATA_KINDS.has(o.kind) ? `r:${o.rel}` : null);
      }
    }
    if (!frontier.length) continue;
    const batch = frontier;
    frontier = [];
    const refs = await db.query<RefRow>(sqlFile('catalog-refs'), [batch.map((f) => f.classid), batch.map((f) => f.objid)]);
    for (const r of refs.rows) {
      const to = classify(r);
      const fromNode = nodeOf.get(key(r.from_class, r.from_obj)) ?? null;
      if (fromNode && to && fromNode !== to) {
        const set = w.edges.get(fromNode) ?? new Set<string>();
        set.add(to);
        w.edges.set(fromNode, set);
      }
    }
  }
  return w;
}

/** ACCESS SHARE on what is copied, as pg_dump takes: no DDL changes it while its definition is read. */
async function lockRelations(db: Queryable, oids: number[]): Promise<void> {
  const r = await db.query<{ name: string }>(
    `select format('%I.%I', n.nspname, c.relname) as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.oid = any($1::oid[]) and c.relkind in ('r', 'p', 'f') order by 1`,
    [oids],
  );
  if (r.rows.length === 0) return;
  try {
    await db.query(`LOCK TABLE ${r.rows.map((x) => `ONLY ${x.name}`).join(', ')} IN ACCESS SHARE MODE`);
  } catch (err) {
    const e = err as { message: string; code?: string };
    throw new RunbookError(`could not take ACCESS SHARE locks on the source tables to read their definitions: ${redact(e.message)}`, {
      hint: e.code === '55P03' ? 'a DDL statement or a long transaction holds a conflicting lock on the source; retry when it is done' : 'check that the role can read these tables',
      sqlstate: e.code,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Build: the statements, in dependency order.

interface RelRow {
  oid: number;
  schema: string;
  name: string;
  relkind: string;
  persistence: string;
  is_partition: boolean;
  replident: string;
  options: string[] | null;
  toast_options: string[] | null;
  access_method: string | null;
  partition_key: string | null;
  partition_bound: string | null;
  view_def: string | null;
  populated: boolean;
  row_security: boolean;
  parents: number[];
  rows: number | null;
  heap_bytes: number;
  index_bytes: number;
  has_policies: boolean;
}

interface ColRow {
  rel: number;
  num: number;
  name: string;
  type: string;
  not_null: boolean;
  identity: string;
  generated: string;
  local: boolean;
  inherited: number;
  collation: string | null;
  default_expr: string | null;
  storage: string | null;
  stats_target: number | null;
  options: string[] | null;
}

interface ConRow {
  rel: number;
  name: string;
  type: string;
  def: string;
  validated: boolean;
  local: boolean;
  inherited: number;
  no_inherit: boolean;
  cloned: boolean;
  ref_rel: number | null;
  first_col: number | null;
}

interface IndexRow {
  oid: number;
  rel: number;
  name: string;
  short_name: string;
  def: string;
  valid: boolean;
  clustered: boolean;
  replident: boolean;
  by_constraint: boolean;
  parent_index: number | null;
  parent_index_name: string | null;
}

interface SeqRow {
  oid: number;
  name: string;
  schema: string;
  persistence: string;
  type: string;
  start: string;
  increment: string;
  min: string;
  max: string;
  cache: string;
  cycle: boolean;
  last_value: string | null;
  owner_rel: number | null;
  owner_col: string | null;
  owner_dep: string | null;
}

interface TypeRow {
  oid: number;
  name: string;
  schema: string;
  kind: string;
  base: string | null;
  collation: string | null;
  default_expr: string | null;
  not_null: boolean;
  labels: string[] | null;
  composite_rel: number | null;
  constraints: { name: string; type: string; def: string; validated: boolean }[] | null;
}

interface FuncRow {
  oid: number;
  name: string;
  schema: string;
  kind: string;
  def: string | null;
}

function groupBy<T extends { rel: number }>(rows: T[]): Map<number, T[]> {
  const m = new Map<number, T[]>();
  for (const r of rows) {
    const list = m.get(r.rel) ?? [];
    list.push(r);
    m.set(r.rel, list);
  }
  return m;
}

/** reloptions (key=value) as a WITH list; values that are not plain words are quoted. */
function withOptions(options: (string | null)[] | null, prefix = ''): string[] {
  return (options ?? []).filter((o): o is string => !!o).map((o) => {
    const i = o.indexOf('=');
    const k = i < 0 ? o : o.slice(0, i);
    const v = i < 0 ? '' : o.slice(i + 1);
    return `${prefix}${k}=${/^[A-Za-z0-9_.+-]+$/.test(v) ? v : quoteLiteral(v)}`;
  });
}

function stripSemicolon(s: string): string {
  return s.trim().replace(/;\s*$/, '');
}

/** pg_get_constraintdef names an index tablespace; the sandbox has none of the source's. */
function stripTablespace(def: string): string {
  return def.replace(/ USING INDEX TABLESPACE (?:"(?:[^"]|"")+"|\S+)/, '');
}

async function build(db: Queryable, w: Walked, version: number): Promise<CatalogDump> {
  const warnings = [...w.warnings];
  const relOids = [...w.rels.keys()];
  const q = async <T>(file: string, oids: number[]): Promise<T[]> => (oids.length ? ((await db.query(sqlFile(file), [oids])).rows as T[]) : []);

  const relRows = await q<RelRow>('catalog-relations', relOids);
  const rels = new Map(relRows.map((r) => [r.oid, r]));
  const types = await q<TypeRow>('catalog-types', [...w.types]);
  const compositeRels = types.map((t) => t.composite_rel).filter((x): x is number => !!x);
  const cols = groupBy(await q<ColRow>('catalog-columns', [...relOids, ...compositeRels]));
  const cons = groupBy(await q<ConRow>('catalog-constraints', relOids));
  const indexes = await q<IndexRow>('catalog-indexes', relOids);
  const triggers = await q<{ rel: number; name: string; def: string; enabled: string; cloned: boolean }>('catalog-triggers', relOids);
  const stats = await q<{ rel: number; name: string; def: string; stats_target: number | null }>('catalog-statistics', relOids);
  const seqs = await q<SeqRow>('catalog-sequences', [...w.seqs]);
  const funcs = await q<FuncRow>('catalog-functions', [...w.funcs]);

  const relName = (oid: number) => {
    const r = rels.get(oid)!;
    return `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`;
  };
  const only = (oid: number) => (rels.get(oid)?.relkind === 'p' ? '' : 'ONLY ');
  // An identity sequence comes with its column; one whose table is not copied is created on its own.
  const isIdentity = (s: SeqRow) => s.owner_dep === 'i' && s.owner_rel !== null && rels.has(s.owner_rel);
  const identitySeq = new Map<string, SeqRow>();
  for (const s of seqs) if (isIdentity(s)) identitySeq.set(`${s.owner_rel}:${s.owner_col}`, s);
  const seqOptions = (s: SeqRow) =>
    `START WITH ${s.start} INCREMENT BY ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max} CACHE ${s.cache}${s.cycle ? ' CYCLE' : ''}`;

  const nodeStatements = new Map<string, string[]>();
  const nodeRank = new Map<string, [number, string]>();
  const node = (id: string, rank: number, name: string, statements: string[]) => {
    nodeStatements.set(id, statements);
    nodeRank.set(id, [rank, name]);
  };
  const afterTables: string[] = [];
  const attaches: string[] = [];
  const post = { constraints: [] as string[], indexes: [] as string[], attach: [] as string[], late: [] as string[], fks: [] as string[], triggers: [] as string[], misc: [] as string[], refresh: [] as string[] };
  const schemas = new Set<string>();

  // Types.
  for (const t of types) {
    schemas.add(t.schema);
    const stmts: string[] = [];
    if (t.kind === 'e') stmts.push(`CREATE TYPE ${t.name} AS ENUM (${(t.labels ?? []).map(quoteLiteral).join(', ')})`);
    else if (t.kind === 'c') {
      const attrs = (cols.get(t.composite_rel!) ?? []).map((c) => `${quoteIdent(c.name)} ${c.type}${c.collation ? ` COLLATE ${c.collation}` : ''}`);
      stmts.push(`CREATE TYPE ${t.name} AS (${attrs.join(', ')})`);
    } else if (t.kind === 'd') {
      let s = `CREATE DOMAIN ${t.name} AS ${t.base}${t.collation ? ` COLLATE ${t.collation}` : ''}${t.default_expr ? ` DEFAULT ${t.default_expr}` : ''}`;
      const dcons = t.constraints ?? [];
      if (t.not_null && !dcons.some((c) => c.type === 'n')) s += ' NOT NULL';
      for (const c of dcons) {
        if (c.type === 'n') s += ` CONSTRAINT ${quoteIdent(c.name)} NOT NULL`;
        else if (c.validated) s += ` CONSTRAINT ${quoteIdent(c.name)} ${c.def}`;
        // Checked on every insert even when NOT VALID: added after the sample is loaded.
        else post.late.push(`ALTER DOMAIN ${t.name} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.def}`);
      }
      stmts.push(s);
    }
    node(`t:${t.oid}`, 0, t.name, stmts);
  }

  // Functions.
  for (const f of funcs) {
    schemas.add(f.schema);
    if (!f.def) continue;
    node(`f:${f.oid}`, 1, f.name, [f.def.trim()]);
  }

  // Sequences.
  for (const s of seqs) {
    schemas.add(s.schema);
    if (!isIdentity(s)) {
      node(`s:${s.oid}`, 2, s.name, [`CREATE ${s.persistence === 'u' ? 'UNLOGGED ' : ''}SEQUENCE ${s.name} AS ${s.type} ${seqOptions(s)}`]);
      if (s.owner_dep === 'a' && s.owner_rel !== null && rels.has(s.owner_rel)) afterTables.push(`ALTER SEQUENCE ${s.name} OWNED BY ${relName(s.owner_rel)}.${quoteIdent(s.owner_col!)}`);
    }
    if (s.last_value !== null) afterTables.push(`SELECT pg_catalog.setval(${quoteLiteral(s.name)}, ${s.last_value}, true)`);
  }

  // Relations.
  const extraRelations: ExtraRelation[] = [];
  for (const r of relRows) {
    schemas.add(r.schema);
    const name = relName(r.oid);
    const why = w.rels.get(r.oid);
    if (why) {
      extraRelations.push({ oid: r.oid, schema: r.schema, name: r.name, relkind: r.relkind, why, rows: r.rows, heapBytes: Number(r.heap_bytes), indexBytes: Number(r.index_bytes) });
      warnings.push(`${r.schema}.${r.name} is created empty in the sandbox: ${why}`);
    }
    if (r.row_security || r.has_policies) warnings.push(`row-level security on ${r.schema}.${r.name} is not copied (the sandbox connects as a superuser anyway)`);
    if (r.persistence === 't') continue;
    if (r.relkind === 'f') {
      warnings.push(`foreign table ${r.schema}.${r.name} is not copied (its server is not in the sandbox)`);
      continue;
    }
    const relCols = cols.get(r.oid) ?? [];
    const relCons = cons.get(r.oid) ?? [];
    const rank = r.relkind === 'v' || r.relkind === 'm' ? 4 : 3;
    if (r.relkind === 'v' || r.relkind === 'm') {
      const opts = withOptions(r.options);
      const withClause = opts.length ? ` WITH (${opts.join(', ')})` : '';
      const def = stripSemicolon(r.view_def ?? '');
      if (r.relkind === 'v') node(`r:${r.oid}`, rank, name, [`CREATE VIEW ${name}${withClause} AS ${def}`]);
      else {
        const am = r.access_method && r.access_method !== 'heap' ? ` USING ${quoteIdent(r.access_method)}` : '';
        node(`r:${r.oid}`, rank, name, [`CREATE MATERIALIZED VIEW ${name}${am}${withClause} AS ${def} WITH NO DATA`]);
        if (r.populated) post.refresh.push(`REFRESH MATERIALIZED VIEW ${name}`);
      }
      for (const c of relCols) if (c.default_expr) afterTables.push(`ALTER VIEW ${name} ALTER COLUMN ${quoteIdent(c.name)} SET DEFAULT ${c.default_expr}`);
      continue;
    }
    // Tables. A partition is created on its own and attached (as pg_dump does); a child of plain
    // inheritance is created with INHERITS, so its inherited columns stay inherited.
    const parents = r.parents.filter((p) => rels.has(p));
    const legacyChild = !r.is_partition && parents.length > 0;
    const notNullCons = new Map<number, ConRow>();
    if (version >= 180000) for (const c of relCons) if (c.type === 'n' && c.first_col !== null) notNullCons.set(c.first_col, c);
    const lines: string[] = [];
    const extra: string[] = [];
    for (const c of relCols) {
      if (legacyChild && !c.local) {
        if (c.default_expr) extra.push(`ALTER TABLE ONLY ${name} ALTER COLUMN ${quoteIdent(c.name)} SET DEFAULT ${c.default_expr}`);
        const parentNotNull = parents.some((p) => (cols.get(p) ?? []).some((pc) => pc.name === c.name && pc.not_null));
        if (c.not_null && !parentNotNull) extra.push(`ALTER TABLE ONLY ${name} ALTER COLUMN ${quoteIdent(c.name)} SET NOT NULL`);
        continue;
      }
      let def = `${quoteIdent(c.name)} ${c.type}${c.collation ? ` COLLATE ${c.collation}` : ''}`;
      if (c.generated === 's' || c.generated === 'v') def += ` GENERATED ALWAYS AS (${c.default_expr}) ${c.generated === 's' ? 'STORED' : 'VIRTUAL'}`;
      else if (c.identity && !r.is_partition) {
        // A partition gets its parent's identity when it is attached.
        const s = identitySeq.get(`${r.oid}:${c.name}`);
        def += ` GENERATED ${c.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY${s ? ` (SEQUENCE NAME ${s.name} ${seqOptions(s)})` : ''}`;
      } else if (c.default_expr) def += ` DEFAULT ${c.default_expr}`;
      const nn = notNullCons.get(c.num);
      if (nn) {
        if (nn.validated) def += ` CONSTRAINT ${quoteIdent(nn.name)} NOT NULL${nn.no_inherit ? ' NO INHERIT' : ''}`;
        else post.late.push(`ALTER TABLE ${only(r.oid)}${name} ADD CONSTRAINT ${quoteIdent(nn.name)} ${nn.def}`);
      } else if (c.not_null) def += ' NOT NULL';
      lines.push(def);
      if (c.storage && STORAGE[c.storage]) afterTables.push(`ALTER TABLE ${only(r.oid)}${name} ALTER COLUMN ${quoteIdent(c.name)} SET STORAGE ${STORAGE[c.storage]}`);
      if (c.stats_target !== null && c.stats_target >= 0) afterTables.push(`ALTER TABLE ${only(r.oid)}${name} ALTER COLUMN ${quoteIdent(c.name)} SET STATISTICS ${c.stats_target}`);
      const colOpts = withOptions(c.options);
      if (colOpts.length) afterTables.push(`ALTER TABLE ${only(r.oid)}${name} ALTER COLUMN ${quoteIdent(c.name)} SET (${colOpts.join(', ')})`);
    }
    for (const c of relCons) {
      if (c.type !== 'c') continue;
      if (c.validated && (legacyChild ? c.local : true)) lines.push(`CONSTRAINT ${quoteIdent(c.name)} ${c.def}`);
      // NOT VALID: the sample may hold rows it would reject; an inherited one comes with its parent's.
      else if (!c.validated && c.local) post.late.push(`ALTER TABLE ${c.no_inherit ? 'ONLY ' : ''}${name} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.def}`);
    }
    let create = `CREATE ${r.persistence === 'u' ? 'UNLOGGED ' : ''}TABLE ${name} (${lines.length ? `\n  ${lines.join(',\n  ')}\n` : ''})`;
    if (legacyChild) create += ` INHERITS (${parents.map(relName).join(', ')})`;
    if (r.partition_key) create += ` PARTITION BY ${r.partition_key}`;
    if (r.access_method && r.access_method !== 'heap') create += ` USING ${quoteIdent(r.access_method)}`;
    const opts = [...withOptions(r.options), ...withOptions(r.toast_options, 'toast.')];
    if (opts.length) create += ` WITH (${opts.join(', ')})`;
    node(`r:${r.oid}`, rank, name, [create, ...extra]);
    if (r.is_partition) {
      const parent = r.parents[0];
      if (parent !== undefined && rels.has(parent)) attaches.push(`ALTER TABLE ONLY ${relName(parent)} ATTACH PARTITION ${name} ${r.partition_bound}`);
    }
    if (r.replident === 'f') afterTables.push(`ALTER TABLE ONLY ${name} REPLICA IDENTITY FULL`);
    else if (r.replident === 'n') afterTables.push(`ALTER TABLE ONLY ${name} REPLICA IDENTITY NOTHING`);

    // Post-data: constraints with indexes, then FKs (every table exists by then).
    for (const c of relCons) {
      if (c.type === 'p' || c.type === 'u' || c.type === 'x') post.constraints.push(`ALTER TABLE ONLY ${name} ADD CONSTRAINT ${quoteIdent(c.name)} ${stripTablespace(c.def)}`);
      else if (c.type === 'f' && !c.cloned) {
        if (c.ref_rel !== null && rels.has(c.ref_rel)) post.fks.push(`ALTER TABLE ${only(r.oid)}${name} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.def}`);
        else warnings.push(`foreign key ${c.name} on ${r.schema}.${r.name} references a table that is not copied; it is left out`);
      }
    }
  }

  // Indexes: constraint-backed ones came with their constraint.
  // An INVALID index (a failed CREATE INDEX CONCURRENTLY) is left out, as pg_dump leaves it out:
  // a unique one would not even build on the sample.
  const invalidIndexes = indexes.filter((i) => !i.valid && !i.by_constraint).map((i) => i.name);
  for (const name of invalidIndexes) warnings.push(`index ${name} is INVALID on the source (a failed CREATE INDEX CONCURRENTLY?) and is not copied; drop or rebuild it there`);
  const copied = indexes.filter((i) => i.valid || i.by_constraint);
  const indexOids = new Set(copied.map((i) => i.oid));
  for (const i of copied) {
    if (!i.by_constraint) post.indexes.push(i.def);
    if (i.parent_index !== null && indexOids.has(i.parent_index)) post.attach.push(`ALTER INDEX ${i.parent_index_name} ATTACH PARTITION ${i.name}`);
    if (i.replident) post.misc.push(`ALTER TABLE ONLY ${relName(i.rel)} REPLICA IDENTITY USING INDEX ${quoteIdent(i.short_name)}`);
    if (i.clustered) post.misc.push(`ALTER TABLE ONLY ${relName(i.rel)} CLUSTER ON ${quoteIdent(i.short_name)}`);
  }
  for (const t of triggers) {
    if (t.cloned) continue; // recreated by its parent's CREATE TRIGGER
    post.triggers.push(t.def);
    const state = ({ D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' } as Record<string, string>)[t.enabled];
    if (state) post.triggers.push(`ALTER TABLE ${relName(t.rel)} ${state} TRIGGER ${quoteIdent(t.name)}`);
  }
  for (const s of stats) {
    post.misc.push(s.def);
    if (s.stats_target !== null && s.stats_target >= 0) post.misc.push(`ALTER STATISTICS ${s.name} SET STATISTICS ${s.stats_target}`);
  }

  // Extensions: where the source has them.
  const extensions: NeededExtension[] = [];
  if (w.extensions.size) {
    const ext = await db.query<{ name: string; schema: string }>(
      `select e.extname::text as name, n.nspname::text as schema from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = any($1::text[]) order by 1`,
      [[...w.extensions.keys()]],
    );
    for (const e of ext.rows) {
      extensions.push({ name: e.name, schema: e.schema, neededBy: [...(w.extensions.get(e.name) ?? [])].sort() });
      schemas.add(e.schema);
    }
  }

  const ordered = topoSort(nodeRank, w.edges);
  const refreshOrder = ordered.filter((n) => n.startsWith('r:')).map((n) => relName(Number(n.slice(2))));
  post.refresh.sort((a, b) => refreshOrder.indexOf(a.replace('REFRESH MATERIALIZED VIEW ', '')) - refreshOrder.indexOf(b.replace('REFRESH MATERIALIZED VIEW ', '')));
  const preData = [...ordered.flatMap((n) => nodeStatements.get(n) ?? []), ...attaches, ...afterTables];
  const postData = [...post.constraints, ...post.indexes, ...post.attach, ...post.late, ...post.fks, ...post.triggers, ...post.misc, ...post.refresh];
  return {
    sourceVersionNum: version,
    schemas: [...schemas].filter((s) => !BUILTIN_SCHEMAS.has(s)).sort(),
    extensions,
    preData,
    postData,
    extraRelations,
    invalidIndexes,
    warnings,
  };
}

/**
 * Dependency order: a node comes after the nodes it needs; among the ready ones, lowest rank
 * (types, functions, sequences, tables, views) then name first, so the output is stable. A cycle
 * (rare: a function taking a table's row type used in that table's default) is broken by rank.
 */
export function topoSort(nodes: Map<string, [number, string]>, edges: Map<string, Set<string>>): string[] {
  // Links (a:oid) carry dependencies through array types without emitting anything.
  const all = new Set<string>(nodes.keys());
  for (const [from, tos] of edges) {
    if (from.startsWith('a:')) all.add(from);
    for (const t of tos) if (t.startsWith('a:')) all.add(t);
  }
  const deps = new Map<string, Set<string>>();
  for (const n of all) deps.set(n, new Set([...(edges.get(n) ?? [])].filter((t) => all.has(t) && t !== n)));
  const rank = (n: string): [number, string] => nodes.get(n) ?? [-1, n];
  const cmp = (a: string, b: string) => {
    const [ra, na] = rank(a);
    const [rb, nb] = rank(b);
    return ra - rb || (na < nb ? -1 : na > nb ? 1 : 0);
  };
  const done = new Set<string>();
  const out: string[] = [];
  const pending = [...all].sort(cmp);
  while (pending.length) {
    let i = pending.findIndex((n) => [...deps.get(n)!].every((d) => done.has(d)));
    if (i < 0) i = 0; // a cycle: lowest rank first
    const [n] = pending.splice(i, 1);
    done.add(n!);
    if (nodes.has(n!)) out.push(n!);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Apply.

/**
 * Runs one section in the sandbox, in one transaction, statement by statement so that a failure
 * names the statement. Pre-data first creates the schemas and the extensions the sandbox has.
 * Returns warnings (extensions the sandbox lacks).
 */
export async function applyCatalogSection(db: Queryable, dump: CatalogDump, section: 'pre-data' | 'post-data'): Promise<string[]> {
  const warnings: string[] = [];
  const statements: string[] = [];
  if (section === 'pre-data') {
    for (const s of dump.schemas) statements.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s)}`);
    if (dump.extensions.length) {
      const avail = await db.query<{ name: string }>(`select name::text from pg_available_extensions where name = any($1::text[])`, [dump.extensions.map((e) => e.name)]);
      const have = new Set(avail.rows.map((r) => r.name));
      for (const e of dump.extensions) {
        if (have.has(e.name)) statements.push(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(e.name)} WITH SCHEMA ${quoteIdent(e.schema)} CASCADE`);
        else warnings.push(`extension ${e.name} (needed by ${e.neededBy.slice(0, 3).join(', ')}) is not available in the sandbox; install it there or rehearse on --sandbox docker or a staging URL`);
      }
    }
    statements.push(...dump.preData);
  } else statements.push(...dump.postData);

  await db.query('BEGIN');
  try {
    // Names in the statements are qualified; function bodies are checked when they run, not now.
    await db.query(`SET LOCAL search_path = ''`);
    await db.query('SET LOCAL check_function_bodies = off');
    for (const s of statements) {
      try {
        await db.query(s);
      } catch (err) {
        const e = err as { message: string; code?: string };
        const head = s.replace(/\s+/g, ' ').slice(0, 160);
        const missing = warnings.filter((x) => x.startsWith('extension '));
        throw new RunbookError(`the schema copied from the source's catalog does not restore in the sandbox (${section}): ${redact(e.message)}; statement: ${head}`, {
          hint: missing.length
            ? missing.join('; ')
            : 'install a pg_dump as new as the source server (Debian package postgresql-client-N) so pg_dump copies the schema, or rehearse on a staging URL',
          sqlstate: e.code,
        });
      }
    }
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => {});
    throw err;
  }
  return warnings;
}
