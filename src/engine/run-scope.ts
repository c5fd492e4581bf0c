// What the parts of a running run share (the step machine, the gates, the plan summary, the
// rollback phase): the runner builds one scope per run once its session is open.
import type { Clock } from '../util/clock.js';
import type { RunControl } from './control.js';
import type { EventBus } from './events.js';
import type { GatePort } from './gates.js';
import type { RunnerOptions } from './run-options.js';
import type { RunSession } from './run-session.js';
import type { StepKind } from './step-kind.js';

export interface RunScope {
  readonly runId: string;
  readonly opts: RunnerOptions;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly control: RunControl;
  /** Every gate, the runner's own and those raised inside steps, is journaled through this port. */
  readonly gates: GatePort;
  /** Aborted when the operator aborts or the run is interrupted; its reason says why. */
  readonly signal: AbortSignal;
  readonly session: RunSession;
  /** The step kind of that name; a name no kind has is an error the operator can fix. */
  kind(name: string): StepKind;
}

/** Throws the stop reason when the run was aborted or interrupted. */
export function throwIfStopped(scope: Pick<RunScope, 'signal'>): void {
  if (scope.signal.aborted) throw scope.signal.reason;
}

export function stopReason(scope: Pick<RunScope, 'signal'>): string {
  return (scope.signal.reason as Error)?.message ?? 'stopped';
}
