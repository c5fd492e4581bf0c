// Which gate a step gets, and what a `type` gate asks the operator to type.
import { splitQualified } from '../pg/connection.js';
import type { GateLevel, StepSpec } from '../runbook/model.js';
import type { StepKind, StepPlan } from './step-kind.js';

/** Explicit gate from the runbook, else the kind's default, else from the plan (DESIGN §4). */
export function gateLevel(step: StepSpec, kind: StepKind, plan: StepPlan): GateLevel {
  if (step.gate) return step.gate;
  const level = defaultLevel(step, kind, plan);
  // A step that asks for approvers gets a gate to hang them on.
  return level === 'none' && (step.approvers ?? 0) > 0 ? 'confirm' : level;
}

function defaultLevel(step: StepSpec, kind: StepKind, plan: StepPlan): GateLevel {
  if (kind.defaultGate) return kind.defaultGate(step, plan);
  if (!plan.reversible) return 'type';
  if (plan.locks.some((l) => l.mode === 'AccessExclusiveLock')) return 'confirm';
  return 'none';
}

/** What the operator types at a `type` gate: the bare table name, not its quoted form. */
export function typedName(relation: string): string {
  const parts = splitQualified(relation.trim());
  if (parts.length === 2 && parts[0] === 'public') parts.shift();
  return parts.join('.');
}
