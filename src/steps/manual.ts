// manual: instructions plus a checklist the operator works through outside pgrunbook. The step
// asks for confirmation through the gate port itself (level confirm, the checklist as evidence);
// in a non-interactive run the policy decides (--yes). When the runbook sets `gate:` on the step,
// the runner asks before the step (with the checklist from verify()) and the step does not ask
// again; `gate: none` makes it informational.
//   manual:
//     instructions: Announce the deploy in #ops and pause the nightly export job.
//     checklist: [Deploy announced, Export job paused]
import { z } from 'zod';
import { RunbookError } from '../util/runbook-error.js';
import type { Evidence } from '../engine/gates.js';
import type { StepKind } from '../engine/step-kind.js';
import { doneWhenStateHas } from './lib/reconcile.js';

export interface ManualParams {
  instructions: string;
  checklist: string[];
}

const manualObject = z.strictObject({
  instructions: z.string().trim().min(1).describe('What the operator does, in plain words.'),
  checklist: z.array(z.string().trim().min(1)).optional().describe('Items the operator confirms.'),
});

const schema = z
  .union([manualObject, z.string().trim().min(1)])
  .describe('Instructions (text), or {instructions, checklist}.')
  .transform(
    (v): ManualParams =>
      typeof v === 'string' ? { instructions: v, checklist: [] } : { instructions: v.instructions, checklist: v.checklist ?? [] },
  );

function checklistEvidence(p: ManualParams, done: boolean): Evidence[] {
  return p.checklist.map((item) => ({ label: item, value: done, ...(done ? { ok: true } : {}) }));
}

export const manualKind: StepKind<ManualParams> = {
  kind: 'manual',
  schema,

  defaultGate() {
    return 'none'; // the step asks itself, after showing the instructions
  },

  plan(step) {
    return {
      statements: [],
      locks: [],
      reversible: true,
      notes: [
        `operator: ${step.params.instructions.split('\n')[0]}`,
        ...step.params.checklist.map((c) => `[ ] ${c}`),
        'what the operator does happens outside pgrunbook: undo it by hand (a manual step in the rollback phase)',
      ],
    };
  },

  async apply(step, ctx) {
    const p = step.params;
    ctx.emit({ type: 'step.log', stepId: step.id, level: 'info', message: p.instructions });
    if (step.gate !== undefined) {
      // The runner already asked (or gate: none): nothing more to confirm here.
      return { confirmedBy: step.gate === 'none' ? null : 'step gate', checklist: p.checklist };
    }
    const decision = await ctx.gates.request(
      {
        id: `${step.id}:manual`,
        stepId: step.id,
        level: 'confirm',
        title: step.title ?? `Manual step ${step.id}`,
        action: p.instructions,
        evidence: checklistEvidence(p, false),
      },
      ctx.signal,
    );
    if (!decision.approved) {
      throw new RunbookError(`manual step not confirmed${decision.reason ? `: ${decision.reason}` : ''}`, {
        hint: 'do what the instructions say, then resume the run and confirm',
      });
    }
    await ctx.state.set({ confirmedBy: decision.by });
    if (p.checklist.length) ctx.emit({ type: 'step.evidence', stepId: step.id, evidence: checklistEvidence(p, true) });
    return { confirmedBy: decision.by, checklist: p.checklist };
  },

  /** Before apply: the checklist still to do; after: the items as confirmed. */
  async verify(step, ctx) {
    const s = await ctx.state.get<{ confirmedBy?: string }>().catch(() => undefined);
    return checklistEvidence(step.params, !!s?.confirmedBy);
  },
  reconcile: doneWhenStateHas('confirmedBy'),
};
