// ALTER COLUMN … TYPE that rewrites the table (int → bigint included) → change_column expand/contract
// when the live catalog shows nothing else uses the column; otherwise swap_table: a shadow table with
// the new type, kept in sync by triggers, copied in batches, swapped under a short lock, which also
// carries indexes, constraints and views over. A binary-coercible change is not rewritten at all
// (the analyzer says so, and the step says why).
import { findKeyword, findStop, textOf, tokenAt } from '../sql-text.js';
import { danger, draft, relName, type RuleInput, type RuleResult } from './rule-context.js';
import { columnBlockers, typeChangeByExpandContract } from './change-column-rule.js';

/** Why the shadow table rather than change_column, for the step's `why:`. */
async function whySwap(input: RuleInput, column: string): Promise<string> {
  const rv = input.ast.relation;
  const blockers = columnBlockers(await input.relation(rv.schemaname, rv.relname), column);
  if (!blockers)
    return ` Without --db pgrunbook cannot see what uses ${column}; with --db, a column no index, constraint, view or trigger uses becomes a lighter change_column expand/contract.`;
  return ` Not change_column: ${blockers.join('; ')}; the shadow table carries these over.`;
}

export async function columnTypeRule(input: RuleInput, cmd: any): Promise<RuleResult | undefined> {
  const def = cmd.def?.ColumnDef;
  if (!def?.typeName || def.collClause || !input.analysis.rewrite) return undefined;
  const toks = input.toks;
  const start = tokenAt(toks, def.typeName.location);
  const end = findStop(toks, start, ['USING', 'COLLATE', ',']);
  const type = textOf(input.unit.sql, toks, start, end);
  const u = findKeyword(toks, end, toks.length, 'USING', toks[start]!.depth);
  const using = u >= 0 ? textOf(input.unit.sql, toks, u + 1, findStop(toks, u + 1, [','])) : undefined;
  const byColumn = await typeChangeByExpandContract(input, cmd, type, using);
  if (byColumn) return byColumn;
  const table = relName(input.ast.relation);
  const step = draft(input, {
    id: input.id(`swap_${input.ast.relation.relname}`),
    kind: 'swap_table',
    params: { table, columns: [{ name: cmd.name, type, ...(using ? { using } : {}) }] },
    why: `${danger(input.analysis)} Instead: a shadow copy of ${table} with the new type, kept in sync by triggers and filled in batches, swapped in under a short ACCESS EXCLUSIVE lock; the old table stays as ${input.ast.relation.relname}_old until a later drop_old step.${await whySwap(input, cmd.name)}`,
  });
  const dropOld = draft(input, {
    id: input.id(`drop_${input.ast.relation.relname}_old`),
    kind: 'swap_table',
    params: { table, drop_old: true },
    gate: 'type',
    why: `Contract: drops ${input.ast.relation.relname}_old and the trigger that mirrors writes back into it. Until then the swap can be undone; after it, it cannot.`,
    stage: 'contract',
  });
  return {
    steps: [step, dropOld],
    reason: 'ALTER COLUMN TYPE (rewrite) → swap_table (+ drop_old as a contract step)',
    lockAfter: 'SHARE ROW EXCLUSIVE for the triggers; ACCESS EXCLUSIVE for the swap only (milliseconds)',
  };
}
