// The contract every step kind implements (pgroll-style): plan returns the SQL it will run and
// the locks it takes, so a dry run is free; apply does it; verify gives gate evidence; rollback
// compensates. One kind per file in src/steps/; the composition root (src/cli/composition-root.ts)
// hands the table of kinds to the runner, the loader and the planner. This is the engine's port.
import type pg from 'pg';
import type { Clock } from '../util/clock.js';
import type { SqlExecutor } from '../pg/executor.js';
import type { PlannedLock } from '../pg/lock-modes.js';
import type { Queryable } from '../pg/queryable.js';
import type { GateLevel, Runbook, StepSpec } from '../runbook/model.js';
import type { KindTable, RunbookKind } from '../runbook/kind-table.js';
import type { EventBody } from './events.js';
import type { Evidence, GatePort } from './gates.js';
import type { HostSignals } from './ports.js';

export interface PlannedStatement {
  sql: string;
  /** false for statements that cannot run in a transaction block (CREATE INDEX CONCURRENTLY...). */
  transactional: boolean;
  /** Short operator-facing description ("validate the constraint", "batch 1..n"). */
  description?: string;
  /**
   * SQL the kind writes for itself as part of a safe procedure (swap_table's rename, the type
   * change on its empty shadow): plan lists its locks and work but does not lint it, because
   * warnings are about what the operator wrote.
   */
  internal?: boolean;
}

/**
 * Row-moving work a step does beyond the statements it lists (a batched copy, a verification
 * scan): `plan` sizes it from the relation like a statement of that kind of work.
 */
export interface PlannedWork {
  relation: string;
  /** checksum: a scan that turns every row into text and hashes it (a copy's verification). */
  work: 'scan' | 'rewrite' | 'rows' | 'index-build' | 'copy' | 'checksum';
  description: string;
  /** A batched copy: how plan times a few of its batches (rolled back) for the estimate. */
  copy?: PlannedCopy;
}

/** A batched copy as the backfill engine runs it (its CopySpec), for plan's timed sample. */
export interface PlannedCopy {
  /** The source table, schema-qualified. */
  table: string;
  /** The step's batch knobs (batch_size, target_batch_time, pause ...), as the step has them. */
  params: Record<string, unknown>;
  sample: {
    /** Creates an empty target of the real one's shape, inside the sample's transaction (rolled back). */
    setup: string[];
    into: string;
    read: string[];
    columns: string[];
    values: string[];
    overridingSystemValue: boolean;
  };
  /** The table's foreign keys (pg_get_constraintdef text): the real copy checks each row against them; the sample stands in for the checks. */
  foreignKeys?: { name: string; definition: string }[];
}

export interface StepPlan {
  statements: PlannedStatement[];
  locks: PlannedLock[];
  work?: PlannedWork[];
  reversible: boolean;
  /** Why it cannot be undone, when not reversible. */
  irreversibleReason?: string;
  /** Operator-facing notes: rewrites, scans, estimates, warnings. */
  notes: string[];
  /** Set when the live catalog shows the work already done: why there is nothing to run (plan estimates zero). */
  nothingToDo?: string;
}

export interface PlanContext {
  /** Present for `plan --db` and during a run; absent for offline dry runs. */
  db?: Queryable;
  /** server_version_num when known. */
  serverVersionNum?: number;
  runbook: Runbook;
}

/** Live control intents from the operator (TUI keys), for long-running kinds. */
export interface StepControl {
  readonly paused: boolean;
  /** Resolves immediately when not paused, else when unpaused or aborted. */
  waitWhilePaused(signal: AbortSignal): Promise<void>;
  /** Operator overrides; undefined = let the kind decide. Read them between batches. */
  batchSize?: number;
  pauseMs?: number;
  /** Subscribe to changes (returns unsubscribe). */
  onChange(cb: () => void): () => void;
}

/** Small persistent JSON state per (run, step): survives crashes; read back on resume/rollback. */
export interface StepState {
  get<T = Record<string, unknown>>(): Promise<T | undefined>;
  set(value: Record<string, unknown>): Promise<void>;
}

export interface StepContext {
  runId: string;
  runbook: Runbook;
  step: StepSpec;
  /** Pool on the target database (application_name set). Prefer `executor` for DDL. */
  pool: pg.Pool;
  /** Connection string of the target (password included: never print it). */
  connectionString?: string;
  executor: SqlExecutor;
  serverVersionNum: number;
  emit(body: EventBody): void;
  signal: AbortSignal;
  clock: Clock;
  gates: GatePort;
  control: StepControl;
  state: StepState;
  /** True when no operator can answer prompts. */
  nonInteractive: boolean;
  /** The database host's figures when the run was given an endpoint (host_cpu, io_wait). */
  host?: HostSignals;
}

export type ReconcileResult = { found: 'done' | 'not-done' | 'unknown'; detail: string };

export interface StepKind<P = any> extends RunbookKind<P> {
  /** Idempotent DDL for the kind's own tables in the pgrunbook schema (created with the run state). */
  stateSql?: string;
  /** Gate when the runbook does not set one. */
  defaultGate?(step: StepSpec<P>, plan: StepPlan): GateLevel;
  plan(step: StepSpec<P>, ctx: PlanContext): StepPlan | Promise<StepPlan>;
  apply(step: StepSpec<P>, ctx: StepContext): Promise<unknown>;
  /** Evidence shown at the step's gate, before apply. Evidence found during apply goes out as `step.evidence` events. */
  verify?(step: StepSpec<P>, ctx: StepContext): Promise<Evidence[]>;
  /** Undo what apply did (the rollback phase runs these in reverse). */
  rollback?(step: StepSpec<P>, ctx: StepContext): Promise<void>;
  /** On resume, for a step that was in flight: is its effect already in the database? */
  reconcile?(step: StepSpec<P>, ctx: StepContext): Promise<ReconcileResult>;
}

/** The step kinds a run can use. */
export type StepKinds = KindTable<StepKind>;
