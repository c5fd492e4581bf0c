// What a table is linked to: foreign keys both ways, triggers, views over it, partitions and
// inheritance children, the sequences its columns own, and (for a view) what it reads.
import type { Queryable } from '../queryable.js';
import { sqlText } from '../sql-files.js';
import type { Descendant, DependentView, ForeignKeyFacts, OwnedSequence, RelKind, TriggerFacts } from './catalog-types.js';
import { CATALOG_SQL } from './table-lookup.js';

/** Foreign keys from the tables in `from`, or to the tables in `to`, or both (by OID); ordered by name. */
export async function foreignKeys(db: Queryable, sel: { from?: number[]; to?: number[] }): Promise<ForeignKeyFacts[]> {
  if (sel.from?.length === 0 || sel.to?.length === 0) return [];
  const r = await db.query(sqlText(CATALOG_SQL, 'foreign-keys'), [sel.from ?? null, sel.to ?? null]);
  return r.rows.map((f) => ({
    oid: Number(f.oid),
    name: f.name,
    child: Number(f.child),
    childTable: f.child_table,
    childColumns: f.child_columns ?? [],
    parent: Number(f.parent),
    parentTable: f.parent_table,
    parentColumns: f.parent_columns ?? [],
    parentTypes: f.parent_types ?? [],
    onDelete: f.on_delete,
    validated: f.validated,
    inherited: f.inherited,
    definition: f.definition,
    indexed: f.indexed,
  }));
}

export async function tableTriggers(db: Queryable, tableOid: number): Promise<TriggerFacts[]> {
  const r = await db.query(sqlText(CATALOG_SQL, 'triggers'), [tableOid]);
  return r.rows.map((t) => ({ name: t.name, internal: t.internal, enabled: t.enabled, definition: t.definition }));
}

/** Views and materialized views over the relations in `oids`: those reading them directly (`depth` 1), or through up to `depth` levels of views. */
export async function dependentViews(db: Queryable, oids: number[], depth = 1): Promise<DependentView[]> {
  if (oids.length === 0) return [];
  const r = await db.query(sqlText(CATALOG_SQL, 'dependent-views'), [oids, depth]);
  return r.rows.map((v) => ({ oid: Number(v.oid), regclass: v.regclass, relkind: v.relkind as RelKind, depth: v.depth }));
}

/** Partitions at any depth and inheritance children, parents before children. */
export async function descendants(db: Queryable, tableOid: number): Promise<Descendant[]> {
  const r = await db.query(sqlText(CATALOG_SQL, 'descendants'), [tableOid]);
  return r.rows.map((c) => ({
    oid: Number(c.oid),
    regclass: c.regclass,
    relkind: c.relkind as RelKind,
    partition: c.is_partition,
    direct: c.direct,
    isDefault: c.is_default === true,
  }));
}

/** For a view or materialized view: the tables, views and foreign tables its query reads (regclass text). */
export async function viewReads(db: Queryable, viewOid: number): Promise<string[]> {
  const r = await db.query<{ name: string }>(sqlText(CATALOG_SQL, 'view-reads'), [viewOid]);
  return r.rows.map((x) => x.name);
}

/** Sequences owned by the table's columns (serial, identity), by column name. */
export async function ownedSequences(db: Queryable, tableOid: number): Promise<OwnedSequence[]> {
  const r = await db.query(sqlText(CATALOG_SQL, 'owned-sequences'), [tableOid]);
  return r.rows.map((x) => ({ sequence: x.sequence, column: x.column, identity: x.identity }));
}
