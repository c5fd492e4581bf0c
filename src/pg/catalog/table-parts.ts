// A table's own parts: columns, primary key, indexes, constraints.
import type { Queryable } from '../queryable.js';
import { sqlText } from '../sql-files.js';
import type { ColumnFacts, ConstraintFacts, IndexFacts, KeyColumn } from './catalog-types.js';
import { CATALOG_SQL } from './table-lookup.js';

/** Every column of a table, in attnum order. */
export async function tableColumns(db: Queryable, tableOid: number): Promise<ColumnFacts[]> {
  const r = await db.query(sqlText(CATALOG_SQL, 'columns'), [tableOid, null]);
  return r.rows.map(columnFromRow);
}

export async function findColumn(db: Queryable, tableOid: number, column: string): Promise<ColumnFacts | undefined> {
  const r = await db.query(sqlText(CATALOG_SQL, 'columns'), [tableOid, column]);
  return r.rows[0] ? columnFromRow(r.rows[0]) : undefined;
}

function columnFromRow(c: any): ColumnFacts {
  return {
    name: c.name,
    attnum: c.attnum,
    type: c.type,
    typname: c.typname,
    typschema: c.typschema,
    notNull: c.not_null,
    defaultExpr: c.default_expr,
    identity: c.identity,
    generated: c.generated,
    domainWithConstraints: c.domain_constrained,
  };
}

/** The primary key's columns in key order; [] when the table has none. */
export async function primaryKey(db: Queryable, tableOid: number): Promise<KeyColumn[]> {
  const r = await db.query<KeyColumn>(sqlText(CATALOG_SQL, 'primary-key'), [tableOid]);
  return r.rows.map((k) => ({ name: k.name, type: k.type }));
}

/** A table's indexes. `definitions` calls pg_get_indexdef(), which locks the table: never while ACCESS EXCLUSIVE is held or queued. */
export async function tableIndexes(db: Queryable, tableOid: number, opts: { definitions?: boolean } = {}): Promise<IndexFacts[]> {
  const r = await db.query(sqlText(CATALOG_SQL, 'indexes'), [tableOid, null, null, opts.definitions === true]);
  return r.rows.map(indexFromRow);
}

export type DefinedIndex = IndexFacts & { definition: string };

/** An index by name in a schema (index names are unique per schema), with its definition. */
export async function findIndex(db: Queryable, schema: string, name: string): Promise<DefinedIndex | undefined> {
  const r = await db.query(sqlText(CATALOG_SQL, 'indexes'), [null, schema, name, true]);
  return r.rows[0] ? (indexFromRow(r.rows[0]) as DefinedIndex) : undefined;
}

/** An index by name in a schema, without its definition (which would lock the table). */
export async function findIndexShape(db: Queryable, schema: string, name: string): Promise<IndexFacts | undefined> {
  const r = await db.query(sqlText(CATALOG_SQL, 'indexes'), [null, schema, name, false]);
  return r.rows[0] ? indexFromRow(r.rows[0]) : undefined;
}

function indexFromRow(i: any): IndexFacts {
  return {
    oid: Number(i.oid),
    schema: i.schema,
    name: i.name,
    regclass: i.regclass,
    table: i.table,
    tableOid: Number(i.table_oid),
    columns: i.columns ?? [],
    unique: i.is_unique,
    primary: i.is_primary,
    valid: i.is_valid,
    ready: i.is_ready,
    ...(i.constraint_name ? { constraint: i.constraint_name } : {}),
    bytes: Number(i.bytes),
    expressionColumns: i.expression_columns ?? [],
    method: i.method,
    partial: i.is_partial,
    ...(i.definition !== null ? { definition: i.definition } : {}),
  };
}

export async function tableConstraints(db: Queryable, tableOid: number): Promise<ConstraintFacts[]> {
  const r = await db.query(sqlText(CATALOG_SQL, 'constraints'), [tableOid, null]);
  return r.rows.map(constraintFromRow);
}

export async function findConstraint(db: Queryable, tableOid: number, name: string): Promise<ConstraintFacts | undefined> {
  const r = await db.query(sqlText(CATALOG_SQL, 'constraints'), [tableOid, name]);
  return r.rows[0] ? constraintFromRow(r.rows[0]) : undefined;
}

function constraintFromRow(c: any): ConstraintFacts {
  return {
    oid: Number(c.oid),
    name: c.name,
    contype: c.contype,
    validated: c.validated,
    columns: c.columns ?? [],
    ...(c.ref_table ? { refTable: c.ref_table, refColumns: c.ref_columns ?? [] } : {}),
    ...(c.index ? { index: c.index } : {}),
    definition: c.definition,
  };
}

/**
 * What depends on one column (indexes, constraints, views, sequences, triggers...), as PostgreSQL
 * describes each object; `exceptTrigger` names a trigger to leave out.
 */
export async function columnDependents(db: Queryable, tableOid: number, attnum: number, exceptTrigger = ''): Promise<string[]> {
  const r = await db.query<{ what: string }>(sqlText(CATALOG_SQL, 'column-dependents'), [tableOid, attnum, exceptTrigger]);
  return r.rows.map((x) => x.what);
}
