// What `plan` shows about a table: sizes, statistics, indexes, foreign keys both ways, triggers,
// views over it. Built from the catalog lookups; the size functions and pg_get_indexdef() run only
// when no ACCESS EXCLUSIVE lock on the table is granted or pending (DESIGN §6).
import type { Queryable } from '../queryable.js';
import { sqlText } from '../sql-files.js';
import type { RelKind } from './catalog-types.js';
import { CATALOG_SQL, findTable } from './table-lookup.js';
import { tableIndexes } from './table-parts.js';
import { dependentViews, foreignKeys, tableTriggers } from './table-links.js';

export interface PlanTableFacts {
  name: string;
  relkind: RelKind;
  /** Bytes: heap + indexes + TOAST. */
  totalBytes: number;
  tableBytes: number;
  indexBytes: number;
  /** Where the sizes came from: the size functions, or relpages (when a lock made the functions unsafe). */
  sizeSource: 'functions' | 'relpages';
  reltuples: number | null;
  liveTuples: number | null;
  deadTuples: number | null;
  /** Best row estimate: reltuples, else n_live_tup. */
  estimatedRows: number | null;
  /** Average row width in bytes (pg_stats when analyzed, else size / rows). */
  avgRowWidth: number | null;
  lastAnalyze: string | null;
  lastAutovacuum: string | null;
  indexes: { name: string; definition: string; valid: boolean; ready: boolean; unique: boolean; primary: boolean; bytes: number }[];
  foreignKeysOut: { name: string; references: string; definition: string; validated: boolean }[];
  foreignKeysIn: { name: string; from: string; definition: string; indexed: boolean }[];
  triggers: { name: string; enabled: string; definition: string }[];
  dependentViews: { name: string; kind: 'view' | 'materialized view' }[];
  partitions: number;
  /** An ACCESS EXCLUSIVE lock on it is granted or pending right now. */
  accessExclusiveNow: boolean;
  /** pg_catalog / information_schema / pg_toast relation. */
  systemCatalog: boolean;
}

const LOCKED_DEFINITION = '(definition not read: the table is ACCESS EXCLUSIVE locked)';
const TRIGGER_ENABLED: Record<string, string> = { O: 'enabled', D: 'disabled', R: 'replica only', A: 'always' };

interface Sizes {
  tableBytes: number;
  indexBytes: number;
  sizeSource: PlanTableFacts['sizeSource'];
  tuples: number;
  ael: boolean;
}

/** Sizes from relpages (descendants included); exact sizes from the size functions unless a lock makes them unsafe. */
async function tableSizes(db: Queryable, oid: number, bs: number, aelOnTable: boolean): Promise<Sizes> {
  const pages = (await db.query(sqlText(CATALOG_SQL, 'table-pages'), [oid])).rows[0];
  const ael: boolean = aelOnTable || pages.ael;
  const sizes: Sizes = {
    tableBytes: (Number(pages.heap) + Number(pages.toast)) * bs,
    indexBytes: Number(pages.idx) * bs,
    sizeSource: 'relpages',
    tuples: Number(pages.tuples),
    ael,
  };
  if (ael) return sizes;
  try {
    const sz = (await db.query(sqlText(CATALOG_SQL, 'table-size'), [oid])).rows[0];
    return { ...sizes, tableBytes: Number(sz.t), indexBytes: Number(sz.i), sizeSource: 'functions' };
  } catch {
    return sizes; // lock_timeout or privileges: keep the relpages estimate
  }
}

export async function planTableFacts(db: Queryable, name: string): Promise<PlanTableFacts | undefined> {
  const t = await findTable(db, name);
  if (!t) return undefined;
  const h = (await db.query(sqlText(CATALOG_SQL, 'table-activity'), [t.oid])).rows[0];
  const s = await tableSizes(db, t.oid, Number(h.bs), h.ael);
  const reltuples = t.relkind === 'p' ? s.tuples : t.reltuples;
  const live = t.liveTuples;
  const estimatedRows = reltuples !== null && (reltuples > 0 || live === null || live === 0) ? reltuples : live;
  const avgRowWidth = h.width !== null ? Number(h.width) : estimatedRows ? Math.round(s.tableBytes / Math.max(1, estimatedRows)) : null;
  const [indexes, fkOut, fkIn, triggers, views] = await Promise.all([
    tableIndexes(db, t.oid, { definitions: !s.ael }),
    foreignKeys(db, { from: [t.oid] }),
    foreignKeys(db, { to: [t.oid] }),
    tableTriggers(db, t.oid),
    dependentViews(db, [t.oid]),
  ]);
  return {
    name: t.regclass,
    relkind: t.relkind,
    totalBytes: s.tableBytes + s.indexBytes,
    tableBytes: s.tableBytes,
    indexBytes: s.indexBytes,
    sizeSource: s.sizeSource,
    reltuples,
    liveTuples: live,
    deadTuples: h.dead === null ? null : Number(h.dead),
    estimatedRows,
    avgRowWidth,
    lastAnalyze: (h.last_analyze ?? h.last_autoanalyze)?.toISOString?.() ?? null,
    lastAutovacuum: h.last_autovacuum?.toISOString?.() ?? null,
    indexes: indexes.map((i) => ({
      name: i.regclass,
      definition: i.definition ?? LOCKED_DEFINITION,
      valid: i.valid,
      ready: i.ready,
      unique: i.unique,
      primary: i.primary,
      bytes: i.bytes,
    })),
    foreignKeysOut: fkOut.map((f) => ({ name: f.name, references: f.parentTable, definition: f.definition, validated: f.validated })),
    foreignKeysIn: fkIn
      .filter((f) => !f.inherited)
      .map((f) => ({ name: f.name, from: f.childTable, definition: f.definition, indexed: f.indexed })),
    triggers: triggers
      .filter((x) => !x.internal)
      .map((x) => ({ name: x.name, enabled: TRIGGER_ENABLED[x.enabled] ?? x.enabled, definition: x.definition })),
    dependentViews: views.map((v) => ({ name: v.regclass, kind: v.relkind === 'm' ? 'materialized view' : 'view' })),
    partitions: Number(h.parts),
    accessExclusiveNow: s.ael,
    systemCatalog: !!h.syscat,
  };
}
