// sql: runs the step's SQL under the lock-safe executor (lock_timeout always, retries on 55P03,
// statements that cannot run in a transaction block on their own). Optional step-level
// `rollback:` SQL makes it reversible; the runner runs that SQL in the rollback phase.
import { z } from 'zod';
import { loadParser } from '../pg/sqlparse.js';
import { analyzeSql } from '../analyze/analyze-statements.js';
import { statementHead } from '../runbook/sql-check.js';
import { LOCK_STRENGTH, type LockMode } from '../pg/lock-modes.js';
import type { StepKind, StepPlan } from '../engine/step-kind.js';

/** Statements, locks and notes from the analyzer (offline: the statement forms and the server version). */
export async function planSql(sql: string, serverVersionNum?: number): Promise<Pick<StepPlan, 'statements' | 'locks' | 'notes'>> {
  await loadParser();
  const report = await analyzeSql(sql, { serverVersionNum, squawk: false, lockTimeout: true });
  const notes: string[] = [];
  const locks = new Map<string, LockMode>();
  for (const st of report.statements) {
    const head = statementHead(st.sql);
    if (!st.transactional) notes.push(`${head} runs on its own, outside a transaction (autocommit)`);
    if (st.rewrite) notes.push(`${head} rewrites ${st.sizeDriver.join(', ') || 'the table'}`);
    else if (st.tableScan) notes.push(`${head} reads ${st.sizeDriver.join(', ') || 'the table'} in full`);
    for (const f of st.findings) if (f.severity !== 'info') notes.push(`${f.rule}: ${f.message}`);
    // Strongest mode per relation.
    for (const l of st.locks) {
      const prev = locks.get(l.relation);
      if (!prev || LOCK_STRENGTH[l.mode] > LOCK_STRENGTH[prev]) locks.set(l.relation, l.mode);
    }
  }
  return {
    statements: report.statements.map((st) => ({ sql: st.sql, transactional: st.transactional, description: statementHead(st.sql, 6) })),
    locks: [...locks].map(([relation, mode]) => ({ relation, mode })),
    notes,
  };
}

export const sqlKind: StepKind<string> = {
  kind: 'sql',
  schema: z
    .string({
      error: (iss) =>
        `expected SQL text, got ${iss.input === null || iss.input === undefined ? 'nothing' : Array.isArray(iss.input) ? 'a list' : typeof iss.input === 'object' ? 'a mapping' : typeof iss.input}`,
    })
    .trim()
    .min(1, { error: 'the SQL is empty' })
    .describe('SQL to run under the lock-safe executor. Use {{ name }} for identifiers, {{ name | literal }} for values.'),
  sqlFields: [''],

  async plan(step, ctx) {
    const p = await planSql(step.params, ctx.serverVersionNum);
    return {
      ...p,
      reversible: step.rollback !== undefined,
      ...(step.rollback === undefined ? { irreversibleReason: 'no rollback: SQL is given for this step' } : {}),
    };
  },

  async apply(step, ctx) {
    const results = await ctx.executor.run(step.params, {
      stepId: step.id,
      lockTimeoutMs: step.settings.lockTimeoutMs,
      statementTimeoutMs: step.settings.statementTimeoutMs,
      retries: step.settings.ddlRetries,
      signal: ctx.signal,
    });
    return { statements: results.map((r) => ({ command: r.command, rowCount: r.rowCount })) };
  },
};
