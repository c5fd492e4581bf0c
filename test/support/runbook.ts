// Runs a runbook file (or loaded Runbook) against a real database through the real runner,
// non-interactively, and collects its events.
import { Runner, type RunOutcome } from '../../src/engine/runner.js';
import { PolicyGates, type GatePort } from '../../src/engine/gates.js';
import type { RunEvent } from '../../src/engine/events.js';
import { resolveConnection } from '../../src/pg/connection.js';
import { loadRunbookFile } from '../../src/runbook/load.js';
import { formatProblem, type PhaseName, type Runbook } from '../../src/runbook/model.js';
import type { StepKind } from '../../src/steps/step-kind.js';

export interface RunResult {
  outcome: RunOutcome;
  events: RunEvent[];
  runner: Runner;
}

export async function loadOrThrow(file: string, vars?: Record<string, string>): Promise<Runbook> {
  const { runbook, problems } = await loadRunbookFile(file, { vars });
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length || !runbook) throw new Error(`runbook ${file} is invalid:\n${errors.map(formatProblem).join('\n')}`);
  return runbook;
}

export async function runRunbook(
  runbook: Runbook,
  opts: {
    url: string;
    phases?: PhaseName[];
    gates?: GatePort;
    resumeRunId?: string;
    inFlight?: Record<string, 'rerun' | 'skip'>;
    kinds?: ReadonlyMap<string, StepKind>;
    onRunner?: (r: Runner) => void;
  },
): Promise<RunResult> {
  const runner = new Runner({
    runbook,
    connection: resolveConnection(opts.url),
    gates: opts.gates ?? new PolicyGates({ yes: true, allowIrreversible: true, user: 'test' }),
    nonInteractive: true,
    phases: opts.phases,
    resumeRunId: opts.resumeRunId,
    inFlight: opts.inFlight,
    journalDir: null,
    kinds: opts.kinds,
  });
  const events: RunEvent[] = [];
  runner.bus.on((e) => events.push(e));
  opts.onRunner?.(runner);
  const outcome = await runner.run();
  return { outcome, events, runner };
}

/** Loads and runs a runbook file. Default phases: plan, test, deploy, monitor. */
export async function runRunbookFile(
  file: string,
  opts: { url: string; vars?: Record<string, string>; phases?: PhaseName[]; gates?: GatePort; resumeRunId?: string },
): Promise<RunResult> {
  return runRunbook(await loadOrThrow(file, opts.vars), opts);
}
