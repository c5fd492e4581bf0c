// ALTER COLUMN … TYPE that rewrites the table (int → bigint included) → swap_table: a shadow table
// with the new type, kept in sync by triggers, copied in batches, swapped under a short lock.
// A binary-coercible change is not rewritten at all (the analyzer says so, and the step says why).
import { findKeyword, findStop, textOf, tokenAt } from '../sql-text.js';
import { danger, draft, relName, type RuleInput, type RuleResult } from './rule-context.js';

export function columnTypeRule(input: RuleInput, cmd: any): RuleResult | undefined {
  const def = cmd.def?.ColumnDef;
  if (!def?.typeName || def.collClause || !input.analysis.rewrite) return undefined;
  const toks = input.toks;
  const start = tokenAt(toks, def.typeName.location);
  const end = findStop(toks, start, ['USING', 'COLLATE', ',']);
  const type = textOf(input.unit.sql, toks, start, end);
  const u = findKeyword(toks, end, toks.length, 'USING', toks[start]!.depth);
  const using = u >= 0 ? textOf(input.unit.sql, toks, u + 1, findStop(toks, u + 1, [','])) : undefined;
  const table = relName(input.ast.relation);
  const step = draft(input, {
    id: input.id(`swap_${input.ast.relation.relname}`),
    kind: 'swap_table',
    params: { table, columns: [{ name: cmd.name, type, ...(using ? { using } : {}) }] },
    why: `${danger(input.analysis)} Instead: a shadow copy of ${table} with the new type, kept in sync by triggers and filled in batches, swapped in under a short ACCESS EXCLUSIVE lock; the old table stays as ${input.ast.relation.relname}_old until a later drop_old step.`,
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
