// The step-level `rollback:` SQL, for kinds whose own effect needs no undoing (check, wait).
import type { StepSpec } from '../../runbook/model.js';
import type { StepContext } from '../../engine/step-kind.js';

export async function runRollbackSql(step: StepSpec, ctx: StepContext): Promise<void> {
  if (!step.rollback) return;
  await ctx.executor.run(step.rollback, {
    stepId: ctx.step.id,
    lockTimeoutMs: step.settings.lockTimeoutMs,
    statementTimeoutMs: step.settings.statementTimeoutMs,
    retries: step.settings.ddlRetries,
    signal: ctx.signal,
  });
}
