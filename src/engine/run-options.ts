// What a run is given and what it returns: the setup of one run, the kinds and adapters the
// composition root binds once, and the outcome. Shared by the runner and the parts it runs with.
import type pg from 'pg';
import type { Clock } from '../util/clock.js';
import type { ConnectionSpec } from '../pg/connection.js';
import type { PhaseName, Runbook } from '../runbook/model.js';
import type { Listener } from './events.js';
import type { Evidence, GatePort } from './gates.js';
import type { Identity } from './operator-identity.js';
import type { BlockersProbe, ConnectionFactory, HostSignals } from './ports.js';
import type { StepKinds } from './step-kind.js';

export const DEFAULT_PHASES: PhaseName[] = ['plan', 'test', 'deploy', 'monitor'];

/** What one run is: the runbook, the target, the gate port, and how it runs. */
export interface RunnerSetup {
  runbook: Runbook;
  connection: ConnectionSpec;
  gates: GatePort;
  nonInteractive: boolean;
  /** Phases to run, in order. Default: plan, test, deploy, monitor (rollback only when asked). */
  phases?: PhaseName[];
  /** Continue this run instead of starting a new one. */
  resumeRunId?: string;
  /** What to do with steps that were in flight and cannot reconcile themselves. */
  inFlight?: Record<string, 'rerun' | 'skip'>;
  /** Directory for the local JSONL journal; null disables it. */
  journalDir?: string | null;
  /** How long the run waits for journal writes that keep failing, after each step and at its end (default 5 s and 30 s). */
  journalWaitMs?: number;
  clock?: Clock;
  identity?: Identity;
  /** Metrics snapshot journaled with each gate decision (e.g. from the monitor). */
  metrics?: () => Record<string, unknown> | undefined;
  listeners?: Listener[];
  /** A sandbox run (rehearsal): no gate waits for second-person approvals, which are for the real target. */
  sandbox?: boolean;
  /** Builds the deploy plan shown behind a gate before the deploy phase (the CLI passes the analyzer's). */
  /** The database host's CPU, I/O wait, disks and memory (`--node-exporter`, `--prometheus`); absent = not watched. */
  host?: HostSignals;
  deployPlan?: (ctx: { pool: pg.Pool; runbook: Runbook; serverVersionNum: number }) => Promise<DeployPlan>;
}

/** What the composition root binds once: the step kinds and the adapters. */
export interface RunnerDeps {
  kinds: StepKinds;
  connect: ConnectionFactory;
  /** Who holds locks on a step's tables, shown at its gate; none when absent. */
  blockersNow?: BlockersProbe;
}

export type RunnerOptions = RunnerSetup & RunnerDeps;

export interface DeployPlan {
  /** One line: steps, estimate, strongest lock. */
  summary: string;
  /** The whole plan as text lines (plain renderer, log, journal). */
  lines: string[];
  evidence: Evidence[];
}

export type RunStatus = 'completed' | 'failed' | 'aborted' | 'interrupted';

export interface RunOutcome {
  runId: string;
  /** What happened in the database, even when it could not all be recorded. */
  status: RunStatus;
  error?: Error;
  /** Set when the run's end or some of its events are not in pgrunbook.*: what is missing and what to do. */
  unrecorded?: string;
}
