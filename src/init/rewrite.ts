// Statements → step drafts. Each statement is analyzed (with the live catalog under --db, so
// table sizes, constraints and the server version drive the verdict) and then: rewritten into
// the safe step kinds when the analyzer finds it dangerous and a rule knows the safe way; kept as
// an `sql` step with its lock summary when it is safe; held (kept, behind a `type` gate, the
// finding in `why:`) when it is dangerous and no rule can rewrite it. Never dropped silently.
import { analyzeSql } from '../analyze/analyze-statements.js';
import type { StatementAnalysis } from '../analyze/analysis-types.js';
import type { Catalog } from '../analyze/analysis-catalog.js';
import { splitName } from '../analyze/ast.js';
import { parseStatements, type ParsedStatement } from '../pg/sqlparse.js';
import type { Migration, RewriteRow, StepDraft } from './init-types.js';
import { migrationUnits, type Unit } from './units.js';
import { tokenize } from './sql-text.js';
import { dangerous, danger, lockSummary, strongestLock, type RuleInput, type RuleResult } from './rules/rule-context.js';
import { addColumnRule } from './rules/add-column-rule.js';
import { addConstraintRule, setNotNullRule } from './rules/constraint-rule.js';
import { columnTypeRule } from './rules/column-type-rule.js';
import { renameColumnRule, renameTableRule } from './rules/change-column-rule.js';
import { createIndexRule } from './rules/index-rule.js';
import { deleteRule, updateRule } from './rules/dml-rule.js';
import { dropColumnRule, dropRule } from './rules/drop-rule.js';
import { sqlModeName } from '../analyze/locks.js';
import { attachDown } from './down.js';
import { IdAllocator } from './step-ids.js';

export interface RewriteOptions {
  catalog?: Catalog;
  serverVersionNum: number;
  /** The tool runs each migration in a transaction (a CONCURRENTLY statement there is refused). */
  toolWrapsInTransaction: boolean;
}

export interface RewriteResult {
  steps: StepDraft[];
  /** Rollback-phase steps (down migrations nothing else undoes). */
  rollback: StepDraft[];
  rows: RewriteRow[];
  notes: string[];
}

export async function rewriteMigrations(migrations: Migration[], opts: RewriteOptions, ids = new IdAllocator()): Promise<RewriteResult> {
  const notes: string[] = [];
  const perMigration = migrations.map((m) => {
    const r = migrationUnits(m, opts.toolWrapsInTransaction);
    notes.push(...r.notes);
    return r.units;
  });
  const all = perMigration.flat();
  const script = all.map((u) => u.sql).join(';\n');
  const report = await analyzeSql(script, {
    catalog: opts.catalog,
    serverVersionNum: opts.serverVersionNum,
    lockTimeout: true,
    squawk: false,
  });
  const parsed = parseStatements(script);
  const major = Math.floor(opts.serverVersionNum / 10000);
  const out: RewriteResult = { steps: [], rollback: [], rows: [], notes };
  let k = 0;
  for (let mi = 0; mi < migrations.length; mi++) {
    const mig = migrations[mi]!;
    const steps: StepDraft[] = [];
    for (const unit of perMigration[mi]!) {
      const p = parsed[k]!;
      const a = report.statements[k++]!;
      const input = ruleInput(unit, p, a, major, ids, opts.catalog);
      const r = await applyRule(input);
      out.rows.push(row(unit, a, r));
      if (r) steps.push(...r.steps);
      else addKept(steps, input, ids);
    }
    const down = await attachDown(mig, steps, ids);
    out.steps.push(...steps);
    if (down) out.rollback.unshift(down);
  }
  return out;
}

function ruleInput(unit: Unit, p: ParsedStatement, a: StatementAnalysis, major: number, ids: IdAllocator, catalog?: Catalog): RuleInput {
  // Parsed again on its own: AST locations are then offsets into the statement's own text.
  const own = parseStatements(p.sql)[0]!;
  return {
    unit: { ...unit, sql: p.sql },
    node: own.node,
    ast: own.ast,
    analysis: a,
    toks: tokenize(p.sql),
    major,
    id: (stem) => ids.take(stem),
    relation: async (schema, name) => catalog?.relation(schema, name),
    primaryKey: async (table) => {
      if (!catalog) return undefined;
      const n = splitName(table);
      const t = await catalog.relation(n.schema, n.name);
      return [...(t?.constraints.values() ?? [])].find((c) => c.type === 'primary key')?.columns;
    },
  };
}

async function applyRule(input: RuleInput): Promise<RuleResult | undefined> {
  const { node, ast, analysis } = input;
  if (node === 'DropStmt') return dropRule(input);
  if (node === 'RenameStmt' && !ast.missing_ok) {
    if (ast.renameType === 'OBJECT_COLUMN' && ast.relationType === 'OBJECT_TABLE') return renameColumnRule(input);
    if (ast.renameType === 'OBJECT_TABLE') return renameTableRule(input);
  }
  if (node === 'AlterTableStmt' && ast.objtype === 'OBJECT_TABLE' && ast.cmds?.length === 1 && !ast.missing_ok) {
    const cmd = ast.cmds[0].AlterTableCmd;
    if (cmd.subtype === 'AT_DropColumn' && cmd.behavior !== 'DROP_CASCADE') return dropColumnRule(input, cmd);
    if (!dangerous(analysis)) return undefined;
    switch (cmd.subtype) {
      case 'AT_AddColumn':
        return addColumnRule(input, cmd);
      case 'AT_AddConstraint':
        return addConstraintRule(input, cmd);
      case 'AT_SetNotNull':
        return setNotNullRule(input, cmd);
      case 'AT_AlterColumnType':
        return columnTypeRule(input, cmd);
    }
    return undefined;
  }
  if (!dangerous(analysis)) return undefined;
  if (node === 'IndexStmt') return createIndexRule(input);
  if (node === 'UpdateStmt') return updateRule(input);
  if (node === 'DeleteStmt') return deleteRule(input);
  return undefined;
}

/** Safe statements join the previous kept `sql` step of the same migration; dangerous ones are held alone. */
function addKept(steps: StepDraft[], input: RuleInput, ids: IdAllocator): void {
  const { unit, analysis } = input;
  const held = dangerous(analysis);
  const original = { text: unit.original, file: unit.file, line: unit.line };
  const last = steps[steps.length - 1];
  const facts = analysis.notes.length ? ` (${analysis.notes.join('; ')})` : '';
  const why = `${unit.file}:${unit.line}: ${lockSummary(analysis)}${facts}.`;
  if (!held && last?.kind === 'sql' && last.stage === 'expand' && !last.gate && last.kept) {
    last.params = `${last.params as string};\n${unit.sql}`;
    last.why += `\n${why}`;
    if (!last.original!.some((o) => o.line === original.line && o.file === original.file)) last.original!.push(original);
    return;
  }
  const step: StepDraft = {
    id: ids.take(held ? `held_${describe(input)}` : `sql_${describe(input)}`),
    kind: 'sql',
    params: unit.sql,
    why: held
      ? `${danger(analysis)} pgrunbook has no safe rewrite for this statement: it runs as written, behind a typed confirmation. ${lockSummary(analysis)}.`
      : `Already safe as written. ${why}`,
    ...(held ? { gate: 'type' as const } : {}),
    original: [original],
    stage: 'expand',
  };
  if (!held) step.kept = true;
  steps.push(step);
}

function describe(input: RuleInput): string {
  const words = input.unit.sql.split(/\s+/).slice(0, 3).join('_');
  return words.replace(/[^A-Za-z0-9_]+/g, '_').toLowerCase();
}

function row(unit: Unit, a: StatementAnalysis, r: RuleResult | undefined): RewriteRow {
  const before = strongestLock(a);
  const held = !r && dangerous(a);
  return {
    file: unit.file,
    line: unit.line,
    col: unit.col,
    statement: unit.sql.replace(/\s+/g, ' ').trim(),
    verdict: r ? (r.held ? 'held' : 'rewritten') : held ? 'held' : 'kept',
    kinds: r ? [...new Set(r.steps.map((s) => s.kind))] : ['sql'],
    lockBefore: before ? sqlModeName(before) : 'none',
    lockAfter: r ? r.lockAfter : before ? sqlModeName(before) : 'none',
    reason: r ? r.reason : held ? `kept behind a type gate: ${danger(a)}` : lockSummary(a),
    analysis: a,
  };
}
