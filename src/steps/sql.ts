// sql: runs the step's SQL under the lock-safe executor (lock_timeout always, retries on 55P03,
// statements that cannot run in a transaction block on their own). Optional step-level
// `rollback:` SQL makes it reversible; the runner runs that SQL in the rollback phase.
import { z } from 'zod';
import { loadParser, parseStatements, type ParsedStatement } from '../pg/sqlparse.js';
import { statementHead } from '../runbook/sqlCheck.js';
import type { LockMode, PlannedLock, StepKind, StepPlan } from './types.js';

const LOCK_MODES: LockMode[] = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
];

function rel(rv: any): string | undefined {
  if (!rv?.relname) return undefined;
  return rv.schemaname ? `${rv.schemaname}.${rv.relname}` : rv.relname;
}

/**
 * Table-level locks that follow from the statement type alone. Precise analysis (ALTER TABLE
 * subcommands, scans, rewrites, per server version) is the analyzer's job; ALTER TABLE is reported
 * here as the upper bound, ACCESS EXCLUSIVE, except VALIDATE CONSTRAINT.
 */
export function obviousLocks(st: ParsedStatement): PlannedLock[] {
  const a = st.ast;
  const one = (rv: any, mode: LockMode): PlannedLock[] => {
    const r = rel(rv);
    return r ? [{ relation: r, mode }] : [];
  };
  switch (st.node) {
    case 'IndexStmt':
      return one(a.relation, a.concurrent ? 'ShareUpdateExclusiveLock' : 'ShareLock');
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      return one(a.relation, 'RowExclusiveLock');
    case 'TruncateStmt':
      return (a.relations ?? []).flatMap((r: any) => one(r.RangeVar, 'AccessExclusiveLock'));
    case 'LockStmt': {
      const mode = LOCK_MODES[(a.mode ?? 8) - 1] ?? 'AccessExclusiveLock';
      return (a.relations ?? []).flatMap((r: any) => one(r.RangeVar, mode));
    }
    case 'VacuumStmt': {
      const full = (a.options ?? []).some((o: any) => o.DefElem?.defname === 'full');
      return (a.rels ?? []).flatMap((r: any) => one(r.VacuumRelation?.relation, full ? 'AccessExclusiveLock' : 'ShareUpdateExclusiveLock'));
    }
    case 'DropStmt':
      if (a.removeType !== 'OBJECT_TABLE') return [];
      return (a.objects ?? []).map((o: any) => ({
        relation: (o.List?.items ?? []).map((s: any) => s.String?.sval).join('.'),
        mode: 'AccessExclusiveLock' as LockMode,
      }));
    case 'AlterTableStmt': {
      const cmds = (a.cmds ?? []).map((c: any) => c.AlterTableCmd?.subtype);
      const light = cmds.length > 0 && cmds.every((t: string) => t === 'AT_ValidateConstraint');
      return one(a.relation, light ? 'ShareUpdateExclusiveLock' : 'AccessExclusiveLock');
    }
    default:
      return [];
  }
}

export async function planSql(sql: string): Promise<Pick<StepPlan, 'statements' | 'locks' | 'notes'>> {
  await loadParser();
  const parsed = parseStatements(sql);
  const notes: string[] = [];
  for (const st of parsed) {
    if (!st.transactional) notes.push(`${statementHead(st.sql)} runs on its own, outside a transaction (autocommit)`);
  }
  // Strongest mode per relation.
  const locks = new Map<string, LockMode>();
  for (const l of parsed.flatMap(obviousLocks)) {
    const prev = locks.get(l.relation);
    if (!prev || LOCK_MODES.indexOf(l.mode) > LOCK_MODES.indexOf(prev)) locks.set(l.relation, l.mode);
  }
  return {
    statements: parsed.map((st) => ({ sql: st.sql, transactional: st.transactional, description: statementHead(st.sql, 6) })),
    locks: [...locks].map(([relation, mode]) => ({ relation, mode })),
    notes,
  };
}

export const sqlKind: StepKind<string> = {
  kind: 'sql',
  schema: z
    .string({ error: (iss) => `expected SQL text, got ${iss.input === null || iss.input === undefined ? 'nothing' : Array.isArray(iss.input) ? 'a list' : typeof iss.input === 'object' ? 'a mapping' : typeof iss.input}` })
    .trim()
    .min(1, { error: 'the SQL is empty' })
    .describe('SQL to run under the lock-safe executor. Use {{ name }} for identifiers, {{ name | literal }} for values.'),
  sqlFields: [''],

  async plan(step) {
    const p = await planSql(step.params);
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
