// check: a read-only query whose result must satisfy a condition. Passing gives evidence for the
// gates that follow; failing fails the step with the actual value.
//   check:
//     query: SELECT count(*) FROM orders WHERE amount_cents IS NULL
//     expect: "= 0"            # first column of the first row; and/or rows: 0 | "> 10" | nonempty
import { RunbookError } from '../util/runbook-error.js';
import { evaluate, zCondition, type QueryCondition } from './lib/condition.js';
import { queryProblems } from './lib/query-checks.js';
import { readOnlyQuery } from './lib/read-query.js';
import { runRollbackSql } from './lib/rollback-sql.js';
import type { StepKind } from '../engine/step-kind.js';
import { rerunIsHarmless } from './lib/reconcile.js';

function conditionText(c: QueryCondition): string {
  return [c.expect ? `first value ${c.expect.text}` : '', c.rows ? `rows ${c.rows.text}` : ''].filter(Boolean).join(' and ');
}

export const checkKind: StepKind<QueryCondition> = {
  kind: 'check',
  schema: zCondition.describe('A read-only query and a condition on its result (expect and/or rows).'),
  sqlFields: ['query'],

  validate(step) {
    return queryProblems(step.params.query, step, 'check.query');
  },

  plan(step) {
    return {
      statements: [{ sql: step.params.query, transactional: true, description: `check: ${conditionText(step.params)}` }],
      locks: [],
      reversible: true,
      notes: [`read-only; passes when ${conditionText(step.params)}`],
    };
  },

  async apply(step, ctx) {
    const out = evaluate(step.params, await readOnlyQuery(ctx, step.params.query));
    ctx.emit({ type: 'step.evidence', stepId: step.id, evidence: out.evidence });
    if (!out.ok) {
      throw new RunbookError(`check failed: ${out.summary}`, {
        hint: 'the database is not in the state this step expects; find out why before going on (the run stays resumable)',
      });
    }
    return { ok: true, value: out.value ?? null, rows: out.rows };
  },

  async verify(step, ctx) {
    return evaluate(step.params, await readOnlyQuery(ctx, step.params.query)).evidence;
  },

  rollback: runRollbackSql,
  reconcile: rerunIsHarmless,
};
