// What every rewrite rule gets (one statement, its AST, the analyzer's verdict on it) and returns
// (step drafts and the reason), plus the wording the generated `why:` lines share.
import type { StatementAnalysis } from '../../analyze/analysis-types.js';
import type { TableInfo } from '../../analyze/analysis-catalog.js';
import { sqlModeName } from '../../analyze/locks.js';
import { LOCK_STRENGTH, type LockMode } from '../../pg/lock-modes.js';
import type { StepDraft } from '../init-types.js';
import type { Unit } from '../units.js';
import { findKeyword, insideParens, textOf, tokenAt, type Tok } from '../sql-text.js';

export interface RuleInput {
  unit: Unit;
  /** The unit's AST node (AlterTableStmt, IndexStmt, ...) and its value. */
  node: string;
  ast: any;
  analysis: StatementAnalysis;
  toks: Tok[];
  /** Server major the verdict is for. */
  major: number;
  /** Allocates a unique step id from a readable stem. */
  id(stem: string): string;
  /** Primary-key columns of a table, from the live catalog (undefined without --db). */
  primaryKey(table: string): Promise<string[] | undefined>;
  /** A relation from the live catalog (undefined without --db, or when it does not exist). */
  relation(schema: string | undefined, name: string): Promise<TableInfo | undefined>;
}

export interface RuleResult {
  steps: StepDraft[];
  /** One line for the rewrite table: what was done and why. */
  reason: string;
  lockAfter: string;
  /** Kept as written behind a type gate (a rule that knows why no rewrite applies). */
  held?: boolean;
}

/** Findings that mean "this statement, as written, hurts the application". */
export function dangerous(a: StatementAnalysis): boolean {
  return a.findings.some(
    (f) => f.source === 'pgrunbook' && f.severity !== 'info' && f.rule !== 'lock-timeout-missing' && f.rule !== 'not-modeled',
  );
}

export function strongestLock(a: StatementAnalysis): LockMode | undefined {
  let best: LockMode | undefined;
  for (const l of a.locks) if (!best || LOCK_STRENGTH[l.mode] > LOCK_STRENGTH[best]) best = l.mode;
  return best;
}

export function lockSummary(a: StatementAnalysis): string {
  const byRel = a.locks.filter((l) => l.relkind !== 'index').map((l) => `${sqlModeName(l.mode)} on ${l.relation}`);
  const what = a.rewrite ? 'rewrites the table' : a.tableScan ? 'reads the whole table' : 'no rewrite, no scan';
  return `${byRel.length ? byRel.join(', ') : 'no table lock'}; ${what}`;
}

/** The analyzer's own words on the danger, first finding first. */
export function danger(a: StatementAnalysis): string {
  const f = a.findings.find((x) => x.source === 'pgrunbook' && x.severity !== 'info' && x.rule !== 'lock-timeout-missing');
  return f ? f.message : lockSummary(a);
}

export function draft(input: RuleInput, s: Omit<StepDraft, 'original' | 'stage'> & { stage?: StepDraft['stage'] }): StepDraft {
  const u = input.unit;
  return { stage: 'expand', ...s, original: [{ text: u.original, file: u.file, line: u.line }] };
}

/** Lower-case identifiers print bare; anything else in double quotes (as the DDL kinds read them). */
export function identText(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/** A table name as the DDL kinds take it: `orders`, `app.orders`, `"Odd"`. */
export function relName(rv: any): string {
  return rv.schemaname ? `${identText(rv.schemaname)}.${identText(rv.relname)}` : identText(rv.relname);
}

/** PostgreSQL's own constraint/index names (ChooseConstraintName): table_col1_col2_suffix, cut to 63 bytes. */
export function pgDefaultName(table: string, columns: string[], suffix: string): string {
  const parts = [table, ...columns].join('_');
  const max = 63 - suffix.length - 1;
  return `${parts.length > max ? parts.slice(0, max) : parts}_${suffix}`;
}

/** The text inside the parentheses after keyword `kw` (e.g. a CHECK expression) at `location`. */
export function parenText(input: RuleInput, location: number, kw: string): string {
  const toks = input.toks;
  const k = findKeyword(toks, tokenAt(toks, location), toks.length, kw);
  const [a, b] = insideParens(toks, k + 1);
  return textOf(input.unit.sql, toks, a, b);
}
