// What the analyzer needs to know about the database: the schema as the script sees it. The live
// implementation (src/analyze/live-catalog.ts) fills it from the catalog layer (src/pg/catalog);
// without --db there is no catalog and the analyzer says what it cannot know.
import type { RelKind } from '../pg/catalog/catalog-types.js';
import type { IndexOwner, TypeUser, Volatility } from '../pg/catalog/type-lookup.js';
import type { OwnedSequence } from '../pg/catalog/catalog-types.js';

export type { IndexOwner, OwnedSequence, RelKind, TypeUser, Volatility };

export interface ColumnInfo {
  name: string;
  /** format_type() text, e.g. "character varying(50)". */
  type: string;
  /** pg_type.typname of the column type, e.g. varchar, numeric, timestamptz, mood. */
  typname: string;
  /** Schema of the type (pg_catalog for built-ins). */
  typschema: string;
  /** Type modifiers as written in SQL: varchar(50) -> [50], numeric(10,2) -> [10, 2]; [] when none. */
  mods: number[];
  notNull: boolean;
  /** The type is a domain that carries CHECK or NOT NULL constraints. */
  domainWithConstraints: boolean;
  identity: boolean;
  generated: boolean;
}

export type ConstraintType = 'check' | 'foreign key' | 'primary key' | 'unique' | 'exclusion' | 'not null' | 'trigger';

export interface ConstraintInfo {
  name: string;
  type: ConstraintType;
  validated: boolean;
  columns: string[];
  /** For CHECK constraints whose expression proves `col IS NOT NULL` (an AND-ed conjunct). */
  provesNotNull: string[];
  /** Referenced table (FK), as regclass text. */
  refTable?: string;
  /** Columns of the referenced table (FK). */
  refColumns?: string[];
  /** Index that backs it (PK / UNIQUE / EXCLUDE). */
  index?: string;
}

export interface IndexInfo {
  name: string;
  columns: string[];
  unique: boolean;
  primary: boolean;
  valid: boolean;
  ready: boolean;
  /** Columns its expressions or predicate use (rebuilt when their type changes, even without a rewrite). */
  expressionColumns?: string[];
  /** Owned by a constraint (PK, UNIQUE, EXCLUDE): drop the constraint, not the index. */
  constraint?: string;
  /** A btree without a predicate: min()/max() of its first column read one end of it. Unknown offline. */
  ordered?: boolean;
}

export interface IncomingForeignKey {
  /** Referencing table (regclass text). */
  table: string;
  constraint: string;
  /** Referencing columns. */
  columns: string[];
  /** Columns of this table it references. */
  refColumns: string[];
  /** An index on the referencing side whose leading columns are the FK columns. */
  indexed: boolean;
  /** pg_constraint.confdeltype: a no action, r restrict, c cascade, n set null, d set default. */
  onDelete: 'a' | 'r' | 'c' | 'n' | 'd';
}

export interface TableInfo {
  /** Name as shown to the operator (regclass text when live, else as written). */
  name: string;
  relkind: RelKind;
  /** p permanent, u unlogged, t temporary. */
  persistence: 'p' | 'u' | 't';
  columns: Map<string, ColumnInfo>;
  constraints: Map<string, ConstraintInfo>;
  indexes: Map<string, IndexInfo>;
  /** All partitions at any depth (for a partitioned table), regclass text. */
  partitions: string[];
  /** The partitions that hold data (not themselves partitioned). */
  leafPartitions: string[];
  /** The default partition, if any. */
  defaultPartition?: string;
  /** Parent when this is a partition. */
  partitionOf?: string;
  /** Inheritance children that are not partitions. */
  inheritanceChildren: string[];
  incomingForeignKeys: IncomingForeignKey[];
  /** Triggers on it (internal ones implement foreign keys); undefined when unknown. */
  triggers?: { name: string; internal: boolean }[];
  /** Views and materialized views that read this relation (directly or through other views). */
  dependentViews?: string[];
  /** For views and materialized views: the relations their query reads. */
  viewReads?: string[];
  /** A placeholder for a relation there is no catalog for: it holds only what the script did to it. */
  partial?: boolean;
  /** True when created earlier in the same script (known empty, not from the catalog). */
  createdInScript?: boolean;
  /** Sequences owned by its columns (serial, identity); undefined when unknown. */
  ownedSequences?: OwnedSequence[];
  /** Tablespace its storage is in (the database default spelled out); undefined when unknown. */
  tablespace?: string;
  /** Table access method (heap...); undefined when unknown. */
  accessMethod?: string;
  /** Estimated rows (reltuples, n_live_tup fallback); undefined when unknown. */
  estimatedRows?: number;
}

/** Nothing (or only the script's own effects) is known about this relation. */
export function unknownRelation(t: TableInfo | undefined): boolean {
  return !t || !!t.partial;
}

export interface Catalog {
  readonly live: boolean;
  /** A table, view, materialized view or foreign table by name as written; undefined when it does not exist. */
  relation(schema: string | undefined, name: string): Promise<TableInfo | undefined>;
  /** The table an index belongs to. */
  indexOwner(schema: string | undefined, name: string): Promise<IndexOwner | undefined>;
  /** Most volatile overload of a function (undefined when no such function). */
  functionVolatility(schema: string | undefined, name: string, nargs: number): Promise<Volatility | undefined>;
  /** pg_cast.castmethod between two types given as SQL names ('b' binary, 'f' function, 'i' I/O); undefined = no cast. */
  castMethod(source: string, target: string): Promise<'b' | 'f' | 'i' | undefined>;
  /** Tables with a column of this type (domain, composite) and tables typed by it (CREATE TABLE ... OF). */
  typeUsers(schema: string | undefined, name: string): Promise<TypeUser[]>;
  /** The table an extended statistics object is on. */
  statisticsTable(schema: string | undefined, name: string): Promise<string | undefined>;
  /** Whether a type name is a domain with constraints (undefined when unknown type). */
  typeIsConstrainedDomain(schema: string | undefined, name: string): Promise<boolean | undefined>;
}
