// The run's plan, told once before anything runs (`run.plan`): every step of the chosen phases with
// its gate, locks and statements. A pending step whose table does not exist stops the run here.
import { RunbookError } from '../util/runbook-error.js';
import { createdByEarlierStep, stepsBefore } from '../runbook/created-tables.js';
import { PHASES, type PhaseName, type StepSpec } from '../runbook/model.js';
import type { EventOf } from './events.js';
import { gateLevel } from './gate-level.js';
import { undoPlan } from './rollback-phase.js';
import type { RunScope } from './run-scope.js';
import { planFor } from './run-step.js';

export async function emitPlanSummary(scope: RunScope, phases: PhaseName[]): Promise<void> {
  const steps: EventOf<'run.plan'>['steps'] = [];
  if (phases.includes('rollback')) steps.push(...(await undoPlan(scope)));
  for (const phase of PHASES.filter((p) => phases.includes(p))) {
    for (const step of scope.opts.runbook.phases[phase]) {
      const kind = scope.kind(step.kind);
      const plan = await planFor(scope, kind, step).catch((err) => stopOnMissingTable(scope, phase, step, err));
      steps.push({
        phase,
        id: step.id,
        kind: step.kind,
        title: step.title ?? step.id,
        gate: plan ? gateLevel(step, kind, plan) : (step.gate ?? 'confirm'),
        reversible: plan?.reversible ?? false,
        detail: { why: step.why, statements: plan?.statements.map((x) => x.sql), locks: plan?.locks, notes: plan?.notes },
      });
    }
  }
  scope.bus.emit({ type: 'run.plan', steps });
}

/**
 * A pending step whose table does not exist (and that no earlier step creates) fails the run
 * here, before any gate: a typo or the wrong database, not something to find out mid-deploy.
 */
function stopOnMissingTable(scope: RunScope, phase: PhaseName, step: StepSpec, err: unknown): undefined {
  const e = err as RunbookError;
  const done = ['completed', 'skipped'].includes(scope.session.stepRow(phase, step.id)?.status ?? '');
  const all = PHASES.flatMap((p) => scope.opts.runbook.phases[p]);
  const table = String((step.params as { table?: unknown })?.table ?? '');
  if (e?.sqlstate !== '42P01' || done || createdByEarlierStep(table, stepsBefore(all, step))) return undefined;
  throw new RunbookError(`step ${step.id}: ${e.message}`, {
    hint: `${e.hint ?? ''}; nothing was changed`.replace(/^; /, ''),
    sqlstate: '42P01',
    exitCode: 2,
  });
}
