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
import { RunbookError } from '../util/runbook-error.js';
import { quoteIdent } from '../pg/connection.js';
import type { Queryable } from '../pg/queryable.js';
import { redact } from '../util/secrets.js';
import { sqlText } from '../pg/sql-files.js';
import { BUILTIN_SCHEMAS, buildCatalogDump, type CatalogDump, type Walked } from './catalog-dump-build.js';

const sqlFile = (name: string): string => sqlText('rehearsal/sql', name);

/** Owned objects whose dependencies must exist before the relation is created. */
const PRE_DATA_KINDS = new Set(['default', 'check', 'view', 'type']);

/**
 * Reads the DDL that recreates the relations `relationOids` (tables, partitioned tables, views,
 * materialized views) and what they need. `db` must be one session, inside the transaction whose
 * snapshot the data copy uses; the session's search_path is emptied meanwhile so that every name
 * the server deparses comes out schema-qualified, and restored after.
 */
export async function readCatalogSchema(db: Queryable, relationOids: number[]): Promise<CatalogDump> {
  const version = Number((await db.query<{ v: string }>(`select current_setting('server_version_num') as v`)).rows[0]!.v);
  if (version < 140000) {
    throw new RunbookError(
      `the catalog-based schema copy needs PostgreSQL 14 or newer on the source (it runs ${Math.floor(version / 10000)})`,
      {
        hint: 'use pg_dump for this server (schemaFrom pg_dump); any pg_dump 14 or newer can dump it',
        exitCode: 1,
      },
    );
  }
  const saved = (await db.query<{ p: string }>(`select current_setting('search_path') as p`)).rows[0]!.p;
  await db.query(`select set_config('search_path', '', false)`);
  try {
    const walked = await walk(db, relationOids);
    await lockRelations(db, [...walked.rels.keys()]);
    return await buildCatalogDump(db, walked, version);
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
  const cls = (await db.query<CatalogClasses>(sqlFile('catalog-class-oids'))).rows[0]!;
  const walker = new CatalogWalk(cls);
  for (const oid of relationOids) walker.addRel(oid, null);
  while (walker.newRels.length || walker.frontier.length) {
    if (walker.newRels.length) await walker.followOwned(db);
    if (walker.frontier.length) await walker.followRefs(db);
  }
  return walker.w;
}

/** The oids of the catalogs pg_depend rows point into, by name. */
type CatalogClasses = Record<'pg_class' | 'pg_type' | 'pg_proc' | 'pg_rewrite' | 'pg_constraint' | 'pg_namespace' | 'pg_collation', number>;

/**
 * One breadth-first walk over pg_depend: relations found are followed through what they own,
 * other objects through what they reference. Nodes (`r:`, `t:`, `f:`, `a:`, `s:` + oid) and the
 * edges between them give buildCatalogDump its creation order.
 */
class CatalogWalk {
  readonly w: Walked = {
    rels: new Map(),
    types: new Set(),
    funcs: new Set(),
    seqs: new Set(),
    extensions: new Map(),
    edges: new Map(),
    warnings: [],
  };
  frontier: { classid: number; objid: number }[] = [];
  newRels: number[] = [];
  private readonly seen = new Set<string>();
  private readonly nodeOf = new Map<string, string | null>();
  private readonly unsupported = new Set<string>();

  constructor(private readonly cls: CatalogClasses) {}

  addRel(oid: number, why: string | null): void {
    if (this.w.rels.has(oid)) return;
    this.w.rels.set(oid, why);
    this.newRels.push(oid);
  }

  private enqueue(classid: number, objid: number, node: string | null): void {
    const k = `${classid}:${objid}`;
    if (this.seen.has(k)) return;
    this.seen.add(k);
    this.nodeOf.set(k, node);
    this.frontier.push({ classid, objid });
  }

  private warnUnsupported(what: string): void {
    if (this.unsupported.has(what)) return;
    this.unsupported.add(what);
    this.w.warnings.push(
      `${what} is not recreated by the catalog schema copy; whatever needs it will fail in the sandbox (use pg_dump or a staging URL)`,
    );
  }

  /** The relations added since the last call, and what they own. */
  async followOwned(db: Queryable): Promise<void> {
    const batch = this.newRels;
    this.newRels = [];
    for (const oid of batch) this.enqueue(this.cls.pg_class, oid, `r:${oid}`);
    const owned = await db.query<{ classid: number; objid: number; rel: number; kind: string; identity: string }>(
      sqlFile('catalog-owned'),
      [batch],
    );
    for (const o of owned.rows) {
      if (o.kind === 'sequence') this.w.seqs.add(o.objid);
      else if (o.kind === 'policy') this.warnUnsupported(`row-level security policy ${o.identity}`);
      else if (o.kind === 'rule') this.warnUnsupported(`rule ${o.identity}`);
      else this.enqueue(o.classid, o.objid, PRE_DATA_KINDS.has(o.kind) ? `r:${o.rel}` : null);
    }
  }

  /** What the queued objects reference, recording an edge where both ends are nodes. */
  async followRefs(db: Queryable): Promise<void> {
    const batch = this.frontier;
    this.frontier = [];
    const refs = await db.query<RefRow>(sqlFile('catalog-refs'), [batch.map((f) => f.classid), batch.map((f) => f.objid)]);
    for (const r of refs.rows) {
      const to = this.classify(r);
      const fromNode = this.nodeOf.get(`${r.from_class}:${r.from_obj}`) ?? null;
      if (fromNode && to && fromNode !== to) {
        const set = this.w.edges.get(fromNode) ?? new Set<string>();
        set.add(to);
        this.w.edges.set(fromNode, set);
      }
    }
  }

  /** Records what a referenced object needs and returns its node, or null when it is not copied. */
  private classify(r: RefRow): string | null {
    const { cls } = this;
    if (r.extension) {
      const by = this.w.extensions.get(r.extension) ?? new Set<string>();
      by.add(`${r.type} ${r.identity}`);
      this.w.extensions.set(r.extension, by);
      return null;
    }
    if (r.classid === cls.pg_namespace || (r.schema && BUILTIN_SCHEMAS.has(r.schema))) return null;
    switch (r.classid) {
      case cls.pg_type:
        return this.classifyType(r);
      case cls.pg_proc:
        if (r.prokind !== 'f' && r.prokind !== 'p') {
          this.warnUnsupported(`${r.type} ${r.identity}`);
          return null;
        }
        this.w.funcs.add(r.objid);
        this.enqueue(r.classid, r.objid, `f:${r.objid}`);
        return `f:${r.objid}`;
      case cls.pg_class:
        return this.classifyRelation(r);
      case cls.pg_constraint:
        // A domain's constraints (may call functions).
        if (r.from_class === cls.pg_type) this.enqueue(r.classid, r.objid, `t:${r.from_obj}`);
        return null;
      case cls.pg_collation:
        this.warnUnsupported(`collation ${r.identity}`);
        return null;
      default:
        this.warnUnsupported(`${r.type} ${r.identity}`);
        return null;
    }
  }

  private classifyType(r: RefRow): string | null {
    if (r.array_of) {
      this.enqueue(r.classid, r.objid, `a:${r.objid}`); // its element comes next, through the internal dependency
      return `a:${r.objid}`;
    }
    if (r.typrelid && r.typrelkind !== 'c') {
      this.addRel(r.typrelid, `its row type is used by ${r.from_identity ?? 'the copied relations'}`);
      return `r:${r.typrelid}`;
    }
    if (r.typtype === 'e' || r.typtype === 'd' || r.typtype === 'c') {
      this.w.types.add(r.objid);
      this.enqueue(r.classid, r.objid, `t:${r.objid}`);
      return `t:${r.objid}`;
    }
    this.warnUnsupported(`${r.typtype === 'r' ? 'range type' : r.typtype === 'm' ? 'multirange type' : 'base type'} ${r.identity}`);
    return null;
  }

  private classifyRelation(r: RefRow): string | null {
    const { cls } = this;
    if (r.relkind === 'S') {
      this.w.seqs.add(r.objid);
      return `s:${r.objid}`;
    }
    if (r.relkind === 'c') {
      // A composite type's columns: walked as part of that type.
      if (r.from_class === cls.pg_type) this.enqueue(r.classid, r.objid, `t:${r.from_obj}`);
      return null;
    }
    if (r.relkind && 'rpvmf'.includes(r.relkind)) {
      // Views and functions read relations; a partition or child needs its parent. An FK's
      // target is in the set already (the FK closure), or the FK is left out.
      const from = r.from_identity ?? 'the copied relations';
      if (r.from_class === cls.pg_rewrite || r.from_class === cls.pg_proc || r.from_class === cls.pg_class) {
        this.addRel(r.objid, r.from_class === cls.pg_class ? `parent of ${from}` : `read by ${from}`);
      }
      return this.w.rels.has(r.objid) ? `r:${r.objid}` : null;
    }
    return null;
  }
}

/** ACCESS SHARE on what is copied, as pg_dump takes: no DDL changes it while its definition is read. */
async function lockRelations(db: Queryable, oids: number[]): Promise<void> {
  const r = await db.query<{ name: string }>(sqlFile('catalog-lock-names'), [oids]);
  if (r.rows.length === 0) return;
  try {
    await db.query(`LOCK TABLE ${r.rows.map((x) => `ONLY ${x.name}`).join(', ')} IN ACCESS SHARE MODE`);
  } catch (err) {
    const e = err as { message: string; code?: string };
    throw new RunbookError(`could not take ACCESS SHARE locks on the source tables to read their definitions: ${redact(e.message)}`, {
      hint:
        e.code === '55P03'
          ? 'a DDL statement or a long transaction holds a conflicting lock on the source; retry when it is done'
          : 'check that the role can read these tables',
      sqlstate: e.code,
    });
  }
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
      const avail = await db.query<{ name: string }>(sqlFile('catalog-available-extensions'), [dump.extensions.map((e) => e.name)]);
      const have = new Set(avail.rows.map((r) => r.name));
      for (const e of dump.extensions) {
        if (have.has(e.name))
          statements.push(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(e.name)} WITH SCHEMA ${quoteIdent(e.schema)} CASCADE`);
        else
          warnings.push(
            `extension ${e.name} (needed by ${e.neededBy.slice(0, 3).join(', ')}) is not available in the sandbox; install it there or rehearse on --sandbox docker or a staging URL`,
          );
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
        throw new RunbookError(
          `the schema copied from the source's catalog does not restore in the sandbox (${section}): ${redact(e.message)}; statement: ${head}`,
          {
            hint: missing.length
              ? missing.join('; ')
              : 'install a pg_dump as new as the source server (Debian package postgresql-client-N) so pg_dump copies the schema, or rehearse on a staging URL',
            sqlstate: e.code,
          },
        );
      }
    }
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK').catch(() => {});
    throw err;
  }
  return warnings;
}
