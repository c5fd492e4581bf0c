// The one set of table facts read from pg_catalog. The analyzer, the DDL kinds, the backfill and
// the rehearsal each take the parts they need (src/pg/catalog/*-lookup.ts); nothing else in the
// project queries the catalog for a table's shape.

/** pg_class.relkind: r table, p partitioned, v view, m matview, f foreign, i/I index, S sequence, c type, t TOAST. */
export type RelKind = 'r' | 'p' | 'v' | 'm' | 'f' | 'i' | 'I' | 'S' | 'c' | 't';

export interface TableFacts {
  oid: number;
  schema: string;
  /** pg_class.relname, unquoted. */
  name: string;
  /** Quoted `schema.name`, safe to splice into SQL. */
  qualified: string;
  /** oid::regclass text: how PostgreSQL names it under the current search_path. */
  regclass: string;
  relkind: RelKind;
  /** p permanent, u unlogged, t temporary. */
  persistence: 'p' | 'u' | 't';
  /** The parent (regclass text) when this is a partition. */
  partitionOf?: string;
  /** Planner's row count; null when never analyzed (reltuples < 0). */
  reltuples: number | null;
  /** pg_stat n_live_tup; null when there are no statistics. */
  liveTuples: number | null;
  relpages: number;
  /** relpages × block size: no lock taken. */
  heapBytes: number;
  /** Every index's relpages × block size. */
  indexBytes: number;
  /** Tablespace of its storage (the database default spelled out). */
  tablespace: string;
  /** Table access method (heap...); null for relations without one (views, indexes...). */
  accessMethod: string | null;
}

export interface OwnedSequence {
  /** The sequence, regclass text. */
  sequence: string;
  /** The column that owns it. */
  column: string;
  /** An identity column's sequence (else serial / OWNED BY). */
  identity: boolean;
}

export interface ColumnFacts {
  name: string;
  attnum: number;
  /** format_type() text, e.g. "character varying(50)". */
  type: string;
  /** pg_type.typname, e.g. varchar, numeric, mood. */
  typname: string;
  /** Schema of the type (pg_catalog for built-ins). */
  typschema: string;
  notNull: boolean;
  defaultExpr: string | null;
  /** pg_attribute.attidentity: '' none, a always, d by default. */
  identity: string;
  /** pg_attribute.attgenerated: '' none, s stored (v virtual on PG18). */
  generated: string;
  /** The type is a domain that carries CHECK or NOT NULL constraints. */
  domainWithConstraints: boolean;
}

export interface KeyColumn {
  name: string;
  /** format_type() of the column, used in casts (`bigint`, `uuid`, `character varying(20)`). */
  type: string;
}

export interface IndexFacts {
  oid: number;
  schema: string;
  /** pg_class.relname of the index. */
  name: string;
  regclass: string;
  /** The table, as regclass text. */
  table: string;
  tableOid: number;
  columns: string[];
  unique: boolean;
  primary: boolean;
  valid: boolean;
  ready: boolean;
  /** The constraint (PK, UNIQUE, EXCLUDE) that owns it. */
  constraint?: string;
  /** relpages × block size. */
  bytes: number;
  /** Columns used only in its expressions or predicate. */
  expressionColumns: string[];
  /** Access method (btree, hash, gin ...). */
  method: string;
  /** Has a WHERE predicate. */
  partial: boolean;
  /** pg_get_indexdef(), read only when asked for (it locks the table). */
  definition?: string;
}

export interface ConstraintFacts {
  oid: number;
  name: string;
  /** pg_constraint.contype: c check, f foreign key, p primary key, u unique, x exclusion, n not null, t trigger. */
  contype: string;
  validated: boolean;
  columns: string[];
  /** Referenced table (FK), as regclass text. */
  refTable?: string;
  refColumns?: string[];
  /** The index behind it (PK / UNIQUE / EXCLUDE), regclass text. */
  index?: string;
  definition: string;
}

export interface ForeignKeyFacts {
  oid: number;
  name: string;
  /** Referencing table. */
  child: number;
  childTable: string;
  childColumns: string[];
  /** Referenced table. */
  parent: number;
  parentTable: string;
  parentColumns: string[];
  /** format_type of each parent column, to cast literal keys. */
  parentTypes: string[];
  /** pg_constraint.confdeltype: a no action, r restrict, c cascade, n set null, d set default. */
  onDelete: 'a' | 'r' | 'c' | 'n' | 'd';
  validated: boolean;
  /** A copy PostgreSQL keeps on a partition of the referencing table. */
  inherited: boolean;
  definition: string;
  /** An index on the referencing side leads with the key columns. */
  indexed: boolean;
}

export interface TriggerFacts {
  name: string;
  /** Internal triggers implement foreign keys. */
  internal: boolean;
  /** pg_trigger.tgenabled: O enabled, D disabled, R replica only, A always. */
  enabled: string;
  definition: string;
}

export interface DependentView {
  oid: number;
  regclass: string;
  relkind: RelKind;
  /** 1: reads the table itself; 2: reads such a view; ... */
  depth: number;
}

export interface Descendant {
  oid: number;
  regclass: string;
  relkind: RelKind;
  /** A partition (else an inheritance child). */
  partition: boolean;
  /** A child of the table itself (not of one of its partitions). */
  direct: boolean;
  /** The DEFAULT partition. */
  isDefault: boolean;
}

/** A sequence's type and options as ALTER SEQUENCE takes them (values as text: bigint range). */
export interface SequenceOptions {
  /** Quoted schema.name (the swap's restore) or the bare name (the catalog dump). */
  name: string;
  type: string;
  start: string;
  increment: string;
  min: string;
  max: string;
  cache: string;
  cycle: boolean;
}
