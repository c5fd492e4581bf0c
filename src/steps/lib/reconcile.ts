// Reconcile helpers for kinds whose effect is nothing, is recorded in ctx.state, or is a batch walk's cursor.
import type { ReconcileResult, StepContext } from '../../engine/step-kind.js';
import { describeCursor, readCursor } from '../../backfill/cursor-store.js';
import { describeSavedWalk } from '../../backfill/range-store.js';

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

/** Done when the step's batch cursor says its walk finished; `notStarted` says what a missing cursor means. */
export function doneWhenCursorDone(notStarted: string) {
  return async (step: { id: string }, ctx: StepContext): Promise<ReconcileResult> => {
    const cur = await readCursor(ctx.pool, ctx.runId, step.id);
    if (!cur) return { found: 'not-done', detail: notStarted };
    if (cur.pass === 'done') return { found: 'done', detail: describeCursor(cur) };
    return { found: 'not-done', detail: `${await describeSavedWalk(ctx.pool, cur)}; apply resumes from it` };
  };
}
