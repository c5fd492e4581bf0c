// The runner: a state machine over phases and steps. It emits events, awaits gate decisions
// through a port, records every transition in pgrunbook.* so a run can be resumed from any
// machine, and holds the run lock for its whole life. No UI, no concrete adapter: the step kinds,
// the connection factory and the lock probe come in through RunnerOptions. Its parts: the session
// on the database (run-session.ts), the plan summary (plan-summary.ts), the step state machine
// (run-step.ts), the gates and their evidence (gate-evidence.ts), the rollback phase (rollback-phase.ts).
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../util/clock.js';
import { AbortedError, RunbookError, RunLockHeldError, isAbort } from '../util/runbook-error.js';
import type { Target } from '../pg/connection.js';
import { PHASES, type PhaseName } from '../runbook/model.js';
import { RunControl } from './control.js';
import { EventBus } from './events.js';
import { deployPlanGate } from './gate-evidence.js';
import { approvalGates } from './approval-gates.js';
import { journaledGates, type GatePort } from './gates.js';
import { currentIdentity, type Identity } from './operator-identity.js';
import { emitPlanSummary } from './plan-summary.js';
import { runRollbackPhase } from './rollback-phase.js';
import { DEFAULT_PHASES, type RunnerOptions, type RunnerSetup, type RunOutcome, type RunStatus } from './run-options.js';
import type { RunScope } from './run-scope.js';
import { RunSession } from './run-session.js';
import { runStep } from './run-step.js';
import type { StepKind } from './step-kind.js';

export type { DeployPlan, RunnerOptions, RunnerSetup, RunOutcome } from './run-options.js';

/** Builds a runner with the composition root's kinds and adapters (the rehearsal runs its sandbox with one). */
export type RunnerFactory = (setup: RunnerSetup) => Runner;

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export class Runner {
  readonly runId: string;
  readonly bus: EventBus;
  readonly control = new RunControl();
  private readonly abortController = new AbortController();
  private stopStatus: 'aborted' | 'interrupted' = 'aborted';
  private readonly clock: Clock;
  private readonly who: Identity;
  /** Every gate, the runner's own and those raised inside steps, is journaled through this port. */
  private readonly gates: GatePort;
  /** This run's hold on the database, once run() has started. */
  private session?: RunSession;

  constructor(private readonly opts: RunnerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.who = opts.identity ?? currentIdentity();
    this.runId = opts.resumeRunId ?? newRunId(new Date(this.clock.now()));
    this.bus = new EventBus(this.runId, () => this.clock.now());
    for (const l of opts.listeners ?? []) this.bus.on(l);
    const approvals = approvalGates(opts.gates, {
      db: () => this.session!.pool,
      listenClient: () => opts.connect.client(`pgrunbook:${this.runId}:approvals`),
      runId: this.runId,
      operator: this.who,
      emit: (b) => void this.bus.emit(b),
      clock: this.clock,
      timeoutMs: opts.runbook.integrations?.approvalTimeoutMs,
    });
    this.gates = journaledGates(opts.sandbox ? opts.gates : approvals, (b) => void this.bus.emit(b), opts.metrics);
  }

  get signal(): AbortSignal {
    return this.abortController.signal;
  }

  /** Operator abort: the current step is cancelled; the run stays resumable. */
  abort(reason = 'aborted by the operator'): void {
    if (this.signal.aborted) return;
    this.stopStatus = 'aborted';
    this.abortController.abort(new AbortedError(reason));
  }

  /** Stop at a safe point (SIGHUP, closed terminal): journaled, resumable. */
  interrupt(reason: string): void {
    if (this.signal.aborted) return;
    this.stopStatus = 'interrupted';
    this.abortController.abort(new AbortedError(reason));
  }

  get paused(): boolean {
    return this.control.paused;
  }

  /** Operator intents: the runner changes its control and emits the event every listener sees. */
  pause(): void {
    if (this.control.paused) return;
    this.control.setPaused(true);
    this.bus.emit({ type: 'run.paused', reason: 'paused by the operator' });
  }

  unpause(): void {
    if (!this.control.paused) return;
    this.control.setPaused(false);
    this.bus.emit({ type: 'run.unpaused' });
  }

  setBatchSize(n: number): void {
    this.control.setBatchSize(n);
  }

  setPauseMs(ms: number): void {
    this.control.setPauseMs(ms);
  }

  async run(): Promise<RunOutcome> {
    const session = (this.session = new RunSession({
      runId: this.runId,
      opts: this.opts,
      bus: this.bus,
      clock: this.clock,
      who: this.who,
      gates: this.gates,
      onLockLost: (reason) => this.interrupt(reason),
    }));
    const started = this.clock.now();
    try {
      await session.open();
      const scope = this.scope(session);
      await this.runPhases(scope);
      this.bus.emit({ type: 'run.completed', durationMs: this.clock.now() - started });
      return await session.close({ runId: this.runId, status: 'completed' });
    } catch (err) {
      if (err instanceof RunLockHeldError || !session.recorded) throw err;
      return await session.close(this.stopped(err));
    } finally {
      await session.release();
    }
  }

  /** Tells the run's start and plan, then runs each chosen phase in order. */
  private async runPhases(scope: RunScope): Promise<void> {
    const { session } = scope;
    const phases = this.opts.phases ?? DEFAULT_PHASES;
    const target: Target = {
      ...this.opts.connection.target,
      serverVersion: session.serverVersion,
      serverVersionNum: session.serverVersionNum,
    };
    this.bus.emit({
      type: 'run.started',
      runbook: this.opts.runbook.name,
      file: this.opts.runbook.file,
      target,
      phases,
      resumed: !!this.opts.resumeRunId,
      user: this.who.user,
      host: this.who.host,
      pid: this.who.pid,
    });
    await session.emitResumed();
    await emitPlanSummary(scope, phases);
    for (const phase of PHASES.filter((p) => phases.includes(p))) await this.runPhase(scope, phase);
  }

  private async runPhase(scope: RunScope, phase: PhaseName): Promise<void> {
    if (phase === 'deploy') await deployPlanGate(scope);
    this.bus.emit({ type: 'phase.started', phase });
    if (phase === 'rollback') await runRollbackPhase(scope);
    else for (const step of this.opts.runbook.phases[phase]) await runStep(scope, phase, step);
    this.bus.emit({ type: 'phase.completed', phase });
  }

  /** How a run that threw ended: failed, or aborted / interrupted by the operator; told on the bus. */
  private stopped(err: unknown): RunOutcome {
    const aborted = isAbort(err) || this.signal.aborted;
    const status: RunStatus = aborted ? this.stopStatus : 'failed';
    const message = (err as Error).message;
    if (status === 'failed') this.bus.emit({ type: 'run.failed', error: message });
    else if (status === 'aborted') this.bus.emit({ type: 'run.aborted', reason: message });
    else this.bus.emit({ type: 'run.interrupted', reason: message });
    return { runId: this.runId, status, error: err as Error };
  }

  private scope(session: RunSession): RunScope {
    return {
      runId: this.runId,
      opts: this.opts,
      bus: this.bus,
      clock: this.clock,
      control: this.control,
      gates: this.gates,
      signal: this.signal,
      session,
      kind: (name) => this.kind(name),
    };
  }

  private kind(name: string): StepKind {
    const k = this.opts.kinds.get(name);
    if (!k) throw new RunbookError(`unknown step kind "${name}"`, { hint: 'run `pgrunbook validate` on the runbook', exitCode: 2 });
    return k;
  }
}
