// The step state machine: one step (or undo step) from pending to completed, failed or skipped,
// with every transition written to pgrunbook.step_states and told on the bus. A step left running
// or failed by an earlier session is reconciled first: by its kind, or by the operator.
import { RunbookError, isAbort } from '../util/runbook-error.js';
import type { GateLevel, PhaseName, StepSpec } from '../runbook/model.js';
import { stepGate } from './gate-evidence.js';
import { gateLevel } from './gate-level.js';
import { retryRecord } from './record-retry.js';
import { stopReason, throwIfStopped, type RunScope } from './run-scope.js';
import * as store from './state-store.js';
import type { StepContext, StepKind, StepPlan, StepState } from './step-kind.js';

/** How long a completed step waits for the journal before the run goes on (the journal keeps retrying). */
const STEP_JOURNAL_WAIT_MS = 5_000;

/** An undo step: the kind and spec of the deploy step it undoes, and the run whose state that step wrote. */
export interface UndoOf {
  kind: StepKind;
  spec: StepSpec;
  stateRunId: string;
}

export function planFor(scope: RunScope, kind: StepKind, step: StepSpec): Promise<StepPlan> {
  const { session, opts } = scope;
  return Promise.resolve(kind.plan(step, { db: session.pool, serverVersionNum: session.serverVersionNum, runbook: opts.runbook }));
}

export async function runStep(scope: RunScope, phase: PhaseName, step: StepSpec, undo?: UndoOf): Promise<void> {
  const prior = scope.session.stepRow(phase, step.id);
  const kind = undo ? undo.kind : scope.kind(step.kind);
  if (prior?.status === 'completed' || prior?.status === 'skipped') {
    scope.bus.emit({ type: 'step.skipped', phase, stepId: step.id, reason: `already ${prior.status} in this run` });
    return;
  }
  await scope.control.waitWhilePaused(scope.signal);
  throwIfStopped(scope);
  const ctx = contextFor(scope, step, undo?.stateRunId ?? scope.runId, undo ? 'deploy' : phase, undo?.spec.id);

  if (prior && !undo && (prior.status === 'running' || prior.status === 'failed')) {
    if (await reconcile(scope, phase, step, kind, ctx, prior)) return;
  }

  // Planned again here, not reused from the summary: earlier steps change what this one sees.
  const plan = undo ? undefined : await planFor(scope, kind, step);
  const level: GateLevel = undo ? (step.gate ?? 'confirm') : gateLevel(step, kind, plan!);
  if (level !== 'none') await stepGate(scope, level, step, kind, ctx, plan);
  await applyStep(scope, phase, step, kind, ctx, undo);
}

/** Runs the step's effect and records how it ended. */
async function applyStep(
  scope: RunScope,
  phase: PhaseName,
  step: StepSpec,
  kind: StepKind,
  ctx: StepContext,
  undo?: UndoOf,
): Promise<void> {
  const { bus, clock, session, runId } = scope;
  // No step starts while the run lock is being taken again: one operator at a time.
  await session.lockHeld();
  throwIfStopped(scope);
  const attempt = await store.markStepRunning(session.pool, runId, phase, step.id, undo ? `undo:${step.kind}` : step.kind);
  bus.emit({ type: 'step.started', phase, stepId: step.id, kind: step.kind, title: step.title ?? step.id, attempt });
  const t0 = clock.now();
  let result: unknown;
  try {
    if (undo) await undoStep(undo.kind, undo.spec, ctx);
    else result = await withStepTimeout(step, ctx, () => kind.apply(step, ctx));
  } catch (err) {
    const e = err as RunbookError;
    if (isAbort(err) || scope.signal.aborted) {
      // Left as 'running': resume reconciles it against the database.
      bus.emit({ type: 'step.log', stepId: step.id, level: 'warn', message: `stopped while running: ${stopReason(scope)}` });
      throw scope.signal.aborted ? scope.signal.reason : err;
    }
    await store.markStep(session.pool, runId, phase, step.id, 'failed', { error: e.message }).catch(() => {});
    bus.emit({
      type: 'step.failed',
      phase,
      stepId: step.id,
      durationMs: clock.now() - t0,
      error: e.message,
      sqlstate: e.sqlstate ?? (err as { code?: string }).code,
      hint: e.hint,
    });
    throw err;
  }
  await recordCompleted(scope, phase, step.id, result);
  bus.emit({ type: 'step.completed', phase, stepId: step.id, durationMs: clock.now() - t0, result: result ?? undefined });
  await session.flushJournal(STEP_JOURNAL_WAIT_MS);
}

/** The step took effect; a failure to record that must not make it look failed. */
async function recordCompleted(scope: RunScope, phase: PhaseName, stepId: string, result: unknown): Promise<void> {
  const { session, runId } = scope;
  const err = await retryRecord(scope.clock, () =>
    store.markStep(session.pool, runId, phase, stepId, 'completed', { result: result ?? null }),
  );
  if (!err) return;
  throw new RunbookError(`step ${stepId} completed in the database, but pgrunbook.step_states could not record it: ${err.message}`, {
    hint: `once pgrunbook.* accepts writes again, \`pgrunbook resume ${runId}\` reconciles ${stepId} with the database`,
    exitCode: 1,
  });
}

/** A step an earlier session left running or failed: true when it needs no run now. */
async function reconcile(
  scope: RunScope,
  phase: PhaseName,
  step: StepSpec,
  kind: StepKind,
  ctx: StepContext,
  prior: store.StepRow,
): Promise<boolean> {
  const { bus, session, runId } = scope;
  if (kind.reconcile) {
    const r = await kind.reconcile(step, ctx);
    bus.emit({ type: 'step.reconciled', phase, stepId: step.id, found: r.found, detail: r.detail });
    if (r.found === 'done') {
      await store.markStep(session.pool, runId, phase, step.id, 'completed', { result: { reconciled: r.detail } });
      bus.emit({ type: 'step.completed', phase, stepId: step.id, durationMs: 0, result: { reconciled: r.detail } });
      return true;
    }
    if (r.found === 'not-done') return false;
  }
  // The kind cannot tell whether its effect landed: the operator decides.
  const choice = scope.opts.inFlight?.[step.id] ?? (await askInFlight(scope, step, prior));
  bus.emit({ type: 'step.reconciled', phase, stepId: step.id, found: 'unknown', detail: `operator chose ${choice}` });
  if (choice === 'skip') {
    await store.markStep(session.pool, runId, phase, step.id, 'skipped', { error: 'skipped on resume by the operator' });
    bus.emit({ type: 'step.skipped', phase, stepId: step.id, reason: 'skipped on resume by the operator' });
    return true;
  }
  return false;
}

async function askInFlight(scope: RunScope, step: StepSpec, prior: store.StepRow): Promise<'rerun' | 'skip'> {
  const d = await scope.gates.request(
    {
      id: `${step.id}:in-flight`,
      stepId: step.id,
      level: 'confirm',
      title: `Step ${step.id} was ${prior.status === 'failed' ? 'failed' : 'in flight'} when the run stopped`,
      action: 'pgrunbook cannot tell whether its effect is already in the database. Re-run it, or mark it done and skip it.',
      evidence: [{ label: 'last error', value: prior.error ?? 'none recorded' }],
      choices: ['rerun', 'skip'],
    },
    scope.signal,
  );
  if (!d.approved || !d.choice) {
    throw new RunbookError(`step ${step.id} was in flight and its effect is unknown`, {
      hint: `check the database, then \`pgrunbook resume ${scope.runId} --rerun ${step.id}\` or \`--skip ${step.id}\``,
    });
  }
  return d.choice as 'rerun' | 'skip';
}

async function undoStep(kind: StepKind, spec: StepSpec, ctx: StepContext): Promise<void> {
  if (kind.rollback) return kind.rollback(spec, ctx);
  await ctx.executor.run(spec.rollback!, {
    stepId: ctx.step.id,
    lockTimeoutMs: spec.settings.lockTimeoutMs,
    statementTimeoutMs: spec.settings.statementTimeoutMs,
    retries: spec.settings.ddlRetries,
    signal: ctx.signal,
  });
}

/** What a kind sees while it runs; its state is kept under the step it belongs to (for an undo, the deploy step's). */
function contextFor(scope: RunScope, step: StepSpec, stateRunId: string, statePhase: PhaseName, stateStepId?: string): StepContext {
  const { session } = scope;
  const pool = session.pool;
  const id = stateStepId ?? step.id;
  const state: StepState = {
    get: async <T>() => (await store.getStepState(pool, stateRunId, statePhase, id)) as T | undefined,
    set: (value) => store.setStepState(pool, stateRunId, statePhase, id, step.kind, value),
  };
  return {
    runId: scope.runId,
    runbook: scope.opts.runbook,
    step,
    pool,
    connectionString: scope.opts.connection.connectionString,
    executor: session.executor,
    serverVersionNum: session.serverVersionNum,
    emit: (b) => void scope.bus.emit(b),
    signal: scope.signal,
    clock: scope.clock,
    gates: scope.gates,
    control: scope.control,
    state,
    nonInteractive: scope.opts.nonInteractive,
    ...(scope.opts.host ? { host: scope.opts.host } : {}),
  };
}

async function withStepTimeout<T>(step: StepSpec, ctx: StepContext, fn: () => Promise<T>): Promise<T> {
  if (!step.timeoutMs) return fn();
  const runSignal = ctx.signal;
  const timeout = AbortSignal.timeout(step.timeoutMs);
  (ctx as { signal: AbortSignal }).signal = AbortSignal.any([runSignal, timeout]);
  try {
    return await fn();
  } catch (err) {
    if (timeout.aborted && !runSignal.aborted) {
      throw new RunbookError(`step ${step.id} exceeded its timeout of ${step.timeoutMs} ms`, {
        hint: 'raise the step `timeout:` or investigate why it is slow; the step can be resumed',
      });
    }
    throw err;
  }
}
