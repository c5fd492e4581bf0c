// The rollback phase: undo, newest first, the deploy steps of this run (or of the runbook's latest
// run) that took effect or may have, then run the runbook's own rollback steps.
import type { StepSpec } from '../runbook/model.js';
import type { EventOf } from './events.js';
import type { RunScope } from './run-scope.js';
import { runStep } from './run-step.js';
import * as store from './state-store.js';

interface UndoTarget {
  run: store.RunRow;
  /** Its deploy steps that took effect or may have, newest first. */
  rows: store.StepRow[];
}

/** The run a rollback undoes and its deploy steps that took effect (or may have), newest first. */
async function undoTarget(scope: RunScope): Promise<UndoTarget | undefined> {
  const pool = scope.session.pool;
  const target = await store.runToRollBack(pool, scope.runId, scope.opts.runbook.name);
  const run = target ? await store.getRun(pool, target) : undefined;
  if (!run) return undefined;
  const rows = (await store.stepRows(pool, run.run_id))
    .filter((r) => r.phase === 'deploy' && ['completed', 'running', 'failed'].includes(r.status))
    .sort((a, b) => +b.started_at - +a.started_at);
  return { run, rows };
}

/** The undo steps of the rollback phase, for the plan summary (they exist only once the target is known). */
export async function undoPlan(scope: RunScope): Promise<EventOf<'run.plan'>['steps']> {
  const t = await undoTarget(scope);
  return (t?.rows ?? []).flatMap((row) => {
    const spec = scope.opts.runbook.phases.deploy.find((s) => s.id === row.step_id);
    if (!spec) return [];
    return [
      {
        phase: 'rollback' as const,
        id: `undo:${spec.id}`,
        kind: spec.kind,
        title: `Undo ${spec.id}`,
        gate: spec.gate === 'none' ? ('none' as const) : ('confirm' as const),
        reversible: false,
        detail: { why: `undoes ${spec.id} of run ${t!.run.run_id}` },
      },
    ];
  });
}

export async function runRollbackPhase(scope: RunScope): Promise<void> {
  const { runbook } = scope.opts;
  const t = await undoTarget(scope);
  if (t) {
    const when = new Date(t.run.started_at).toISOString().replace('T', ' ').slice(0, 16);
    scope.bus.emit({
      type: 'step.log',
      stepId: '-',
      level: 'info',
      message: `undoing run ${t.run.run_id} (started ${when}Z by ${t.run.os_user}@${t.run.host}): ${t.rows.map((r) => r.step_id).join(', ') || 'no steps'}, newest first`,
    });
    for (const row of t.rows) await undoDeployStep(scope, t.run.run_id, row.step_id);
  } else {
    scope.bus.emit({
      type: 'step.log',
      stepId: '-',
      level: 'info',
      message: `no deploy steps of "${runbook.name}" recorded in this database to undo`,
    });
  }
  for (const step of runbook.phases.rollback) await runStep(scope, 'rollback', step);
}

/** Undoes one deploy step of `target`, when the runbook still has it and it can be undone. */
async function undoDeployStep(scope: RunScope, target: string, stepId: string): Promise<void> {
  const spec = scope.opts.runbook.phases.deploy.find((s) => s.id === stepId);
  if (!spec) {
    scope.bus.emit({
      type: 'step.log',
      stepId,
      level: 'warn',
      message: `deploy step ${stepId} is no longer in the runbook; cannot undo it`,
    });
    return;
  }
  const kind = scope.kind(spec.kind);
  if (!kind.rollback && !spec.rollback) {
    scope.bus.emit({ type: 'step.log', stepId: spec.id, level: 'warn', message: `${spec.id} (${spec.kind}) has no rollback; left as is` });
    return;
  }
  const undoSpec: StepSpec = {
    ...spec,
    id: `undo:${spec.id}`,
    phase: 'rollback',
    title: `Undo ${spec.id}`,
    gate: spec.gate === 'none' ? 'none' : undefined,
  };
  await runStep(scope, 'rollback', undoSpec, { kind, spec, stateRunId: target });
  const pool = scope.session.pool;
  await store.markStep(pool, target, 'deploy', spec.id, 'rolled_back');
  // Recorded on the undo step so `status` and `report` can name the run this one undid.
  await store.markStep(pool, scope.runId, 'rollback', undoSpec.id, 'completed', { result: { undoes: target } });
}
