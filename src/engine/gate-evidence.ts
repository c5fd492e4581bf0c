// The runner's own gates and what they show: a step's gate (its plan, the kind's evidence, who
// holds locks on its tables now) and the deploy plan's gate before the deploy phase. A gate that
// is not approved stops the run with what to do next; nothing of that step has run.
import { RunbookError } from '../util/runbook-error.js';
import { LOCK_STRENGTH } from '../pg/lock-modes.js';
import type { GateLevel, StepSpec } from '../runbook/model.js';
import { typedName } from './gate-level.js';
import { approversFor, type Evidence, type GateRequest } from './gates.js';
import type { RunScope } from './run-scope.js';
import type { StepContext, StepKind, StepPlan } from './step-kind.js';

/** Asks the gate of one step (or undo step) and throws unless it is approved. */
export async function stepGate(
  scope: RunScope,
  level: Exclude<GateLevel, 'none'>,
  step: StepSpec,
  kind: StepKind,
  ctx: StepContext,
  plan?: StepPlan,
): Promise<void> {
  const evidence: Evidence[] = [];
  if (kind.verify && plan) {
    evidence.push(...(await kind.verify(step, ctx).catch((e: Error) => [{ label: 'evidence unavailable', value: e.message }])));
  }
  const strongest = plan?.locks.slice().sort((a, b) => LOCK_STRENGTH[b.mode] - LOCK_STRENGTH[a.mode])[0];
  if (plan?.locks.length)
    evidence.push(
      ...(await blockersNow(
        scope,
        plan.locks.map((l) => l.relation),
      )),
    );
  const req: GateRequest = {
    id: `${step.id}:gate`,
    stepId: step.id,
    level,
    title: step.title ?? step.id,
    action: plan ? describePlan(plan) : `undo what deploy step ${step.id.replace(/^undo:/, '')} did`,
    lockMode: strongest?.mode,
    expectText: level === 'type' ? typedName(strongest?.relation ?? step.id) : undefined,
    evidence,
  };
  const approvers = approversFor(step, scope.opts.runbook, level, !plan);
  if (approvers > 0) req.approvers = approvers;
  const decision = await scope.gates.request(req, scope.signal);
  if (!decision.approved) {
    throw new RunbookError(`gate for step ${step.id} was not approved${decision.reason ? `: ${decision.reason}` : ''}`, {
      hint: `nothing was changed by ${step.id}; run \`pgrunbook resume ${scope.runId}\` to continue from this step`,
    });
  }
}

/** The size-aware plan of the deploy phase, shown and approved before any deploy step runs. */
export async function deployPlanGate(scope: RunScope): Promise<void> {
  const { opts, session } = scope;
  const pending = opts.runbook.phases.deploy.filter(
    (s) => !['completed', 'skipped'].includes(session.stepRow('deploy', s.id)?.status ?? ''),
  );
  if (!opts.deployPlan || pending.length === 0) return;
  const plan = await opts.deployPlan({ pool: session.pool, runbook: opts.runbook, serverVersionNum: session.serverVersionNum });
  scope.bus.emit({ type: 'phase.plan', phase: 'deploy', summary: plan.summary, lines: plan.lines });
  const decision = await scope.gates.request(
    {
      id: 'deploy:plan',
      stepId: 'deploy',
      level: 'confirm',
      title: 'Start the deploy phase',
      action: plan.summary,
      evidence: plan.evidence,
    },
    scope.signal,
  );
  if (!decision.approved) {
    throw new RunbookError(`the deploy plan was not approved${decision.reason ? `: ${decision.reason}` : ''}`, {
      hint: `nothing in the deploy phase ran; review it with \`pgrunbook plan\`, then \`pgrunbook resume ${scope.runId}\``,
    });
  }
}

async function blockersNow(scope: RunScope, relations: string[]): Promise<Evidence[]> {
  const probe = scope.opts.blockersNow;
  return probe ? probe(scope.session.pool, relations).catch(() => []) : [];
}

function describePlan(plan: StepPlan): string {
  const first = plan.statements[0]?.description ?? plan.statements[0]?.sql.split('\n')[0];
  const more = plan.statements.length > 1 ? ` (+${plan.statements.length - 1} more statements)` : '';
  const undo = plan.reversible ? '' : ` Irreversible${plan.irreversibleReason ? `: ${plan.irreversibleReason}` : ''}.`;
  return `${first ?? 'run the step'}${more}.${undo}`;
}
