// not_null: make a column NOT NULL without holding ACCESS EXCLUSIVE during a full-table scan.
//   PG 12-17: ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID  (ACCESS EXCLUSIVE, instant)
//             VALIDATE CONSTRAINT c                               (SHARE UPDATE EXCLUSIVE, scans;
//                                                                  reads and writes go on)
//             SET NOT NULL; DROP CONSTRAINT c                     (ACCESS EXCLUSIVE, no scan: the
//                                                                  validated CHECK proves it)
//   PG 18+:   ADD CONSTRAINT c NOT NULL col NOT VALID; VALIDATE CONSTRAINT c  (native, the
//             constraint itself becomes the column's NOT NULL)
// Gate evidence (verify): remaining NULLs, which must be 0 before starting (run the backfill first).
// Rollback: DROP NOT NULL (and any helper CHECK) only when this run set it.
import { z } from 'zod';
import type { StepKind, StepContext, PlanContext, StepPlan, PlannedStatement } from '../engine/step-kind.js';
import { quoteIdent } from '../pg/connection.js';
import { RunbookError } from '../util/runbook-error.js';
import { identifier, tableName } from './ddl/ddl-schema.js';
import { findColumn, findConstraint, findTable, requireColumn, requireTable, planTable, estimatedRowsText } from './ddl/ddl-catalog.js';
import { probe, probing } from '../pg/probe.js';
import type { TableFacts } from '../pg/catalog/catalog-types.js';
import type { Queryable } from '../pg/queryable.js';
import { derivedName } from './ddl/ddl-names.js';
import { log, patchState, runDdl } from './ddl/exec.js';
import { gateFromPlan } from './ddl/gate.js';
import { sqlText } from '../pg/sql-files.js';

const schema = z
  .object({
    table: tableName,
    column: identifier,
    /** Name of the helper CHECK (PG < 18) or of the NOT NULL constraint (PG 18). */
    constraint: identifier.optional(),
  })
  .strict();
type Params = z.infer<typeof schema>;

interface State {
  /** false = the column was nullable when this run started, so rollback may DROP NOT NULL. */
  wasNotNull?: boolean;
}

const NATIVE_FROM = 180000;

function constraintName(p: Params): string {
  return p.constraint ?? derivedName(p.table, [p.column], 'not_null');
}

function statementsFor(p: Params, table: string, versionNum: number): PlannedStatement[] {
  const col = quoteIdent(p.column);
  const c = quoteIdent(constraintName(p));
  if (versionNum >= NATIVE_FROM) {
    return [
      {
        sql: `ALTER TABLE ${table} ADD CONSTRAINT ${c} NOT NULL ${col} NOT VALID`,
        transactional: true,
        description: 'add the NOT NULL constraint, not yet validated (new rows are checked)',
      },
      {
        sql: `ALTER TABLE ${table} VALIDATE CONSTRAINT ${c}`,
        transactional: true,
        description: 'validate: scan existing rows while reads and writes go on',
      },
    ];
  }
  return [
    {
      sql: `ALTER TABLE ${table} ADD CONSTRAINT ${c} CHECK (${col} IS NOT NULL) NOT VALID`,
      transactional: true,
      description: 'add the CHECK, not yet validated (new rows are checked)',
    },
    {
      sql: `ALTER TABLE ${table} VALIDATE CONSTRAINT ${c}`,
      transactional: true,
      description: 'validate: scan existing rows while reads and writes go on',
    },
    {
      sql: `ALTER TABLE ${table} ALTER COLUMN ${col} SET NOT NULL;\nALTER TABLE ${table} DROP CONSTRAINT ${c}`,
      transactional: true,
      description: 'SET NOT NULL (no scan: the validated CHECK proves it), then drop the CHECK, in one short transaction',
    },
  ];
}

async function remainingNulls(ctx: StepContext, t: TableFacts, column: string): Promise<number> {
  const rows = await probe<{ n: string }>(ctx.pool, `select count(*) as n from ${t.qualified} where ${quoteIdent(column)} is null`, {
    lockTimeoutMs: ctx.step.settings.lockTimeoutMs,
    statementTimeoutMs: ctx.step.settings.statementTimeoutMs,
  });
  return Number(rows[0]?.n ?? 0);
}

/** NOT NULL and (on PG 18) its constraint validated. */
async function isNotNull(q: Queryable, versionNum: number, t: TableFacts, column: string): Promise<boolean> {
  const c = await findColumn(q, t.oid, column);
  if (!c?.notNull) return false;
  if (versionNum < NATIVE_FROM) return true;
  const { rows } = await probing(q).query<{ ok: boolean }>(sqlText('pg/catalog/sql', 'not-null-validated'), [t.oid, c.attnum]);
  return rows[0]?.ok !== false;
}

const isDone = (ctx: StepContext, t: TableFacts, column: string) => isNotNull(ctx.pool, ctx.serverVersionNum, t, column);

/** The plan of a column that is NOT NULL already: nothing runs, nothing is locked, nothing is scanned. */
function alreadyDonePlan(column: string): StepPlan {
  const why = `${column} is already NOT NULL: nothing to do`;
  return { statements: [], locks: [], reversible: true, notes: [why], nothingToDo: why };
}

export const notNull: StepKind<Params> = {
  kind: 'not_null',
  schema,
  defaultGate: (_s, plan) => gateFromPlan(plan),

  async plan(step, ctx: PlanContext): Promise<StepPlan> {
    const p = step.params;
    const version = ctx.serverVersionNum ?? 170000;
    const { qualified: table, info: t } = await planTable(ctx.db, p.table);
    if (ctx.db && t && (await isNotNull(ctx.db, version, t, p.column))) return alreadyDonePlan(p.column);
    const notes: string[] = [];
    const rows = t && estimatedRowsText(t);
    if (rows) notes.push(`VALIDATE scans ${rows} under SHARE UPDATE EXCLUSIVE`);
    notes.push(
      version >= NATIVE_FROM
        ? 'PostgreSQL 18: native NOT NULL .. NOT VALID, then VALIDATE; no helper CHECK'
        : 'PostgreSQL < 18: helper CHECK NOT VALID, VALIDATE, then SET NOT NULL skips its scan because the validated CHECK proves it',
    );
    if (!ctx.serverVersionNum) notes.push('server version unknown: showing the PostgreSQL < 18 form');
    return {
      statements: statementsFor(p, table, version),
      locks: [
        { relation: table, mode: 'AccessExclusiveLock' },
        { relation: table, mode: 'ShareUpdateExclusiveLock' },
      ],
      reversible: true,
      notes,
    };
  },

  async apply(step, ctx) {
    const p = step.params;
    const t = await requireTable(ctx.pool, p.table);
    const col = await requireColumn(ctx.pool, t, p.column);
    const state = ((await ctx.state.get<State>()) ?? {}) as State;
    if (await isDone(ctx, t, p.column)) {
      if (state.wasNotNull === undefined) await patchState(ctx, { wasNotNull: true });
      log(ctx, `${p.column} is already NOT NULL; nothing to do`);
      return { changed: false };
    }
    if (state.wasNotNull === undefined) await patchState(ctx, { wasNotNull: col.notNull });
    const name = constraintName(p);
    const stmts = statementsFor(p, t.qualified, ctx.serverVersionNum);
    const existing = await findConstraint(ctx.pool, t.oid, name);
    // Resume-safe: skip the ADD when an earlier attempt already created the constraint.
    const todo = existing ? stmts.slice(existing.validated ? 2 : 1) : stmts;
    for (const st of todo) {
      try {
        await runDdl(ctx, st.sql);
      } catch (err: any) {
        if (err?.sqlstate === '23514' || err?.sqlstate === '23502') {
          throw new RunbookError(`${p.column} still has NULL values; the constraint cannot be validated`, {
            sqlstate: err.sqlstate,
            hint: `finish the backfill first (remaining NULLs are shown as gate evidence); the NOT VALID constraint ${name} stays and keeps new rows non-null, and rollback removes it`,
          });
        }
        throw err;
      }
    }
    return { changed: true };
  },

  async verify(step, ctx) {
    const p = step.params;
    const t = await findTable(ctx.pool, p.table);
    if (!t) return [{ label: 'table', value: `${p.table} not found`, ok: false }];
    const c = await findColumn(ctx.pool, t.oid, p.column);
    if (!c) return [{ label: 'column', value: `${p.column} not found`, ok: false }];
    const nulls = await remainingNulls(ctx, t, p.column);
    return [
      {
        label: `remaining NULLs in ${p.column}`,
        value: nulls,
        ok: nulls === 0,
        detail: nulls ? 'run (or finish) the backfill before this step' : undefined,
      },
      { label: 'NOT NULL', value: await isDone(ctx, t, p.column) },
    ];
  },

  async rollback(step, ctx) {
    const p = step.params;
    const state = (await ctx.state.get<State>()) ?? {};
    if (state.wasNotNull !== false) {
      log(ctx, `${p.column} was not made NOT NULL by this run; leaving it`);
      return;
    }
    const t = await findTable(ctx.pool, p.table);
    if (!t || !(await findColumn(ctx.pool, t.oid, p.column))) return;
    const c = quoteIdent(constraintName(p));
    // DROP NOT NULL is catalog-only; on PG 18 it also drops the native constraint.
    await runDdl(
      ctx,
      `ALTER TABLE ${t.qualified} ALTER COLUMN ${quoteIdent(p.column)} DROP NOT NULL;\nALTER TABLE ${t.qualified} DROP CONSTRAINT IF EXISTS ${c}`,
    );
  },

  async reconcile(step, ctx) {
    const p = step.params;
    const t = await findTable(ctx.pool, p.table);
    if (!t) return { found: 'not-done', detail: `table ${p.table} does not exist` };
    if (!(await findColumn(ctx.pool, t.oid, p.column))) return { found: 'not-done', detail: `column ${p.column} does not exist` };
    return (await isDone(ctx, t, p.column))
      ? { found: 'done', detail: `${p.column} is NOT NULL` }
      : { found: 'not-done', detail: `${p.column} is still nullable` };
  },
};
