// add_check: ADD CONSTRAINT .. CHECK (expr) NOT VALID, then VALIDATE CONSTRAINT.
// The ADD takes ACCESS EXCLUSIVE but only for a catalog change (new rows are checked from then on);
// VALIDATE scans the table under SHARE UPDATE EXCLUSIVE while reads and writes go on.
// Unique constraints and primary keys are not CHECKs: they need an index, and are carried by
// `create_index` (`add_unique: true` / `add_primary_key: true`), which builds the index
// concurrently and then attaches it with ADD CONSTRAINT .. USING INDEX.
// Rollback drops the constraint only when this run added it.
import { z } from 'zod';
import type { StepKind, PlanContext, StepPlan } from '../engine/step-kind.js';
import type { Problem, StepSpec } from '../runbook/model.js';
import { quoteIdent } from '../pg/connection.js';
import { RunbookError } from '../util/runbook-error.js';
import { boolish, identifier, tableName } from './ddl/ddl-schema.js';
import { findConstraint, findTable, requireTable, planTable, estimatedRowsText } from './ddl/ddl-catalog.js';
import { checkExpression, FragmentError } from './ddl/ddl-fragments.js';
import { log, patchState, runDdl } from './ddl/exec.js';
import { gateFromPlan } from './ddl/gate.js';

const schema = z
  .object({
    table: tableName,
    name: identifier,
    /** The CHECK expression (SQL). */
    expression: z.string().trim().min(1),
    /** false = stop after NOT VALID (validate later in its own step). */
    validate: boolish.default(true),
  })
  .strict();
type Params = z.infer<typeof schema>;

interface State {
  added?: boolean;
}

const addSql = (p: Params, table: string) => `ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(p.name)} CHECK (${p.expression}) NOT VALID`;
const validateSql = (p: Params, table: string) => `ALTER TABLE ${table} VALIDATE CONSTRAINT ${quoteIdent(p.name)}`;

export const addCheck: StepKind<Params> = {
  kind: 'add_check',
  schema,
  sqlFragmentFields: ['expression'],

  async validate(step: StepSpec<Params>): Promise<Problem[]> {
    try {
      await checkExpression(step.params.expression);
      return [];
    } catch (err) {
      if (err instanceof FragmentError) return [{ pos: step.pos, severity: 'error', message: `add_check: expression ${err.message}` }];
      throw err;
    }
  },

  defaultGate: (_s, plan) => gateFromPlan(plan),

  async plan(step, ctx: PlanContext): Promise<StepPlan> {
    const p = step.params;
    const { qualified: table, info: t } = await planTable(ctx.db, p.table);
    const notes: string[] = [];
    if (ctx.db && t) {
      if (await findConstraint(ctx.db, t.oid, p.name)) notes.push(`constraint ${p.name} already exists; apply only validates it if needed`);
      const rows = estimatedRowsText(t);
      if (p.validate && rows) notes.push(`VALIDATE scans ${rows} under SHARE UPDATE EXCLUSIVE`);
    }
    const statements = [
      { sql: addSql(p, table), transactional: true, description: 'add the CHECK, not yet validated (catalog only; new rows are checked)' },
    ];
    if (p.validate)
      statements.push({
        sql: validateSql(p, table),
        transactional: true,
        description: 'validate existing rows while reads and writes go on',
      });
    return {
      statements,
      locks: [
        { relation: table, mode: 'AccessExclusiveLock' },
        ...(p.validate ? [{ relation: table, mode: 'ShareUpdateExclusiveLock' as const }] : []),
      ],
      reversible: true,
      notes,
    };
  },

  async apply(step, ctx) {
    const p = step.params;
    await checkExpression(p.expression);
    const t = await requireTable(ctx.pool, p.table);
    const state = ((await ctx.state.get<State>()) ?? {}) as State;
    let existing = await findConstraint(ctx.pool, t.oid, p.name);
    if (existing && existing.contype !== 'c')
      throw new RunbookError(`a constraint named ${p.name} already exists on ${p.table} and is not a CHECK`, {
        hint: 'choose another `name:`',
      });
    if (!existing) {
      await patchState(ctx, { added: true });
      await runDdl(ctx, addSql(p, t.qualified));
      existing = await findConstraint(ctx.pool, t.oid, p.name);
    } else if (state.added === undefined) {
      await patchState(ctx, { added: false });
      log(ctx, `constraint ${p.name} already exists (${existing.definition})`);
    }
    if (p.validate && existing && !existing.validated) {
      try {
        await runDdl(ctx, validateSql(p, t.qualified));
      } catch (err: any) {
        if (err?.sqlstate === '23514') {
          throw new RunbookError(`existing rows of ${p.table} violate ${p.name}: ${err.message}`, {
            sqlstate: err.sqlstate,
            hint: `fix the rows (SELECT * FROM ${p.table} WHERE NOT (${p.expression}) finds them), then run the step again; the NOT VALID constraint stays and checks new rows (rollback removes it)`,
          });
        }
        throw err;
      }
    }
    return { constraint: p.name };
  },

  async verify(step, ctx) {
    const p = step.params;
    const t = await findTable(ctx.pool, p.table);
    const c = t ? await findConstraint(ctx.pool, t.oid, p.name) : undefined;
    return [
      {
        label: `check ${p.name}`,
        value: c ? (c.validated ? 'validated' : 'NOT VALID') : 'absent',
        ok: c ? c.validated || !p.validate : undefined,
      },
    ];
  },

  async rollback(step, ctx) {
    const p = step.params;
    const state = (await ctx.state.get<State>()) ?? {};
    if (!state.added) return log(ctx, `constraint ${p.name} was not added by this run; leaving it`);
    const t = await findTable(ctx.pool, p.table);
    if (t) await runDdl(ctx, `ALTER TABLE ${t.qualified} DROP CONSTRAINT IF EXISTS ${quoteIdent(p.name)}`);
  },

  async reconcile(step, ctx) {
    const p = step.params;
    const t = await findTable(ctx.pool, p.table);
    const c = t ? await findConstraint(ctx.pool, t.oid, p.name) : undefined;
    if (!c) return { found: 'not-done', detail: `constraint ${p.name} is absent` };
    if (p.validate && !c.validated) return { found: 'not-done', detail: `constraint ${p.name} is NOT VALID; apply validates it` };
    return { found: 'done', detail: `constraint ${p.name} exists` };
  },
};
