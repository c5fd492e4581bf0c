// What the UI asks of the run. The UI only calls these; the host (run/resume/demo command) wires
// them to the runner, the gate port and a database pool. The UI never emits on the run's bus.
import type { GateAnswer } from '../engine/gates.js';

export interface Intents {
  decideGate(id: string, decision: GateAnswer): void;
  togglePause(): void;
  setBatchSize(n: number): void;
  setPauseMs(ms: number): void;
  /** Stop the run now; it is recorded as aborted. */
  abort(): void;
  /** Leave: stop at a safe point (the run stays resumable), then exit. */
  quit(): void;
  /** pg_cancel_backend on one of our own sessions (a DDL waiting for its lock). */
  cancelOwnStatement(pid: number): void;
}

/**
 * The runner surface the intents need (structural, so this file does not import the runner). It has
 * no bus: every intent goes through the runner, which emits what listeners should see (run.paused...).
 */
export interface RunnerHandle {
  readonly paused: boolean;
  pause(): void;
  unpause(): void;
  setBatchSize(n: number): void;
  setPauseMs(ms: number): void;
  abort(reason: string): void;
  interrupt(reason: string): void;
}

export interface RunIntentDeps {
  runner: RunnerHandle;
  /** InkGates.decide (or any port with the same shape). */
  decide(id: string, answer: GateAnswer): boolean;
  /** Cancels a backend; the host checks it is one of ours. */
  cancel?(pid: number): Promise<void>;
  /** Called after quit has asked the runner to stop (the host then waits for run() and exits). */
  onQuit?(): void;
  onError?(err: unknown): void;
}

/** The standard wiring onto a Runner-shaped object. */
export function runIntents(deps: RunIntentDeps): Intents {
  const { runner } = deps;
  return {
    decideGate: (id, answer) => void deps.decide(id, answer),
    togglePause: () => (runner.paused ? runner.unpause() : runner.pause()),
    setBatchSize: (n) => runner.setBatchSize(n),
    setPauseMs: (ms) => runner.setPauseMs(ms),
    abort: () => runner.abort('aborted by the operator'),
    quit: () => {
      runner.interrupt('the operator quit');
      deps.onQuit?.();
    },
    cancelOwnStatement: (pid) => {
      deps.cancel?.(pid).catch((err) => deps.onError?.(err));
    },
  };
}

/** Batch-size steps for + and -: about ×1.5 each way, never below 1. */
export function nextBatchSize(current: number, dir: 1 | -1): number {
  const n = dir > 0 ? Math.ceil(current * 1.5) : Math.floor(current / 1.5);
  return Math.max(1, Math.min(1_000_000, n));
}

export const PAUSE_LADDER_MS = [0, 50, 100, 250, 500, 1000, 2000, 5000, 10_000] as const;

/** [ and ]: the next rung of the pause ladder below or above the current pause. */
export function nextPauseMs(current: number, dir: 1 | -1): number {
  if (dir > 0) return PAUSE_LADDER_MS.find((p) => p > current) ?? PAUSE_LADDER_MS[PAUSE_LADDER_MS.length - 1]!;
  return [...PAUSE_LADDER_MS].reverse().find((p) => p < current) ?? 0;
}
