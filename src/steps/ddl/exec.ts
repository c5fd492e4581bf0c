// Runs generated DDL through the lock-safe executor with the step's settings.
import type { StepContext } from '../../engine/step-kind.js';
import type { ExecOptions, StatementResult } from '../../pg/executor.js';

export function execOptions(ctx: StepContext, over: Partial<ExecOptions> = {}): ExecOptions {
  const s = ctx.step.settings;
  return {
    stepId: ctx.step.id,
    lockTimeoutMs: s.lockTimeoutMs,
    statementTimeoutMs: s.statementTimeoutMs,
    retries: s.ddlRetries,
    signal: ctx.signal,
    ...over,
  };
}

/** One generated statement (or a `;`-joined transactional group) as a single unit. */
export function runDdl(
  ctx: StepContext,
  sql: string,
  opts: { transactional?: boolean } & Partial<ExecOptions> = {},
): Promise<StatementResult[]> {
  const { transactional = true, ...rest } = opts;
  return ctx.executor.run(sql, execOptions(ctx, { transactional, ...rest }));
}

export function log(ctx: StepContext, message: string, level: 'info' | 'warn' | 'error' = 'info'): void {
  ctx.emit({ type: 'step.log', stepId: ctx.step.id, level, message });
}

/** Merges this step's persisted state with `patch` (state survives crashes; rollback reads it). */
export async function patchState(ctx: StepContext, patch: Record<string, unknown>): Promise<Record<string, unknown>> {
  const cur = (await ctx.state.get<Record<string, unknown>>()) ?? {};
  const next = { ...cur, ...patch };
  await ctx.state.set(next);
  return next;
}
