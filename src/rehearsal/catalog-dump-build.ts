// Build: the statements of a catalog schema copy, in dependency order, from what the walk
// (catalog-dump.ts) found: pre-data (types, functions, sequences, tables, views) and post-data
// (constraint indexes, indexes, partition attaches, NOT VALID checks, FKs, triggers, statistics,
// replica identity, matview refresh).
import type { SequenceOptions } from '../pg/catalog/catalog-types.js';
import { quoteIdent, quoteLiteral } from '../pg/connection.js';
import type { Queryable } from '../pg/queryable.js';
import { sqlText } from '../pg/sql-files.js';

const sqlFile = (name: string): string => sqlText('rehearsal/sql', name);

export const BUILTIN_SCHEMAS = new Set(['pg_catalog', 'information_schema', 'pg_toast']);
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

/** What the walk found: the input of the build. */
export interface Walked {
  rels: Map<number, string | null>;
  types: Set<number>;
  funcs: Set<number>;
  seqs: Set<number>;
  extensions: Map<string, Set<string>>;
  /** node → the nodes it needs first. Nodes: r:oid relation, t:oid type, f:oid function, s:oid sequence, a:oid array (a link only). */
  edges: Map<string, Set<string>>;
  warnings: string[];
}

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

interface SeqRow extends SequenceOptions {
  oid: number;
  schema: string;
  persistence: string;
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
  return (options ?? [])
    .filter((o): o is string => !!o)
    .map((o) => {
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

type PostSection = 'constraints' | 'indexes' | 'attach' | 'late' | 'fks' | 'triggers' | 'misc' | 'refresh';
const POST_ORDER: PostSection[] = ['constraints', 'indexes', 'attach', 'late', 'fks', 'triggers', 'misc', 'refresh'];
const TRIGGER_STATE: Record<string, string> = { D: 'DISABLE', R: 'ENABLE REPLICA', A: 'ENABLE ALWAYS' };

interface Fetched {
  relRows: RelRow[];
  types: TypeRow[];
  cols: Map<number, ColRow[]>;
  cons: Map<number, ConRow[]>;
  indexes: IndexRow[];
  triggers: { rel: number; name: string; def: string; enabled: string; cloned: boolean }[];
  stats: { rel: number; name: string; def: string; stats_target: number | null }[];
  seqs: SeqRow[];
  funcs: FuncRow[];
}

async function fetchRows(db: Queryable, w: Walked): Promise<Fetched> {
  const relOids = [...w.rels.keys()];
  const q = async <T>(file: string, oids: number[]): Promise<T[]> =>
    oids.length ? ((await db.query(sqlFile(file), [oids])).rows as T[]) : [];
  const relRows = await q<RelRow>('catalog-relations', relOids);
  const types = await q<TypeRow>('catalog-types', [...w.types]);
  const compositeRels = types.map((t) => t.composite_rel).filter((x): x is number => !!x);
  return {
    relRows,
    types,
    cols: groupBy(await q<ColRow>('catalog-columns', [...relOids, ...compositeRels])),
    cons: groupBy(await q<ConRow>('catalog-constraints', relOids)),
    indexes: await q<IndexRow>('catalog-indexes', relOids),
    triggers: await q('catalog-triggers', relOids),
    stats: await q('catalog-statistics', relOids),
    seqs: await q<SeqRow>('catalog-sequences', [...w.seqs]),
    funcs: await q<FuncRow>('catalog-functions', [...w.funcs]),
  };
}

function seqOptions(s: SeqRow): string {
  return `START WITH ${s.start} INCREMENT BY ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max} CACHE ${s.cache}${s.cycle ? ' CYCLE' : ''}`;
}

/** Reads the catalog rows of what the walk found and writes the pre-data and post-data statements. */
export async function buildCatalogDump(db: Queryable, w: Walked, version: number): Promise<CatalogDump> {
  const b = new DumpBuilder(w, version, await fetchRows(db, w));
  b.addTypes();
  b.addFunctions();
  b.addSequences();
  for (const r of b.rows.relRows) b.addRelation(r);
  b.addIndexes();
  b.addTriggersAndStatistics();
  await b.addExtensions(db);
  return b.finish();
}

class DumpBuilder {
  readonly rels: Map<number, RelRow>;
  readonly warnings: string[];
  private readonly identitySeq = new Map<string, SeqRow>();
  private readonly nodeStatements = new Map<string, string[]>();
  private readonly nodeRank = new Map<string, [number, string]>();
  private readonly afterTables: string[] = [];
  private readonly attaches: string[] = [];
  private readonly post: Record<PostSection, string[]> = {
    constraints: [],
    indexes: [],
    attach: [],
    late: [],
    fks: [],
    triggers: [],
    misc: [],
    refresh: [],
  };
  private readonly schemas = new Set<string>();
  private readonly extraRelations: ExtraRelation[] = [];
  private readonly extensions: NeededExtension[] = [];
  private invalidIndexes: string[] = [];

  constructor(
    private readonly w: Walked,
    private readonly version: number,
    readonly rows: Fetched,
  ) {
    this.warnings = [...w.warnings];
    this.rels = new Map(rows.relRows.map((r) => [r.oid, r]));
    // An identity sequence comes with its column; one whose table is not copied is created on its own.
    for (const s of rows.seqs) if (this.isIdentity(s)) this.identitySeq.set(`${s.owner_rel}:${s.owner_col}`, s);
  }

  private relName(oid: number): string {
    const r = this.rels.get(oid)!;
    return `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`;
  }

  private only(oid: number): string {
    return this.rels.get(oid)?.relkind === 'p' ? '' : 'ONLY ';
  }

  private isIdentity(s: SeqRow): boolean {
    return s.owner_dep === 'i' && s.owner_rel !== null && this.rels.has(s.owner_rel);
  }

  private node(id: string, rank: number, name: string, statements: string[]): void {
    this.nodeStatements.set(id, statements);
    this.nodeRank.set(id, [rank, name]);
  }

  addTypes(): void {
    for (const t of this.rows.types) {
      this.schemas.add(t.schema);
      const stmts: string[] = [];
      if (t.kind === 'e') stmts.push(`CREATE TYPE ${t.name} AS ENUM (${(t.labels ?? []).map(quoteLiteral).join(', ')})`);
      else if (t.kind === 'c') {
        const attrs = (this.rows.cols.get(t.composite_rel!) ?? []).map(
          (c) => `${quoteIdent(c.name)} ${c.type}${c.collation ? ` COLLATE ${c.collation}` : ''}`,
        );
        stmts.push(`CREATE TYPE ${t.name} AS (${attrs.join(', ')})`);
      } else if (t.kind === 'd') stmts.push(this.domain(t));
      this.node(`t:${t.oid}`, 0, t.name, stmts);
    }
  }

  private domain(t: TypeRow): string {
    let s = `CREATE DOMAIN ${t.name} AS ${t.base}${t.collation ? ` COLLATE ${t.collation}` : ''}${t.default_expr ? ` DEFAULT ${t.default_expr}` : ''}`;
    const dcons = t.constraints ?? [];
    if (t.not_null && !dcons.some((c) => c.type === 'n')) s += ' NOT NULL';
    for (const c of dcons) {
      if (c.type === 'n') s += ` CONSTRAINT ${quoteIdent(c.name)} NOT NULL`;
      else if (c.validated) s += ` CONSTRAINT ${quoteIdent(c.name)} ${c.def}`;
      // Checked on every insert even when NOT VALID: added after the sample is loaded.
      else this.post.late.push(`ALTER DOMAIN ${t.name} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.def}`);
    }
    return s;
  }

  addFunctions(): void {
    for (const f of this.rows.funcs) {
      this.schemas.add(f.schema);
      if (f.def) this.node(`f:${f.oid}`, 1, f.name, [f.def.trim()]);
    }
  }

  addSequences(): void {
    for (const s of this.rows.seqs) {
      this.schemas.add(s.schema);
      if (!this.isIdentity(s)) {
        this.node(`s:${s.oid}`, 2, s.name, [
          `CREATE ${s.persistence === 'u' ? 'UNLOGGED ' : ''}SEQUENCE ${s.name} AS ${s.type} ${seqOptions(s)}`,
        ]);
        if (s.owner_dep === 'a' && s.owner_rel !== null && this.rels.has(s.owner_rel)) {
          this.afterTables.push(`ALTER SEQUENCE ${s.name} OWNED BY ${this.relName(s.owner_rel)}.${quoteIdent(s.owner_col!)}`);
        }
      }
      if (s.last_value !== null) this.afterTables.push(`SELECT pg_catalog.setval(${quoteLiteral(s.name)}, ${s.last_value}, true)`);
    }
  }

  addRelation(r: RelRow): void {
    this.schemas.add(r.schema);
    const why = this.w.rels.get(r.oid);
    if (why) {
      this.extraRelations.push({
        oid: r.oid,
        schema: r.schema,
        name: r.name,
        relkind: r.relkind,
        why,
        rows: r.rows,
        heapBytes: Number(r.heap_bytes),
        indexBytes: Number(r.index_bytes),
      });
      this.warnings.push(`${r.schema}.${r.name} is created empty in the sandbox: ${why}`);
    }
    if (r.row_security || r.has_policies)
      this.warnings.push(`row-level security on ${r.schema}.${r.name} is not copied (the sandbox connects as a superuser anyway)`);
    if (r.persistence === 't') return;
    if (r.relkind === 'f') {
      this.warnings.push(`foreign table ${r.schema}.${r.name} is not copied (its server is not in the sandbox)`);
      return;
    }
    if (r.relkind === 'v' || r.relkind === 'm') this.addView(r);
    else this.addTable(r);
  }

  private addView(r: RelRow): void {
    const name = this.relName(r.oid);
    const opts = withOptions(r.options);
    const withClause = opts.length ? ` WITH (${opts.join(', ')})` : '';
    const def = stripSemicolon(r.view_def ?? '');
    if (r.relkind === 'v') this.node(`r:${r.oid}`, 4, name, [`CREATE VIEW ${name}${withClause} AS ${def}`]);
    else {
      const am = r.access_method && r.access_method !== 'heap' ? ` USING ${quoteIdent(r.access_method)}` : '';
      this.node(`r:${r.oid}`, 4, name, [`CREATE MATERIALIZED VIEW ${name}${am}${withClause} AS ${def} WITH NO DATA`]);
      if (r.populated) this.post.refresh.push(`REFRESH MATERIALIZED VIEW ${name}`);
    }
    for (const c of this.rows.cols.get(r.oid) ?? []) {
      if (c.default_expr) this.afterTables.push(`ALTER VIEW ${name} ALTER COLUMN ${quoteIdent(c.name)} SET DEFAULT ${c.default_expr}`);
    }
  }

  /**
   * A partition is created on its own and attached (as pg_dump does); a child of plain
   * inheritance is created with INHERITS, so its inherited columns stay inherited.
   */
  private addTable(r: RelRow): void {
    const name = this.relName(r.oid);
    const relCons = this.rows.cons.get(r.oid) ?? [];
    const parents = r.parents.filter((p) => this.rels.has(p));
    const legacyChild = !r.is_partition && parents.length > 0;
    const { lines, extra } = this.columnLines(r, name, parents, legacyChild, relCons);
    for (const c of relCons) {
      if (c.type !== 'c') continue;
      if (c.validated && (legacyChild ? c.local : true)) lines.push(`CONSTRAINT ${quoteIdent(c.name)} ${c.def}`);
      // NOT VALID: the sample may hold rows it would reject; an inherited one comes with its parent's.
      else if (!c.validated && c.local)
        this.post.late.push(`ALTER TABLE ${c.no_inherit ? 'ONLY ' : ''}${name} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.def}`);
    }
    let create = `CREATE ${r.persistence === 'u' ? 'UNLOGGED ' : ''}TABLE ${name} (${lines.length ? `\n  ${lines.join(',\n  ')}\n` : ''})`;
    if (legacyChild) create += ` INHERITS (${parents.map((p) => this.relName(p)).join(', ')})`;
    if (r.partition_key) create += ` PARTITION BY ${r.partition_key}`;
    if (r.access_method && r.access_method !== 'heap') create += ` USING ${quoteIdent(r.access_method)}`;
    const opts = [...withOptions(r.options), ...withOptions(r.toast_options, 'toast.')];
    if (opts.length) create += ` WITH (${opts.join(', ')})`;
    this.node(`r:${r.oid}`, 3, name, [create, ...extra]);
    if (r.is_partition) {
      const parent = r.parents[0];
      if (parent !== undefined && this.rels.has(parent))
        this.attaches.push(`ALTER TABLE ONLY ${this.relName(parent)} ATTACH PARTITION ${name} ${r.partition_bound}`);
    }
    if (r.replident === 'f') this.afterTables.push(`ALTER TABLE ONLY ${name} REPLICA IDENTITY FULL`);
    else if (r.replident === 'n') this.afterTables.push(`ALTER TABLE ONLY ${name} REPLICA IDENTITY NOTHING`);
    this.addKeysAndForeignKeys(r, name, relCons);
  }

  /** The column definitions of CREATE TABLE, and what an inheritance child sets on inherited columns. */
  private columnLines(
    r: RelRow,
    name: string,
    parents: number[],
    legacyChild: boolean,
    relCons: ConRow[],
  ): { lines: string[]; extra: string[] } {
    const notNullCons = new Map<number, ConRow>();
    if (this.version >= 180000) for (const c of relCons) if (c.type === 'n' && c.first_col !== null) notNullCons.set(c.first_col, c);
    const lines: string[] = [];
    const extra: string[] = [];
    for (const c of this.rows.cols.get(r.oid) ?? []) {
      if (legacyChild && !c.local) {
        if (c.default_expr) extra.push(`ALTER TABLE ONLY ${name} ALTER COLUMN ${quoteIdent(c.name)} SET DEFAULT ${c.default_expr}`);
        const parentNotNull = parents.some((p) => (this.rows.cols.get(p) ?? []).some((pc) => pc.name === c.name && pc.not_null));
        if (c.not_null && !parentNotNull) extra.push(`ALTER TABLE ONLY ${name} ALTER COLUMN ${quoteIdent(c.name)} SET NOT NULL`);
        continue;
      }
      lines.push(this.columnDefinition(r, name, c, notNullCons.get(c.num)));
      this.columnSettings(r, name, c);
    }
    return { lines, extra };
  }

  private columnDefinition(r: RelRow, name: string, c: ColRow, nn: ConRow | undefined): string {
    let def = `${quoteIdent(c.name)} ${c.type}${c.collation ? ` COLLATE ${c.collation}` : ''}`;
    if (c.generated === 's' || c.generated === 'v')
      def += ` GENERATED ALWAYS AS (${c.default_expr}) ${c.generated === 's' ? 'STORED' : 'VIRTUAL'}`;
    else if (c.identity && !r.is_partition) {
      // A partition gets its parent's identity when it is attached.
      const s = this.identitySeq.get(`${r.oid}:${c.name}`);
      def += ` GENERATED ${c.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY${s ? ` (SEQUENCE NAME ${s.name} ${seqOptions(s)})` : ''}`;
    } else if (c.default_expr) def += ` DEFAULT ${c.default_expr}`;
    if (nn) {
      if (nn.validated) def += ` CONSTRAINT ${quoteIdent(nn.name)} NOT NULL${nn.no_inherit ? ' NO INHERIT' : ''}`;
      else this.post.late.push(`ALTER TABLE ${this.only(r.oid)}${name} ADD CONSTRAINT ${quoteIdent(nn.name)} ${nn.def}`);
    } else if (c.not_null) def += ' NOT NULL';
    return def;
  }

  private columnSettings(r: RelRow, name: string, c: ColRow): void {
    const alter = `ALTER TABLE ${this.only(r.oid)}${name} ALTER COLUMN ${quoteIdent(c.name)}`;
    if (c.storage && STORAGE[c.storage]) this.afterTables.push(`${alter} SET STORAGE ${STORAGE[c.storage]}`);
    if (c.stats_target !== null && c.stats_target >= 0) this.afterTables.push(`${alter} SET STATISTICS ${c.stats_target}`);
    const colOpts = withOptions(c.options);
    if (colOpts.length) this.afterTables.push(`${alter} SET (${colOpts.join(', ')})`);
  }

  /** Post-data: constraints with indexes, then FKs (every table exists by then). */
  private addKeysAndForeignKeys(r: RelRow, name: string, relCons: ConRow[]): void {
    for (const c of relCons) {
      if (c.type === 'p' || c.type === 'u' || c.type === 'x')
        this.post.constraints.push(`ALTER TABLE ONLY ${name} ADD CONSTRAINT ${quoteIdent(c.name)} ${stripTablespace(c.def)}`);
      else if (c.type === 'f' && !c.cloned) {
        if (c.ref_rel !== null && this.rels.has(c.ref_rel))
          this.post.fks.push(`ALTER TABLE ${this.only(r.oid)}${name} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.def}`);
        else this.warnings.push(`foreign key ${c.name} on ${r.schema}.${r.name} references a table that is not copied; it is left out`);
      }
    }
  }

  /**
   * Constraint-backed indexes came with their constraint. An INVALID index (a failed CREATE INDEX
   * CONCURRENTLY) is left out, as pg_dump leaves it out: a unique one would not even build on the sample.
   */
  addIndexes(): void {
    const indexes = this.rows.indexes;
    this.invalidIndexes = indexes.filter((i) => !i.valid && !i.by_constraint).map((i) => i.name);
    for (const name of this.invalidIndexes) {
      this.warnings.push(
        `index ${name} is INVALID on the source (a failed CREATE INDEX CONCURRENTLY?) and is not copied; drop or rebuild it there`,
      );
    }
    const copied = indexes.filter((i) => i.valid || i.by_constraint);
    const indexOids = new Set(copied.map((i) => i.oid));
    for (const i of copied) {
      if (!i.by_constraint) this.post.indexes.push(i.def);
      if (i.parent_index !== null && indexOids.has(i.parent_index))
        this.post.attach.push(`ALTER INDEX ${i.parent_index_name} ATTACH PARTITION ${i.name}`);
      if (i.replident)
        this.post.misc.push(`ALTER TABLE ONLY ${this.relName(i.rel)} REPLICA IDENTITY USING INDEX ${quoteIdent(i.short_name)}`);
      if (i.clustered) this.post.misc.push(`ALTER TABLE ONLY ${this.relName(i.rel)} CLUSTER ON ${quoteIdent(i.short_name)}`);
    }
  }

  addTriggersAndStatistics(): void {
    for (const t of this.rows.triggers) {
      if (t.cloned) continue; // recreated by its parent's CREATE TRIGGER
      this.post.triggers.push(t.def);
      const state = TRIGGER_STATE[t.enabled];
      if (state) this.post.triggers.push(`ALTER TABLE ${this.relName(t.rel)} ${state} TRIGGER ${quoteIdent(t.name)}`);
    }
    for (const s of this.rows.stats) {
      this.post.misc.push(s.def);
      if (s.stats_target !== null && s.stats_target >= 0)
        this.post.misc.push(`ALTER STATISTICS ${s.name} SET STATISTICS ${s.stats_target}`);
    }
  }

  /** Extensions: where the source has them. */
  async addExtensions(db: Queryable): Promise<void> {
    if (!this.w.extensions.size) return;
    const ext = await db.query<{ name: string; schema: string }>(sqlFile('catalog-extensions'), [[...this.w.extensions.keys()]]);
    for (const e of ext.rows) {
      this.extensions.push({ name: e.name, schema: e.schema, neededBy: [...(this.w.extensions.get(e.name) ?? [])].sort() });
      this.schemas.add(e.schema);
    }
  }

  finish(): CatalogDump {
    const ordered = topoSort(this.nodeRank, this.w.edges);
    const refreshOrder = ordered.filter((n) => n.startsWith('r:')).map((n) => this.relName(Number(n.slice(2))));
    const viewOf = (s: string) => s.replace('REFRESH MATERIALIZED VIEW ', '');
    this.post.refresh.sort((a, b) => refreshOrder.indexOf(viewOf(a)) - refreshOrder.indexOf(viewOf(b)));
    return {
      sourceVersionNum: this.version,
      schemas: [...this.schemas].filter((s) => !BUILTIN_SCHEMAS.has(s)).sort(),
      extensions: this.extensions,
      preData: [...ordered.flatMap((n) => this.nodeStatements.get(n) ?? []), ...this.attaches, ...this.afterTables],
      postData: POST_ORDER.flatMap((k) => this.post[k]),
      extraRelations: this.extraRelations,
      invalidIndexes: this.invalidIndexes,
      warnings: this.warnings,
    };
  }
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
