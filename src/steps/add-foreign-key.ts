// add_foreign_key: ADD CONSTRAINT .. FOREIGN KEY .. NOT VALID, then VALIDATE CONSTRAINT.
// A plain ADD FOREIGN KEY holds SHARE ROW EXCLUSIVE on both tables (writes blocked) while it
// scans the whole referencing table. Split in two, the first statement is catalog-only (new rows
// are checked from then on) and the scan happens in VALIDATE, under SHARE UPDATE EXCLUSIVE on the
// referencing table and ROW SHARE on the referenced one, so reads and writes go on.
// Rollback drops the constraint only when this run added it.
import { z } from 'zod';
import type { StepKind, StepContext, PlanContext, StepPlan } from '../engine/step-kind.js';
import { quoteIdent } from '../pg/connection.js';
import { RunbookError } from '../util/runbook-error.js';
import { boolish, identList, identifier, tableName } from './ddl/ddl-schema.js';
import { findConstraint, findTable, requireTable, planTable } from './ddl/ddl-catalog.js';
import { probing } from '../pg/probe.js';
import { derivedName } from './ddl/ddl-names.js';
import { log, patchState, runDdl } from './ddl/exec.js';
import { gateFromPlan } from './ddl/gate.js';
import { sqlText } from '../pg/sql-files.js';

const ACTIONS = ['no action', 'restrict', 'cascade', 'set null', 'set default'] as const;
const action = z.preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase().replace(/_/g, ' ') : v), z.enum(ACTIONS));

const schema = z
  .object({
    table: tableName,
    columns: identList,
    references: z.object({ table: tableName, columns: identList }).strict(),
    name: identifier.optional(),
    on_delete: action.optional(),
    on_update: action.optional(),
    /** false = stop after NOT VALID (validate later in its own step). */
    validate: boolish.default(true),
  })
  .strict()
  .refine((p) => p.columns.length === p.references.columns.length, { message: 'columns and references.columns must have the same length' });
type Params = z.infer<typeof schema>;

interface State {
  added?: boolean;
}

function fkName(p: Params): string {
  return p.name ?? derivedName(p.table, p.columns, 'fkey');
}

function addSql(p: Params, table: string, ref: string): string {
  let sql = `ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(fkName(p))} FOREIGN KEY (${p.columns.map(quoteIdent).join(', ')}) REFERENCES ${ref} (${p.references.columns.map(quoteIdent).join(', ')})`;
  if (p.on_delete) sql += ` ON DELETE ${p.on_delete.toUpperCase()}`;
  if (p.on_update) sql += ` ON UPDATE ${p.on_update.toUpperCase()}`;
  return `${sql} NOT VALID`;
}

function validateSql(p: Params, table: string): string {
  return `ALTER TABLE ${table} VALIDATE CONSTRAINT ${quoteIdent(fkName(p))}`;
}

/** Is there an index whose leading columns are the referencing columns? (Deletes on the parent need one.) */
async function hasSupportingIndex(db: PlanContext['db'] & {}, tableOid: number, columns: string[]): Promise<boolean> {
  const r = await probing(db).query<{ ok: boolean }>(sqlText('pg/catalog/sql', 'leading-index-columns'), [
    tableOid,
    columns,
    columns.length - 1,
  ]);
  const rows = r.rows;
  return rows[0]?.ok === true;
}

export const addForeignKey: StepKind<Params> = {
  kind: 'add_foreign_key',
  schema: schema as unknown as z.ZodType<Params>,
  defaultGate: (_s, plan) => gateFromPlan(plan),

  async plan(step, ctx: PlanContext): Promise<StepPlan> {
    const p = step.params;
    const { qualified: table, info: t } = await planTable(ctx.db, p.table);
    const { qualified: ref } = await planTable(ctx.db, p.references.table);
    const notes: string[] = [];
    if (ctx.db) {
      if (t && !(await hasSupportingIndex(ctx.db, t.oid, p.columns))) {
        notes.push(
          `no index on ${p.table} (${p.columns.join(', ')}): every DELETE or key UPDATE on ${p.references.table} will scan ${p.table}; consider a create_index step first`,
        );
      }
      if (t && (await findConstraint(ctx.db, t.oid, fkName(p))))
        notes.push(`constraint ${fkName(p)} already exists; apply only validates it if needed`);
    }
    const statements = [
      {
        sql: addSql(p, table, ref),
        transactional: true,
        description: 'add the foreign key, not yet validated (catalog only; new rows are checked)',
      },
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
        { relation: table, mode: 'ShareRowExclusiveLock' },
        { relation: ref, mode: 'ShareRowExclusiveLock' },
        ...(p.validate
          ? [
              { relation: table, mode: 'ShareUpdateExclusiveLock' as const },
              { relation: ref, mode: 'RowShareLock' as const },
            ]
          : []),
      ],
      reversible: true,
      notes,
    };
  },

  async apply(step, ctx: StepContext) {
    const p = step.params;
    const t = await requireTable(ctx.pool, p.table);
    const r = await requireTable(ctx.pool, p.references.table);
    const name = fkName(p);
    const state = ((await ctx.state.get<State>()) ?? {}) as State;
    let existing = await findConstraint(ctx.pool, t.oid, name);
    if (existing && existing.contype !== 'f')
      throw new RunbookError(`a constraint named ${name} already exists on ${p.table} and is not a foreign key`, {
        hint: 'choose another `name:`',
      });
    if (!existing) {
      await patchState(ctx, { added: true });
      await runDdl(ctx, addSql(p, t.qualified, r.qualified));
      existing = await findConstraint(ctx.pool, t.oid, name);
    } else if (state.added === undefined) {
      await patchState(ctx, { added: false });
      log(ctx, `foreign key ${name} already exists${existing.validated ? ' and is validated' : ''}`);
    }
    if (p.validate && existing && !existing.validated) {
      try {
        await runDdl(ctx, validateSql(p, t.qualified));
      } catch (err: any) {
        if (err?.sqlstate === '23503') {
          throw new RunbookError(`rows in ${p.table} reference missing ${p.references.table} rows: ${err.message}`, {
            sqlstate: err.sqlstate,
            hint: `fix or delete the orphan rows, then run the step again; the NOT VALID constraint ${name} stays and already checks new rows (rollback removes it)`,
          });
        }
        throw err;
      }
    }
    return { constraint: name };
  },

  async verify(step, ctx) {
    const p = step.params;
    const t = await findTable(ctx.pool, p.table);
    const c = t ? await findConstraint(ctx.pool, t.oid, fkName(p)) : undefined;
    return [
      {
        label: `foreign key ${fkName(p)}`,
        value: c ? (c.validated ? 'validated' : 'NOT VALID') : 'absent',
        ok: c ? c.validated || !p.validate : undefined,
      },
    ];
  },

  async rollback(step, ctx) {
    const p = step.params;
    const state = (await ctx.state.get<State>()) ?? {};
    if (!state.added) return log(ctx, `foreign key ${fkName(p)} was not added by this run; leaving it`);
    const t = await findTable(ctx.pool, p.table);
    if (t) await runDdl(ctx, `ALTER TABLE ${t.qualified} DROP CONSTRAINT IF EXISTS ${quoteIdent(fkName(p))}`);
  },

  async reconcile(step, ctx) {
    const p = step.params;
    const t = await findTable(ctx.pool, p.table);
    const c = t ? await findConstraint(ctx.pool, t.oid, fkName(p)) : undefined;
    if (!c) return { found: 'not-done', detail: `foreign key ${fkName(p)} is absent` };
    if (p.validate && !c.validated)
      return { found: 'not-done', detail: `foreign key ${fkName(p)} exists but is NOT VALID; apply validates it` };
    return { found: 'done', detail: `foreign key ${fkName(p)} exists${c.validated ? ' and is validated' : ''}` };
  },
};
