// A rehearsal's projection in place of the size-based estimate. `pgrunbook rehearse` (and the
// `rehearse` step) store each completed rehearsal in the source database's `pgrunbook` schema,
// keyed by a hash of the runbook text and its variables; plan and the deploy gate look the newest
// one up here. Any change to the text or a variable changes the key, so an edited runbook falls
// back to the size-based estimate instead of showing a projection of something else.
import { createHash } from 'node:crypto';
import type { RehearsalProjection } from '../../engine/events.js';
import type { Queryable } from '../../pg/queryable.js';
import { sqlText } from '../../pg/sql-files.js';
import type { Runbook } from '../../runbook/model.js';
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
}

/**
 * The newest stored rehearsal of this runbook and variables, or undefined when there is none (or
 * the table is not there, or this role may not read it: plan never fails for want of one).
 */
export async function latestRehearsal(db: Queryable, runbook: Runbook): Promise<StoredRehearsal | undefined> {
  try {
    const present = await db.query<{ present: boolean }>(sqlText(SQL, 'rehearsals-present'));
    if (!present.rows[0]?.present) return undefined;
    const r = await db.query<{ rehearsed_at: Date; sample_pct: number; sandbox: string; projection: RehearsalProjection }>(
      sqlText(SQL, 'rehearsal-latest'),
      [runbookKey(runbook)],
    );
    const row = r.rows[0];
    if (!row) return undefined;
    return { at: row.rehearsed_at.toISOString(), samplePct: Number(row.sample_pct), sandbox: row.sandbox, projection: row.projection };
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
      s.notes.push(`the ${rehearsalText(stored).replace('projected by ', '')} has no figure for this step: the estimate is size-based`);
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
