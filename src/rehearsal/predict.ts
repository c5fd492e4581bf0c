// What the plan says each deploy step will lock, to hold against what the trace saw.
import { LOCK_STRENGTH, type LockMode, type Queryable, type StepPlan } from '../steps/types.js';
import type { Runbook } from '../runbook/model.js';
import { normRel } from './names.js';
import { planOf } from './tables.js';
import type { LockComparison, ObservedLock, PredictedLocks } from './types.js';

export async function deployPlans(runbook: Runbook, db: Queryable | undefined, serverVersionNum?: number): Promise<Map<string, StepPlan | undefined>> {
  const plans = new Map<string, StepPlan | undefined>();
  for (const step of runbook.phases.deploy) plans.set(step.id, await planOf(step, runbook, db, serverVersionNum));
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
    rows.push({ relation: o.relation, mode: o.mode, predicted: pred.some((p) => p.relation === o.relation && p.mode === o.mode), observed: true, mismatch: covered || !predicted ? null : 'unpredicted' });
  }
  for (const p of pred) {
    if (rows.some((r) => r.relation === p.relation && r.mode === p.mode)) continue;
    const seen = held.some((o) => o.relation === p.relation && strength(o.mode) >= strength(p.mode));
    rows.push({ relation: p.relation, mode: p.mode, predicted: true, observed: seen, mismatch: seen ? null : 'not-observed' });
  }
  return rows.sort((a, b) => a.relation.localeCompare(b.relation) || strength(b.mode) - strength(a.mode));
}
