// What a rehearsal found: the shapes the trace, projection, drill and reports share.
import type { PhaseName } from '../runbook/model.js';
import type { CloneResult } from './clone.js';
import type { SchemaDiff } from './schema-diff.js';
import type { RehearsalProjection } from '../engine/events.js';

export interface ObservedLock {
  relation: string;
  mode: string;
  /** Seen granted at least once (held), or only waited for. */
  granted: boolean;
  /** How it was seen: the pg_locks sampler, or the in-transaction DDL capture (event trigger). */
  seenBy: ('sampler' | 'ddl-capture')[];
  /** Sampler time waiting for it, ms (0 when never seen waiting). */
  waitedMs: number;
}

export interface StepTrace {
  phase: PhaseName;
  stepId: string;
  kind: string;
  title: string;
  status: 'completed' | 'failed' | 'skipped' | 'not-run';
  /** Local clock (ms since epoch). */
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number;
  locks: ObservedLock[];
  /** Tables whose relfilenode changed during the step, or for which table_rewrite fired. */
  rewrites: { relation: string; how: 'relfilenode' | 'table_rewrite' }[];
  /** pg_current_wal_lsn() delta across the step; null when not sampled. */
  walBytes: number | null;
  retries: number;
  retryDelayMs: number;
  throttles: { reason: string | null; detail?: string; at: number }[];
  /** Rows the step reported (backfill progress), when it did. */
  rows: number | null;
  /** Per-batch row rates (rows/s) from backfill progress, for the projection's uncertainty. */
  batchRates: number[];
  batches: number;
  /** Statements the step ran (its step.sql events), in order: the projection scales only those whose work grows with size. */
  statements?: { sql: string; durationMs: number; rowCount: number | null }[];
  /** Backfill progress over time (ms since the step started, rows done), thinned: the projection's steady rate and spread. */
  progress?: { atMs: number; rows: number }[];
  /** Index-build phases seen in pg_stat_progress_create_index, with sampled time in each (ms). */
  indexPhases: Record<string, number>;
  /** Sessions that blocked this step (pids), from pg_blocking_pids of its waiting backends. */
  blockedBy: number[];
  error?: string;
  sqlstate?: string;
}

export interface PhaseTrace {
  phase: PhaseName;
  runId: string;
  status: 'completed' | 'failed' | 'aborted' | 'interrupted';
  error?: string;
  durationMs: number;
  steps: StepTrace[];
  /** Whether in-transaction DDL capture (event triggers; needs superuser) was active. */
  ddlCapture: boolean;
  samples: number;
  sampleIntervalMs: number;
}

export interface PredictedLocks {
  stepId: string;
  locks: { relation: string; mode: string }[];
  /** Where the prediction came from. */
  source: 'analyze' | 'plan';
  rewrite: boolean | null;
  tableScan: boolean | null;
  /** What the cost scales with: rows, rewrite, scan, index-build, catalog... */
  work: string | null;
}

export interface LockComparison {
  relation: string;
  mode: string;
  predicted: boolean;
  observed: boolean;
  /** Observed stronger than, or absent from, the prediction. */
  mismatch: 'unpredicted' | 'not-observed' | null;
}

export interface DrillOutcome {
  fault: 'blocking-transaction' | 'long-transaction' | 'write-burst';
  stepId: string | null;
  injected: boolean;
  /** What was done to the sandbox. */
  what: string;
  /** How the deploy coped, in operator words. */
  handled: string;
  metrics: Record<string, number | string | null>;
}

export interface RehearsalStepReport {
  stepId: string;
  kind: string;
  title: string;
  status: StepTrace['status'];
  observed: ObservedLock[];
  predicted: PredictedLocks | null;
  comparison: LockComparison[];
  rewrite: boolean;
  sampleSeconds: number;
  projectedSeconds: number;
  lowSeconds: number;
  highSeconds: number;
  basis: string;
  walBytes: number | null;
  retries: number;
  rows: number | null;
}

export interface RehearsalResult {
  runbook: string;
  source: { description: string; major: number };
  sandbox: { kind: string; description: string; major: number; warnings: string[] };
  clone: CloneResult | null;
  deploy: PhaseTrace;
  rollback: PhaseTrace | null;
  rollbackVerified: boolean;
  schemaDiff: SchemaDiff | null;
  steps: RehearsalStepReport[];
  projection: RehearsalProjection;
  drill: DrillOutcome[] | null;
  warnings: string[];
  startedAt: string;
  durationMs: number;
}
