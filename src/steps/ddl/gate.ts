// Default gate levels (DESIGN §3/issue 2): `type` for irreversible or destructive steps,
// `confirm` for steps that take ACCESS EXCLUSIVE, otherwise none.
import type { GateLevel } from '../../runbook/model.js';
import type { StepPlan } from '../../engine/step-kind.js';

export function gateFromPlan(plan: StepPlan): GateLevel {
  if (!plan.reversible) return 'type';
  if (plan.locks.some((l) => l.mode === 'AccessExclusiveLock')) return 'confirm';
  return 'none';
}
