// The kinds that walk a table in batches (backfill, batched_delete, change_column, swap_table)
// run the backfill engine with the step's own context; this wires one to the other.
import type { StepContext } from '../../engine/step-kind.js';
import { type BackfillResult, runBackfill } from '../../backfill/engine.js';
import type { BackfillConfig } from '../../backfill/params.js';

export function runStepBackfill(ctx: StepContext, cfg: BackfillConfig): Promise<BackfillResult> {
  return runBackfill({
    pool: ctx.pool,
    runId: ctx.runId,
    stepId: ctx.step.id,
    cfg,
    clock: ctx.clock,
    signal: ctx.signal,
    control: ctx.control,
    emit: (b) => ctx.emit(b),
    ...(ctx.host ? { host: ctx.host } : {}),
  });
}
