// A rehearsal's projection in place of the size-based estimate. `pgrunbook rehearse` (and the
// `rehearse` step) store each completed rehearsal in the source database's `pgrunbook` schema,
// keyed by a hash of the runbook text and its variables; plan and the deploy gate look the newest
// one up here. Any change to the text or a variable changes the key, so an edited runbook falls
// back to the size-based estimate instead of showing a projection of something else. So does a
// projection that has aged (PROJECTION_MAX_AGE_DAYS) or whose tables have since grown or shrunk past
// PROJECTION_SIZE_TOLERANCE: it scaled the sandbox's time to sizes the tables no longer have.
import { createHash } from 'node:crypto';
import type { RehearsalProjection } from '../../engine/events.js';
import type { Queryable } from '../../pg/queryable.js';
import { sqlText } from '../../pg/sql-files.js';
import type { Runbook } from '../../runbook/model.js';
import { formatBytes as fmtBytes } from '../../util/units.js';
import { estimateText } from './estimate.js';
import type { Estimate, PlanStep, RehearsalSource } from './plan-types.js';

const SQL = 'analyze/plan/sql';

/** The DDL of the table the rehearsal writes to (created with the run state schema). */
export const rehearsalsTableSql = (): string => sqlText(SQL, 'rehearsals-table');

/** sha256 over the runbook's exact text and its effective variables (secret ones by name only). */
export function runbookKey(runbook: Pick<Runbook, 'source' | 'vars' | 'secretVars'>): string {
  const sorted = (o: Record<string, string> | undefined) => Object.entries(o ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([runbook.source, sorted(runbook.vars), sorted(runbook.secretVars)]))
    .digest('hex');
}

export interface StoredRehearsal extends RehearsalSource {
  projection: RehearsalProjection;
  /** Set when the projection no longer fits this database: why (plan and the gate then use size-based estimates). */
  expired?: string;
}

/** A touched table's size when the rehearsal ran: the planner's estimates, as the projection used them. */
export interface SourceTableSize {
  table: string;
  oid: number;
  rows: number | null;
  bytes: number;
}

/** A projection is used while each touched table's rows and size stay within this fraction of what they were. */
export const PROJECTION_SIZE_TOLERANCE = 0.25;
/** ... and while it is younger than this: older, the data, the server and its load have likely moved on. */
export const PROJECTION_MAX_AGE_DAYS = 7;

const changed = (then: number, now: number) => Math.abs(now - then) / Math.max(then, 1) > PROJECTION_SIZE_TOLERANCE;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (then: number, now: number) => `${now >= then ? '+' : ''}${Math.round(((now - then) / Math.max(then, 1)) * 100)}%`;

/** Why a stored projection no longer fits this database, or undefined when it still does. */
async function whyExpired(db: Queryable, ageSeconds: number, tables: SourceTableSize[] | null): Promise<string | undefined> {
  const days = ageSeconds / 86_400;
  if (days > PROJECTION_MAX_AGE_DAYS)
    return `it is ${Math.floor(days)} days old, older than the ${PROJECTION_MAX_AGE_DAYS} days a projection is used for`;
  if (!tables) return "it was stored without its tables' sizes (an older pgrunbook), so whether they have changed is unknown";
  const r = await db.query<{ oid: string; rows: number | null; bytes: number }>(sqlText(SQL, 'rehearsal-table-sizes'), [
    tables.map((t) => t.oid),
  ]);
  const now = new Map(r.rows.map((x) => [Number(x.oid), x]));
  const limit = `more than the ${Math.round(PROJECTION_SIZE_TOLERANCE * 100)}% a projection tolerates`;
  for (const t of tables) {
    const cur = now.get(t.oid);
    if (!cur) return `${t.table} no longer exists`;
    if (t.rows !== null && cur.rows !== null && changed(t.rows, cur.rows))
      return `${t.table} has ${fmt(cur.rows)} rows now against ${fmt(t.rows)} then (${pct(t.rows, cur.rows)}, ${limit})`;
    if (changed(t.bytes, cur.bytes))
      return `${t.table} takes ${fmtBytes(cur.bytes)} now against ${fmtBytes(t.bytes)} then (${pct(t.bytes, cur.bytes)}, ${limit})`;
  }
  return undefined;
}

/** The touched tables' sizes as the rehearsal's clone read them from the source. */
export function sourceTableSizes(
  tables: { table: string; oid: number; sourceRows: number | null; sourceBytes: number }[],
): SourceTableSize[] {
  return tables.map((t) => ({ table: t.table, oid: t.oid, rows: t.sourceRows, bytes: t.sourceBytes }));
}

/**
 * The newest stored rehearsal of this runbook and variables, or undefined when there is none (or
 * the table is not there, or this role may not read it: plan never fails for want of one).
 */
export async function latestRehearsal(db: Queryable, runbook: Runbook): Promise<StoredRehearsal | undefined> {
  try {
    const present = await db.query<{ present: boolean }>(sqlText(SQL, 'rehearsals-present'));
    if (!present.rows[0]?.present) return undefined;
    const r = await db.query<{
      rehearsed_at: Date;
      age_s: number;
      sample_pct: number;
      sandbox: string;
      projection: RehearsalProjection;
      source_tables: SourceTableSize[] | null;
    }>(sqlText(SQL, 'rehearsal-latest'), [runbookKey(runbook)]);
    const row = r.rows[0];
    if (!row) return undefined;
    const expired = await whyExpired(db, Number(row.age_s), row.source_tables);
    return {
      at: row.rehearsed_at.toISOString(),
      samplePct: Number(row.sample_pct),
      sandbox: row.sandbox,
      projection: row.projection,
      ...(expired ? { expired } : {}),
    };
  } catch {
    return undefined;
  }
}

/** "projected by the rehearsal of 2026-12-06 10:02 UTC on a 1% sample" */
export function rehearsalText(r: RehearsalSource): string {
  const when = `${r.at.slice(0, 16).replace('T', ' ')} UTC`;
  return `projected by the rehearsal of ${when} on a ${r.samplePct}% sample`;
}

/**
 * Replaces each deploy step's estimate with the rehearsal's projection of it; the size-based
 * estimate stays in the step's notes for comparison. Returns whether every deploy step was projected.
 */
export function applyRehearsal(steps: PlanStep[], stored: StoredRehearsal): boolean {
  let all = true;
  for (const s of steps.filter((x) => x.phase === 'deploy')) {
    const p = stored.projection.steps.find((x) => x.id === s.id);
    if (!p) {
      all = false;
      s.notes.push(`${rehearsalText(stored).replace('projected by ', '')} has no figure for this step: the estimate is size-based`);
      continue;
    }
    if (s.estimate) s.notes.push(`size-based estimate: ${estimateText(s.estimate)} (${s.estimate.basis})`);
    const projected: Estimate = {
      seconds: p.seconds,
      low: p.low_seconds,
      high: p.high_seconds,
      basis: `${rehearsalText(stored)}: the sandbox's time scaled to this database by ${BASIS_WORDS[p.basis] ?? p.basis}`,
    };
    s.estimate = projected;
  }
  return all;
}

const BASIS_WORDS: Record<string, string> = {
  rows: 'rows',
  rewrite: 'table size (a rewrite)',
  scan: 'table size (a scan)',
  'index-build': 'rows, n·log n for the sort',
  constant: 'nothing (it does not grow with the table)',
};
