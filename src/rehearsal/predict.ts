// What the plan says each deploy step will lock, to hold against what the trace saw.
import { analyzeSql } from '../analyze/analyze-statements.js';
import { SchemaState } from '../analyze/schema-state.js';
import type { StatementAnalysis, WorkKind } from '../analyze/analysis-types.js';
import { LiveCatalog } from '../analyze/live-catalog.js';
import { LOCK_STRENGTH, type LockMode } from '../pg/lock-modes.js';
import type { Queryable } from '../pg/queryable.js';
import type { StepKinds, StepPlan } from '../engine/step-kind.js';
import type { Runbook } from '../runbook/model.js';
import { normRel } from './relation-names.js';
import { planOf } from './tables.js';
import type { LockComparison, ObservedLock, PredictedLocks } from './rehearsal-types.js';

export async function deployPlans(
  kinds: StepKinds,
  runbook: Runbook,
  db: Queryable | undefined,
  serverVersionNum?: number,
): Promise<Map<string, StepPlan | undefined>> {
  const plans = new Map<string, StepPlan | undefined>();
  for (const step of runbook.phases.deploy) plans.set(step.id, await planOf(kinds, step, runbook, db, serverVersionNum));
  return plans;
}

export function predictionsFromPlans(plans: Map<string, StepPlan | undefined>): Map<string, PredictedLocks | null> {
  const out = new Map<string, PredictedLocks | null>();
  for (const [id, plan] of plans) {
    if (!plan) {
      out.set(id, null);
      continue;
    }
    const notes = plan.notes.join(' ').toLowerCase();
    out.set(id, {
      stepId: id,
      locks: plan.locks.map((l) => ({ relation: normRel(l.relation), mode: l.mode })),
      source: 'plan',
      rewrite: /\brewrit/.test(notes) ? !/\bno (table )?rewrite/.test(notes) : null,
      tableScan: /\bscan/.test(notes) ? !/\bno (full )?(table )?scan/.test(notes) : null,
      work: null,
    });
  }
  return out;
}

const WORK_RANK: WorkKind[] = ['none', 'catalog', 'unknown', 'rows', 'scan', 'index-build', 'rewrite'];

/**
 * `analyze` on each step's planned SQL, against the sandbox's catalog before the deploy, carrying
 * each statement's effect into the next (a later step sees the column an earlier one added). Where
 * the analyzer cannot read a step's SQL the step's own plan locks stand.
 */
export async function predictLocks(
  plans: Map<string, StepPlan | undefined>,
  db: Queryable,
  serverVersionNum: number,
): Promise<Map<string, PredictedLocks | null>> {
  const out = predictionsFromPlans(plans);
  const catalog = new LiveCatalog(db);
  const state = new SchemaState(catalog);
  for (const [id, plan] of plans) {
    const sql = (plan?.statements ?? []).map((s) => s.sql.trim().replace(/;\s*$/, '')).filter(Boolean);
    if (!plan || sql.length === 0) continue;
    let statements: StatementAnalysis[];
    try {
      statements = (
        await analyzeSql(sql.join(';\n') + ';', {
          catalog,
          state,
          serverVersionNum,
          versionSource: 'server',
          lockTimeout: true,
          squawk: false,
        })
      ).statements;
    } catch {
      continue; // e.g. a backfill batch with $n parameters: its plan's locks stand
    }
    if (statements.length === 0) continue;
    // The step's own plan is a prediction too (the analyzer may not see through generated SQL).
    const locks = new Map<string, { relation: string; mode: string }>(
      (out.get(id)?.locks ?? []).map((l) => [`${l.relation}|${l.mode}`, l]),
    );
    for (const st of statements) {
      for (const l of st.locks) {
        if (l.relkind && l.relkind !== 'table' && l.relkind !== 'partitioned table' && l.relkind !== 'materialized view') continue;
        const rel = normRel(l.relation);
        locks.set(`${rel}|${l.mode}`, { relation: rel, mode: l.mode });
      }
    }
    const work = statements.map((st) => st.work).sort((a, b) => WORK_RANK.indexOf(b) - WORK_RANK.indexOf(a))[0] ?? null;
    out.set(id, {
      stepId: id,
      locks: [...locks.values()],
      source: 'analyze',
      rewrite: statements.some((st) => st.rewrite),
      tableScan: statements.some((st) => st.tableScan),
      work,
    });
  }
  return out;
}

const strength = (m: string) => LOCK_STRENGTH[m as LockMode] ?? 0;

/**
 * Observed vs predicted, per relation and mode. An observed lock is covered when the prediction
 * has the same or a stronger mode on that relation (a stronger lock subsumes the weaker ones a
 * statement also takes); a predicted lock is confirmed when that mode or a stronger one was seen.
 */
export function compareLocks(observed: ObservedLock[], predicted: PredictedLocks | null): LockComparison[] {
  const held = observed.filter((o) => o.granted || o.waitedMs > 0);
  const pred = predicted?.locks ?? [];
  const rows: LockComparison[] = [];
  for (const o of held) {
    const covered = pred.some((p) => p.relation === o.relation && strength(p.mode) >= strength(o.mode));
    rows.push({
      relation: o.relation,
      mode: o.mode,
      predicted: pred.some((p) => p.relation === o.relation && p.mode === o.mode),
      observed: true,
      mismatch: covered || !predicted ? null : 'unpredicted',
    });
  }
  for (const p of pred) {
    if (rows.some((r) => r.relation === p.relation && r.mode === p.mode)) continue;
    const seen = held.some((o) => o.relation === p.relation && strength(o.mode) >= strength(p.mode));
    rows.push({ relation: p.relation, mode: p.mode, predicted: true, observed: seen, mismatch: seen ? null : 'not-observed' });
  }
  return rows.sort((a, b) => a.relation.localeCompare(b.relation) || strength(b.mode) - strength(a.mode));
}
