// Which tables a rehearsal must copy: the ones the deploy phase touches (from each step's plan,
// its SQL and its `table` fields), plus what they need to exist and stay consistent: tables they
// reference by FK (transitively), tables that reference them, partitions, dependent views.
import { loadParser, parseStatements } from '../pg/sqlparse.js';
import type { Runbook, StepSpec } from '../runbook/model.js';
import type { StepKinds, StepPlan } from '../engine/step-kind.js';
import type { Queryable } from '../pg/queryable.js';
import type { ForeignKeyFacts, TableFacts } from '../pg/catalog/catalog-types.js';
import { findTable, rowEstimate, tablesByOid } from '../pg/catalog/table-lookup.js';
import { findIndexShape } from '../pg/catalog/table-parts.js';
import { dependentViews, descendants, foreignKeys } from '../pg/catalog/table-links.js';

export type TableRole = 'touched' | 'referenced' | 'referencing' | 'partition' | 'view';

/** A relation of the set a rehearsal copies, and why it is in the set. */
export interface TableInSet extends TableFacts {
  role: TableRole;
  /** Human form: schema.name (public. omitted). */
  display: string;
  /** reltuples (never count(*)), else n_live_tup; null when neither is known. */
  rowsEstimate: number | null;
}

/** Plans every deploy step (read-only) and collects relation names from locks, SQL and `table` fields. */
export async function touchedRelationNames(
  kinds: StepKinds,
  runbook: Runbook,
  db: Queryable | undefined,
  serverVersionNum?: number,
): Promise<string[]> {
  await loadParser();
  const names = new Set<string>();
  for (const step of runbook.phases.deploy) {
    collectTableFields(step.params, names);
    const plan = await planOf(kinds, step, runbook, db, serverVersionNum);
    for (const l of plan?.locks ?? []) names.add(l.relation);
    for (const st of plan?.statements ?? []) collectSqlRelations(st.sql, names);
    if (typeof step.rollback === 'string') collectSqlRelations(step.rollback, names);
    collectSqlFields(step.params, names);
  }
  return [...names].filter(Boolean);
}

export async function planOf(
  kinds: StepKinds,
  step: StepSpec,
  runbook: Runbook,
  db: Queryable | undefined,
  serverVersionNum?: number,
): Promise<StepPlan | undefined> {
  const kind = kinds.get(step.kind);
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

/** Resolves names to tables on `db` and widens the set with everything they need. Catalog reads only. */
export async function resolveTableSet(
  db: Queryable,
  names: string[],
): Promise<{ tables: TableInSet[]; fks: ForeignKeyFacts[]; missing: string[] }> {
  const { roles, missing } = await touchedTables(db, names);
  const add = (oid: number, role: TableRole) => {
    if (roles.has(oid)) return false;
    roles.set(oid, role);
    return true;
  };
  // Partitions and inheritance children of touched tables hold their rows.
  for (const oid of [...roles.keys()]) for (const p of await descendants(db, oid)) add(p.oid, 'partition');
  // Tables referencing a touched table (one level: their rows see the change), then every table
  // referenced by anything in the set, transitively (the FKs must restore).
  const touched = [...roles.entries()].filter(([, r]) => r === 'touched' || r === 'partition').map(([o]) => o);
  for (const fk of await foreignKeys(db, { to: touched })) add(fk.child, 'referencing');
  for (let frontier = [...roles.keys()]; frontier.length; ) {
    const next: number[] = [];
    for (const fk of await foreignKeys(db, { from: frontier })) if (add(fk.parent, 'referenced')) next.push(fk.parent);
    frontier = next;
  }
  // Views over the set (they bind by OID, and swaps must recreate them).
  for (const v of await dependentViews(db, [...roles.keys()])) if (v.relkind === 'v' || v.relkind === 'm') add(v.oid, 'view');

  const oids = [...roles.keys()];
  const tables = (await tablesByOid(db, oids)).map<TableInSet>((t) => ({
    ...t,
    display: t.schema === 'public' ? t.name : `${t.schema}.${t.name}`,
    role: roles.get(t.oid)!,
    rowsEstimate: rowEstimate(t),
  }));
  const fks = (await foreignKeys(db, { from: oids })).filter((f) => roles.has(f.parent));
  return { tables, fks, missing };
}

/** The tables the names point at (an index points at its table); names that resolve to nothing are missing. */
async function touchedTables(db: Queryable, names: string[]): Promise<{ roles: Map<number, TableRole>; missing: string[] }> {
  const roles = new Map<number, TableRole>();
  const missing: string[] = [];
  for (const name of names) {
    const t = await findTable(db, name).catch(() => undefined);
    if (!t)
      missing.push(name); // created by the deploy itself, or a typo the plan will report
    else if (t.relkind === 'r' || t.relkind === 'p') roles.set(t.oid, 'touched');
    else if (t.relkind === 'i') {
      const idx = await findIndexShape(db, t.schema, t.name);
      if (idx) roles.set(idx.tableOid, 'touched');
    }
  }
  return { roles, missing };
}
