// The plan condensed into gate evidence, for the gate `run` shows before the deploy phase.
import type { Evidence } from '../../engine/gates.js';
import { strongestOf } from '../locks.js';
import { estimateText, fmtDuration } from './estimate.js';
import type { Plan } from './plan-types.js';

export function planEvidence(plan: Plan): Evidence[] {
  const deploy = plan.steps.filter((s) => s.phase === 'deploy');
  const warnings = [...plan.warnings, ...plan.steps.flatMap((s) => s.warnings)];
  const errors = warnings.filter((w) => w.severity === 'error');
  const strongest = strongestOf(deploy.flatMap((s) => s.locks));
  const irreversible = deploy.filter((s) => !s.reversible);
  const oldest = plan.server.longTransactions[0];
  const out: Evidence[] = [
    { label: 'deploy steps', value: deploy.length },
    {
      label: plan.rehearsal?.allSteps ? 'projected deploy time' : 'estimated deploy time',
      value: plan.deployEstimate ? estimateText(plan.deployEstimate) : 'unknown',
      detail: plan.deployEstimate?.basis,
    },
    { label: 'strongest lock', value: strongest ?? 'none', ok: strongest !== 'AccessExclusiveLock' ? true : undefined },
    {
      label: 'irreversible deploy steps',
      value: irreversible.map((s) => s.id).join(', ') || 'none',
      ok: irreversible.length === 0 ? true : undefined,
    },
    { label: 'plan errors', value: errors.length, ok: errors.length === 0, ...(errors[0] ? { detail: errors[0].message } : {}) },
    { label: 'plan warnings', value: warnings.filter((w) => w.severity === 'warning').length },
    {
      label: 'transactions open > 1 min',
      value: plan.server.longTransactions.length,
      ok: plan.server.longTransactions.length === 0,
      ...(oldest ? { detail: `oldest: pid ${oldest.pid}, ${fmtDuration(oldest.xactSeconds)}` } : {}),
    },
  ];
  if (plan.server.inRecovery) out.push({ label: 'target is a standby', value: true, ok: false });
  return out;
}
