// The analyzer's view of a live database (`analyze --db`, `plan`), built from the catalog layer
// (src/pg/catalog). Only pg_catalog and statistics views are read.
import { loadParser, parseStatements } from '../pg/sqlparse.js';
import { quoteIdent } from '../pg/connection.js';
import type { Queryable } from '../pg/queryable.js';
import type { ColumnFacts, ConstraintFacts, IndexFacts, TableFacts } from '../pg/catalog/catalog-types.js';
import { findTable, rowEstimate } from '../pg/catalog/table-lookup.js';
import { tableColumns, tableConstraints, tableIndexes } from '../pg/catalog/table-parts.js';
import { dependentViews, descendants, foreignKeys, ownedSequences, tableTriggers, viewReads } from '../pg/catalog/table-links.js';
import {
  castMethod,
  functionVolatility,
  indexOwner,
  isConstrainedDomain,
  statisticsTable,
  typeUsers,
  type TypeUser,
} from '../pg/catalog/type-lookup.js';
import { columnsIn, provesNotNull } from './ast.js';
import type {
  Catalog,
  ColumnInfo,
  ConstraintInfo,
  ConstraintType,
  IndexInfo,
  IndexOwner,
  TableInfo,
  Volatility,
} from './analysis-catalog.js';

export function qualifiedText(schema: string | undefined, name: string): string {
  return schema ? `${quoteIdent(schema)}.${quoteIdent(name)}` : quoteIdent(name);
}

/** varchar(50) -> [50], numeric(10,2) -> [10, 2], timestamp(3) with time zone -> [3]. */
export function modsFromFormatType(text: string): number[] {
  const m = /\((-?\d+(?:\s*,\s*-?\d+)*)\)/.exec(text);
  return m ? m[1]!.split(',').map((s) => Number(s.trim())) : [];
}

const CONTYPE: Record<string, ConstraintType> = {
  c: 'check',
  f: 'foreign key',
  p: 'primary key',
  u: 'unique',
  x: 'exclusion',
  n: 'not null',
  t: 'trigger',
};

/** Views on views are followed this deep. */
const VIEW_DEPTH = 10;

/** Every call is a few small catalog queries. */
export class LiveCatalog implements Catalog {
  readonly live = true;
  private fnCache = new Map<string, Volatility | undefined>();

  constructor(private readonly db: Queryable) {}

  async relation(schema: string | undefined, name: string): Promise<TableInfo | undefined> {
    await loadParser();
    const t = await findTable(this.db, qualifiedText(schema, name));
    if (!t) return undefined;
    const isView = t.relkind === 'v' || t.relkind === 'm';
    const [cols, cons, idx, children, incoming, reads, dependents, triggers, owned] = await Promise.all([
      tableColumns(this.db, t.oid),
      tableConstraints(this.db, t.oid),
      tableIndexes(this.db, t.oid),
      descendants(this.db, t.oid),
      foreignKeys(this.db, { to: [t.oid] }),
      isView ? viewReads(this.db, t.oid) : Promise.resolve(undefined),
      dependentViews(this.db, [t.oid], VIEW_DEPTH),
      tableTriggers(this.db, t.oid),
      ownedSequences(this.db, t.oid),
    ]);
    const partitions = children.filter((c) => c.partition);
    const defaultPartition = partitions.find((c) => c.direct && c.isDefault)?.regclass;
    return {
      name: t.regclass,
      relkind: t.relkind,
      persistence: t.persistence,
      columns: new Map(cols.map((c) => [c.name, columnInfo(c)])),
      constraints: new Map(cons.map((c) => [c.name, constraintInfo(c)])),
      indexes: new Map(idx.map((i) => [i.name, indexInfo(i)])),
      partitions: partitions.map((c) => c.regclass),
      leafPartitions: partitions.filter((c) => c.relkind !== 'p').map((c) => c.regclass),
      ...(defaultPartition ? { defaultPartition } : {}),
      ...(t.partitionOf ? { partitionOf: t.partitionOf } : {}),
      inheritanceChildren: children.filter((c) => !c.partition).map((c) => c.regclass),
      incomingForeignKeys: incoming
        .filter((f) => !f.inherited)
        .map((f) => ({
          table: f.childTable,
          constraint: f.name,
          columns: f.childColumns,
          refColumns: f.parentColumns,
          indexed: f.indexed,
          onDelete: f.onDelete,
        })),
      ...(reads ? { viewReads: reads } : {}),
      dependentViews: dependents.map((v) => v.regclass),
      triggers: triggers.map((x) => ({ name: x.name, internal: x.internal })),
      ownedSequences: owned,
      tablespace: t.tablespace,
      ...(t.accessMethod ? { accessMethod: t.accessMethod } : {}),
      ...estimatedRowsOf(t),
    };
  }

  async indexOwner(schema: string | undefined, name: string): Promise<IndexOwner | undefined> {
    return indexOwner(this.db, qualifiedText(schema, name));
  }

  async functionVolatility(schema: string | undefined, name: string, nargs: number): Promise<Volatility | undefined> {
    const key = `${schema ?? ''}.${name}/${nargs}`;
    if (this.fnCache.has(key)) return this.fnCache.get(key);
    const worst = await functionVolatility(this.db, schema, name, nargs);
    this.fnCache.set(key, worst);
    return worst;
  }

  async castMethod(source: string, target: string): Promise<'b' | 'f' | 'i' | undefined> {
    return castMethod(this.db, source, target);
  }

  async typeUsers(schema: string | undefined, name: string): Promise<TypeUser[]> {
    return typeUsers(this.db, qualifiedText(schema, name));
  }

  async statisticsTable(schema: string | undefined, name: string): Promise<string | undefined> {
    return statisticsTable(this.db, schema, name);
  }

  async typeIsConstrainedDomain(schema: string | undefined, name: string): Promise<boolean | undefined> {
    return isConstrainedDomain(this.db, qualifiedText(schema, name));
  }
}

function estimatedRowsOf(t: TableFacts): { estimatedRows?: number } {
  const rows = rowEstimate(t);
  return rows === null ? {} : { estimatedRows: rows };
}

function columnInfo(c: ColumnFacts): ColumnInfo {
  return {
    name: c.name,
    type: c.type,
    typname: c.typname,
    typschema: c.typschema,
    mods: modsFromFormatType(c.type),
    notNull: c.notNull,
    domainWithConstraints: c.domainWithConstraints,
    identity: c.identity !== '',
    generated: c.generated !== '',
  };
}

function constraintInfo(c: ConstraintFacts): ConstraintInfo {
  const type = CONTYPE[c.contype] ?? 'check';
  let proves: string[] = [];
  let cols = c.columns;
  if (type === 'check') {
    const expr = checkExpression(c.definition);
    if (expr) {
      proves = provesNotNull(expr);
      cols = columnsIn(expr);
    }
  } else if (type === 'not null') proves = cols;
  return {
    name: c.name,
    type,
    validated: c.validated,
    columns: cols,
    provesNotNull: proves,
    ...(c.refTable ? { refTable: c.refTable, refColumns: c.refColumns ?? [] } : {}),
    ...(c.index ? { index: c.index } : {}),
  };
}

function indexInfo(i: IndexFacts): IndexInfo {
  return {
    name: i.regclass,
    columns: i.columns,
    unique: i.unique,
    primary: i.primary,
    valid: i.valid,
    ready: i.ready,
    expressionColumns: i.expressionColumns,
    ordered: i.method === 'btree' && !i.partial,
    ...(i.constraint ? { constraint: i.constraint } : {}),
  };
}

/** The expression of `CHECK (...)` as printed by pg_get_constraintdef, parsed with the real parser. */
function checkExpression(def: string): any {
  try {
    const stmt = parseStatements(`ALTER TABLE x ADD CONSTRAINT c ${def.replace(/\s+NOT VALID\s*$/i, '')}`)[0];
    return stmt?.ast?.cmds?.[0]?.AlterTableCmd?.def?.Constraint?.raw_expr;
  } catch {
    return undefined;
  }
}
