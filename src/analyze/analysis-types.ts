// What `analyze` predicts for each statement. The JSON field names (`safe_alternative`,
// `server_version`, `tableScan`) are part of the CLI contract (`analyze --json`).
import type { LockMode } from '../pg/lock-modes.js';

export type FindingSeverity = 'error' | 'warning' | 'info';

export interface Finding {
  rule: string;
  severity: FindingSeverity;
  message: string;
  safe_alternative?: string;
  /** The runbook step (YAML) that does it the safe way, when one fits this statement. */
  runbook_step?: string;
  /** Who raised it: our analyzer, or squawk as a second opinion. */
  source: 'pgrunbook' | 'squawk';
}

export interface LockPrediction {
  relation: string;
  mode: LockMode;
  /** What the relation is (table, index, view...), when known. */
  relkind?: RelKindName;
  /** Why this relation is locked when it is not the statement's target (referenced table, partition...). */
  why?: string;
}

export type RelKindName = 'table' | 'partitioned table' | 'index' | 'view' | 'materialized view' | 'sequence' | 'foreign table' | 'type';

export interface StatementAnalysis {
  index: number;
  sql: string;
  /** 1-based position of the statement's first character. */
  line: number;
  col: number;
  /** Character offset in the input. */
  offset: number;
  /** AST node name (AlterTableStmt, IndexStmt...). */
  node: string;
  locks: LockPrediction[];
  /** The table gets new storage (rewritten, or emptied for TRUNCATE). */
  rewrite: boolean;
  /** Read in full without a rewrite (validation scans, index builds, unbounded DML). */
  tableScan: boolean;
  /** May run inside a transaction block. */
  transactional: boolean;
  findings: Finding[];
  /** What could not be decided without a live catalog (or at all), in operator words. */
  uncertain: string[];
  /** Short facts for the operator ("no rewrite: varchar widening is binary coercible"). */
  notes: string[];
  /** Tables whose size drives the cost (rewritten or scanned). */
  sizeDriver: string[];
  /** What the cost scales with, for duration projections. */
  work: WorkKind;
}

/** The dominant cost of a statement, used by `plan` to project durations. */
export type WorkKind = 'none' | 'catalog' | 'rewrite' | 'scan' | 'index-build' | 'rows' | 'unknown';

export interface SquawkStatus {
  ran: boolean;
  version?: string;
  /** Why it did not run (binary missing, crashed...). */
  error?: string;
  /** Findings that could not be mapped to one of our statements. */
  unmapped?: Finding[];
}

export interface AnalysisReport {
  server_version: number;
  /** Where the version came from. */
  versionSource: 'server' | '--pg-version' | 'default';
  /** Whether a live catalog was used (--db). */
  catalog: 'live' | 'none';
  /** Session TimeZone the analysis assumed, when known. */
  timeZone?: string;
  statements: StatementAnalysis[];
  squawk: SquawkStatus;
  /** Report-level caveats (e.g. "no --db: column types, constraints and function volatility unknown"). */
  uncertain: string[];
}
