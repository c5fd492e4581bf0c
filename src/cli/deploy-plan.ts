// The deploy plan `run` shows behind a gate: the analyzer's size-aware plan, condensed.
import type { DeployPlan, RunnerOptions } from '../engine/runner.js';
import { STEP_KINDS } from './composition-root.js';
import { buildPlan } from '../analyze/plan/build.js';
import { planEvidence } from '../analyze/plan/evidence.js';
import { estimateText } from '../analyze/plan/estimate.js';
import { planPlain } from '../analyze/plan/plan-text.js';
import { strongestOf } from '../analyze/locks.js';

export const analyzerDeployPlan: NonNullable<RunnerOptions['deployPlan']> = async ({
  pool,
  runbook,
  serverVersionNum,
}): Promise<DeployPlan> => {
  const plan = await buildPlan({ runbook, kinds: STEP_KINDS, pool, serverVersionNum, phases: ['deploy'] });
  const deploy = plan.steps.filter((s) => s.phase === 'deploy');
  const strongest = strongestOf(deploy.flatMap((s) => s.locks));
  const summary =
    `${deploy.length} deploy step${deploy.length === 1 ? '' : 's'}` +
    `, ${plan.rehearsal?.allSteps ? 'projected' : 'estimated'} ${plan.deployEstimate ? estimateText(plan.deployEstimate) : 'unknown'}` +
    ((plan.rehearsal || plan.rehearsalSetAside) && plan.deployEstimate ? ` (${plan.deployEstimate.basis})` : '') +
    `, strongest lock ${strongest ?? 'none'}`;
  return { summary, lines: planPlain(plan).split('\n'), evidence: planEvidence(plan) };
};
