// What `init` reads (migrations from a tool's folder, a file or stdin) and what it produces (step
// drafts that the writer turns into a commented runbook).
import type { StatementAnalysis } from '../analyze/analysis-types.js';

export type SourceFormat = 'sql' | 'sqitch' | 'flyway' | 'golang-migrate' | 'dbmate' | 'prisma' | 'node-pg-migrate' | 'numbered-sql';

export const SOURCE_FORMATS: SourceFormat[] = [
  'sql',
  'sqitch',
  'flyway',
  'golang-migrate',
  'dbmate',
  'prisma',
  'node-pg-migrate',
  'numbered-sql',
];

/** SQL text and where it came from (for FILE:LINE:COL in messages and comments). */
export interface SqlText {
  sql: string;
  file: string;
  /** 1-based line of the first character of `sql` in `file`. */
  line: number;
}

export interface Migration {
  /** The tool's own id: a Sqitch change name, a Flyway/golang-migrate/dbmate version, a Prisma folder. */
  id: string;
  /** Human name (description). */
  name: string;
  up: SqlText;
  down?: SqlText;
  /** Absolute path of the up script (Flyway checksums, Prisma checksums read the file as is). */
  path: string;
  /** The tool runs this migration outside a transaction (dbmate `transaction:false`, ...). */
  noTransaction?: boolean;
}

export interface MigrationSet {
  format: SourceFormat;
  /** The folder (or file) given to --from; `-` for stdin. */
  root: string;
  /** Sqitch: the project name from sqitch.plan. */
  project?: string;
  /** Flyway: the location the script names are relative to. */
  migrations: Migration[];
}

/** One step of the generated runbook, before it is written as YAML. */
export interface StepDraft {
  id: string;
  kind: string;
  params: unknown;
  title?: string;
  why: string;
  gate?: 'none' | 'confirm' | 'type';
  rollback?: string;
  lock_timeout?: string;
  /** The statement(s) this step replaces, as written, with their position. */
  original?: { text: string; file: string; line: number }[];
  /** Expand or contract: contract steps come after every expand step. */
  stage: 'expand' | 'contract' | 'record';
  /** A group of safe statements kept as written (later safe statements of the migration join it). */
  kept?: boolean;
}

/** How one statement was handled: the rows of `--explain` and of the stderr summary. */
export interface RewriteRow {
  file: string;
  line: number;
  col: number;
  statement: string;
  /** kept: an sql step as written; rewritten: safe step kinds; held: kept, behind a type gate. */
  verdict: 'kept' | 'rewritten' | 'held' | 'skipped';
  /** The step kinds it became. */
  kinds: string[];
  /** Lock before (naive) and after (runbook), strongest, in pg_locks names. */
  lockBefore?: string;
  lockAfter?: string;
  reason: string;
  analysis?: StatementAnalysis;
}
