// An UPDATE of every row (or of most rows, through a WHERE no index serves) → backfill: keyset
// batches in short transactions, so rows are not all locked until one big commit.
import { findStop, textOf, tokenAt, findKeyword } from '../sql-text.js';
import { danger, draft, relName, type RuleInput, type RuleResult } from './rule-context.js';

export function updateRule(input: RuleInput): RuleResult | undefined {
  const u = input.ast;
  if (u.fromClause || u.returningList || u.withClause || !u.relation || u.relation.alias) return undefined;
  const toks = input.toks;
  const set = findKeyword(toks, tokenAt(toks, u.relation.location), toks.length, 'SET', 0);
  if (set < 0) return undefined;
  const setEnd = findStop(toks, set + 1, ['WHERE', 'FROM', 'RETURNING']);
  const w = findKeyword(toks, setEnd, toks.length, 'WHERE', 0);
  const params = {
    table: relName(u.relation),
    set: textOf(input.unit.sql, toks, set + 1, setEnd),
    ...(w >= 0 ? { where: textOf(input.unit.sql, toks, w + 1, toks.length) } : {}),
  };
  const step = draft(input, {
    id: input.id(`backfill_${u.relation.relname}`),
    kind: 'backfill',
    params,
    why: `${danger(input.analysis)} Instead: keyset batches of about 100 ms, each its own short transaction (ROW EXCLUSIVE; row locks on one batch at a time), with replication-lag throttling. The old values are not kept: the step cannot be undone.`,
  });
  return {
    steps: [step],
    reason: 'UPDATE of the whole table → backfill (batched)',
    lockAfter: 'ROW EXCLUSIVE, row locks one batch at a time',
  };
}
