// An UPDATE of every row (or of most rows, through a WHERE no index serves) → backfill: keyset
// batches in short transactions, so rows are not all locked until one big commit.
import { findStop, textOf, tokenAt, findKeyword } from '../sql-text.js';
import { unknownRelation } from '../../analyze/analysis-catalog.js';
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

/**
 * A DELETE of every row (or of most rows, through a WHERE no index serves) → batched_delete: keyset
 * batches in short transactions instead of one transaction holding every row lock; with the live
 * catalog, a table without a primary key is left to the caller (held, the reason in `why:`).
 */
export async function deleteRule(input: RuleInput): Promise<RuleResult | undefined> {
  const d = input.ast;
  if (d.usingClause || d.returningList || d.withClause || !d.relation || d.relation.alias) return undefined;
  const table = relName(d.relation);
  const t = await input.relation(d.relation.schemaname, d.relation.relname);
  const known = !unknownRelation(t);
  if (known && ![...t!.constraints.values()].some((c) => c.type === 'primary key')) return undefined;
  const toks = input.toks;
  const w = findKeyword(toks, tokenAt(toks, d.relation.location), toks.length, 'WHERE', 0);
  const step = draft(input, {
    id: input.id(`delete_${d.relation.relname}`),
    kind: 'batched_delete',
    params: { table, ...(w >= 0 ? { where: textOf(input.unit.sql, toks, w + 1, toks.length) } : {}) },
    why: `${danger(input.analysis)} Instead: keyset batches over the primary key of about 100 ms each, each its own short transaction (ROW EXCLUSIVE; row locks on one batch at a time), slowed down when standbys lag, sessions wait on its rows, the application's latency rises (pg_stat_statements), WAL or checkpoints run hot, or the host's CPU or I/O wait is high (with --node-exporter or --prometheus); a crash or resume goes on from the last batch. The deleted rows are not kept: the step cannot be undone.${known ? '' : ' Without --db pgrunbook cannot see the primary key the batches walk: `pgrunbook plan --db` fails clearly if there is none.'}`,
  });
  return {
    steps: [step],
    reason: 'DELETE of the whole table → batched_delete',
    lockAfter: 'ROW EXCLUSIVE, row locks one batch at a time',
  };
}
