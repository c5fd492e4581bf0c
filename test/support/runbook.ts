// Runs a runbook file (or loaded Runbook) against a real database through the real runner,
// non-interactively, and collects its events.
import { Runner, type RunOutcome } from '../../src/engine/runner.js';
import { PolicyGates, type GatePort } from '../../src/engine/gates.js';
import type { RunEvent } from '../../src/engine/events.js';
import { connectionFactory, resolveConnection } from '../../src/pg/connection.js';
import { blockersNow } from '../../src/monitor/blockers-now.js';
import { loadRunbookFile } from '../../src/runbook/load.js';
import { formatProblem, type PhaseName, type Runbook } from '../../src/runbook/model.js';
import type { StepKinds } from '../../src/engine/step-kind.js';
import { newRunner, STEP_KINDS } from '../../src/cli/composition-root.js';

export interface RunResult {
  outcome: RunOutcome;
  events: RunEvent[];
  runner: Runner;
}

export async function loadOrThrow(file: string, vars?: Record<string, string>): Promise<Runbook> {
  const { runbook, problems } = await loadRunbookFile(file, { kinds: STEP_KINDS, vars });
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
    /** Fake kinds instead of STEP_KINDS (still with the real connection factory and lock probe). */
    kinds?: StepKinds;
    onRunner?: (r: Runner) => void;
    /** A sandbox run (no second-person approvals), as the rehearsal makes. */
    sandbox?: boolean;
  },
): Promise<RunResult> {
  const setup = {
    runbook,
    connection: resolveConnection(opts.url),
    gates: opts.gates ?? new PolicyGates({ yes: true, allowIrreversible: true, user: 'test' }),
    nonInteractive: true,
    phases: opts.phases,
    resumeRunId: opts.resumeRunId,
    inFlight: opts.inFlight,
    sandbox: opts.sandbox,
    journalDir: null,
  };
  const runner = opts.kinds
    ? new Runner({ ...setup, kinds: opts.kinds, connect: connectionFactory(setup.connection), blockersNow })
    : newRunner(setup);
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
