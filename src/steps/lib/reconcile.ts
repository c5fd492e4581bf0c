// Reconcile helpers for kinds whose effect is nothing or is recorded in ctx.state.
import type { ReconcileResult, StepContext } from '../../engine/step-kind.js';

/** Read-only and waiting steps change nothing: after a crash, run them again. */
export async function rerunIsHarmless(): Promise<ReconcileResult> {
  return { found: 'not-done', detail: 'the step changes nothing, so running it again is harmless' };
}

/** Done when apply recorded `key` in the step state before the process stopped. */
export function doneWhenStateHas(key: string) {
  return async (_step: unknown, ctx: StepContext): Promise<ReconcileResult> => {
    const st = await ctx.state.get<Record<string, unknown>>();
    return st?.[key] != null
      ? { found: 'done', detail: `already recorded: ${key} = ${String(st[key])}` }
      : { found: 'not-done', detail: `nothing recorded yet (${key})` };
  };
}
