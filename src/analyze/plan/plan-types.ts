// The size-aware plan: what `pgrunbook plan` prints, `--json` emits, `--report` writes, and `run`
// shows before deploy behind a gate.
import type { GateLevel, PhaseName } from '../../runbook/model.js';
import type { PlannedLock } from '../../pg/lock-modes.js';
import type { PlannedWork } from '../../engine/step-kind.js';
import type { ServerFacts } from '../../pg/server-facts.js';
import type { PlanTableFacts } from '../../pg/catalog/plan-table-facts.js';
import type { StatementAnalysis } from '../analysis-types.js';

export interface Estimate {
  /** Best guess, seconds. */
  seconds: number;
  /** Uncertainty band, seconds. */
  low: number;
  high: number;
  /** How it was obtained, in operator words ("one real batch of 1,000 rows took 42 ms ..."). */
  basis: string;
}

export interface PlanWarning {
  /** Rule id when it comes from the analyzer. */
  rule?: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
  /** The safe pattern. */
  safe?: string;
  /** squawk's, when it comes from its second opinion. */
  source?: 'pgrunbook' | 'squawk';
}

export interface PlanStatement {
  sql: string;
  transactional: boolean;
  description?: string;
  /** The analyzer's verdict; absent when the text is not SQL (comments, shell, redis). */
  analysis?: StatementAnalysis;
  /** Why there is no analysis. */
  notAnalyzed?: string;
  estimate?: Estimate;
}

export interface PlanStep {
  phase: PhaseName;
  id: string;
  kind: string;
  title: string;
  why?: string;
  gate: GateLevel;
  reversible: boolean;
  irreversibleReason?: string;
  statements: PlanStatement[];
  /** Locks the step declares in its plan, merged with the analyzer's. */
  locks: PlannedLock[];
  /** Row-moving work beyond the statements (StepPlan.work), each with its own estimate. */
  work?: (PlannedWork & { estimate?: Estimate })[];
  notes: string[];
  /** The step's work is already done on this database (StepPlan.nothingToDo): why. */
  nothingToDo?: string;
  estimate?: Estimate;
  warnings: PlanWarning[];
  /** The step's plan() failed; the message says why. */
  error?: string;
}

export interface PlanTable extends PlanTableFacts {
  /** Steps that touch it. */
  touchedBy: string[];
}

/** A stored rehearsal of the same runbook text and variables on this database. */
export interface RehearsalSource {
  /** When it finished, ISO 8601. */
  at: string;
  samplePct: number;
  sandbox: string;
}

export interface Plan {
  runbook: { name: string; file: string; description?: string };
  generatedAt: string;
  target: { database: string; host: string; user: string };
  server: ServerFacts;
  tables: PlanTable[];
  /** Tables the runbook references that do not exist yet (created by a step). */
  missingTables: string[];
  steps: PlanStep[];
  /** Server-level warnings (long transactions, lagging standbys, inactive slots...). */
  warnings: PlanWarning[];
  /** Sum over the deploy phase. */
  deployEstimate?: Estimate;
  /** The rehearsal whose projection replaced the size-based estimates of the deploy steps. */
  rehearsal?: RehearsalSource & { allSteps: boolean };
  /** A stored rehearsal of this runbook that no longer fits the database (too old, tables resized): why. */
  rehearsalSetAside?: RehearsalSource & { why: string };
  /** Measured sequential read rate, bytes/s, per table it was sampled on. */
  readRates: Record<string, number>;
}
