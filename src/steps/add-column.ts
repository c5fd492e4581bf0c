// add_column: ALTER TABLE .. ADD COLUMN, the cheap way. On PostgreSQL >= 11 adding a column with
// no default or a non-volatile default only touches the catalog, so the ACCESS EXCLUSIVE lock is
// held for milliseconds; the danger is the wait for it, which the executor bounds with
// lock_timeout and retries. Two shapes are refused, each with the safe alternative named:
//   - a volatile default (random(), clock_timestamp(), gen_random_uuid(), serial, identity,
//     GENERATED .. STORED) rewrites the whole table under ACCESS EXCLUSIVE;
//   - NOT NULL without a default fails on a table with rows (and would need a scan).
// Rollback drops the column only when this run added it (recorded in the step state).
import { z } from 'zod';
import type { StepKind, StepContext, PlanContext, StepPlan } from '../engine/step-kind.js';
import type { Queryable } from '../pg/queryable.js';
import type { Problem, StepSpec } from '../runbook/model.js';
import { quoteIdent } from '../pg/connection.js';
import { RunbookError } from '../util/runbook-error.js';
import { boolish, identifier, tableName } from './ddl/ddl-schema.js';
import { findColumn, findTable, hasRows, requireTable, planTable } from './ddl/ddl-catalog.js';
import { checkExpression, checkTypeName, FragmentError, KNOWN_VOLATILE, SERIAL_TYPES } from './ddl/ddl-fragments.js';
import { log, patchState, runDdl } from './ddl/exec.js';
import { gateFromPlan } from './ddl/gate.js';
import { sqlText } from '../pg/sql-files.js';

/** Numbers as SQL text; an integer past 2^53 has already lost digits in YAML, so it must be quoted. */
const sqlDefault = z
  .union([
    z.string().trim().min(1),
    z.number().refine((n) => !Number.isInteger(n) || Number.isSafeInteger(n), {
      error: (iss) =>
        `${String(iss.input)} is too large for an exact YAML number: quote it (default: "12345678901234567890") so the digits reach SQL as written`,
    }),
    z.boolean(),
  ])
  .transform((v) => (typeof v === 'string' ? v : String(v)))
  .describe('SQL expression for new rows, never volatile (e.g. "now()"); a YAML number or true/false is that SQL constant.');

const schema = z
  .object({
    table: tableName,
    column: identifier,
    /** A type name only (`bigint`, `numeric(12,2)`, `jsonb`). */
    type: z.string().trim().min(1),
    /**
     * SQL expression for new rows; must not be volatile. A YAML number or true/false is taken as
     * that SQL constant (`default: 0` is DEFAULT 0).
     */
    default: sqlDefault.optional(),
    not_null: boolish.default(false),
  })
  .strict();
type Params = z.infer<typeof schema>;

interface State {
  /** false = the column did not exist when this run added it (so rollback may drop it). */
  existedBefore?: boolean;
}

function addSql(p: Params, table: string): string {
  let sql = `ALTER TABLE ${table} ADD COLUMN ${quoteIdent(p.column)} ${p.type}`;
  if (p.default !== undefined) sql += ` DEFAULT ${p.default}`;
  if (p.not_null) sql += ' NOT NULL';
  return sql;
}

const VOLATILE_ALTERNATIVE =
  'add the column with no default (or a constant one), fill existing rows with a `backfill` step, then set the default for new rows with a `sql` step (ALTER TABLE .. ALTER COLUMN .. SET DEFAULT ..), which changes only the catalog';
const NOT_NULL_ALTERNATIVE =
  'add the column nullable, fill it with a `backfill` step, then make it NOT NULL with a `not_null` step (CHECK .. NOT VALID, VALIDATE, SET NOT NULL), as runbooks/add-column-backfill.yaml does';

/** Offline: what the parser alone can tell. */
async function offlineRefusals(p: Params): Promise<string[]> {
  const out: string[] = [];
  const t = await checkTypeName(p.type);
  if (SERIAL_TYPES.has(t.name))
    out.push(
      `type ${p.type} adds a sequence default, which is volatile and rewrites the table under ACCESS EXCLUSIVE; instead ${VOLATILE_ALTERNATIVE}`,
    );
  if (p.default !== undefined) {
    const { functions } = await checkExpression(p.default);
    const bad = functions.filter((f) => KNOWN_VOLATILE.has(f));
    if (bad.length)
      out.push(
        `default ${p.default} calls volatile ${bad.join(', ')}(), which rewrites the whole table under ACCESS EXCLUSIVE; instead ${VOLATILE_ALTERNATIVE}`,
      );
  }
  return out;
}

/**
 * Live: asks PostgreSQL itself whether the ADD COLUMN would rewrite, by running it on an empty
 * temporary table in a transaction that is rolled back and comparing relfilenode. This covers
 * user-defined volatile functions and domains that no static list knows about.
 */
export async function wouldRewrite(db: Queryable & { connect?: () => Promise<any> }, p: Params): Promise<boolean | undefined> {
  const client = typeof (db as any).connect === 'function' ? await (db as any).connect() : db;
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = 1000; SET LOCAL statement_timeout = 5000`);
    await client.query('CREATE TEMP TABLE pgrunbook_rewrite_probe () ON COMMIT DROP');
    const before = await client.query(sqlText('pg/catalog/sql', 'relfilenode'), ['pg_temp.pgrunbook_rewrite_probe']);
    await client.query(addSql({ ...p, not_null: false }, 'pg_temp.pgrunbook_rewrite_probe'));
    const after = await client.query(sqlText('pg/catalog/sql', 'relfilenode'), ['pg_temp.pgrunbook_rewrite_probe']);
    return before.rows[0].relfilenode !== after.rows[0].relfilenode;
  } catch (err) {
    // A read-only session (plan) cannot create the probe table: the static checks stand alone.
    if ((err as { code?: string }).code === '25006') return undefined;
    throw err;
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    if (client !== db) client.release();
  }
}

const PROBE_SKIPPED = 'NOTE: read-only session, so the default was checked statically only (known volatile functions), not probed';

/** Everything that makes the add unsafe, as operator-facing sentences (empty = safe). */
async function refusals(p: Params, db: Queryable | undefined, table: string): Promise<string[]> {
  const out = await offlineRefusals(p);
  if (!db || out.length) return out;
  const rewrite = await wouldRewrite(db, p);
  if (rewrite === undefined) out.push(PROBE_SKIPPED);
  else if (rewrite) {
    out.push(
      `ADD COLUMN ${p.column} ${p.type}${p.default ? ` DEFAULT ${p.default}` : ''} would rewrite the whole table under ACCESS EXCLUSIVE (a volatile default); instead ${VOLATILE_ALTERNATIVE}`,
    );
  }
  if (p.not_null && p.default === undefined && (await hasRows(db, table))) {
    out.push(`NOT NULL without a default fails on a table that has rows; instead ${NOT_NULL_ALTERNATIVE}`);
  }
  return out;
}

export const addColumn: StepKind<Params> = {
  kind: 'add_column',
  schema,
  sqlFragmentFields: ['default'],

  async validate(step: StepSpec<Params>): Promise<Problem[]> {
    try {
      return (await offlineRefusals(step.params)).map((message) => ({
        pos: step.pos,
        severity: 'error' as const,
        message: `add_column refused: ${message}`,
      }));
    } catch (err) {
      if (err instanceof FragmentError) return [{ pos: step.pos, severity: 'error', message: `add_column: ${err.message}` }];
      throw err;
    }
  },

  defaultGate: (_step, plan) => gateFromPlan(plan),

  async plan(step, ctx: PlanContext): Promise<StepPlan> {
    const p = step.params;
    const notes: string[] = [];
    const { qualified: table, info: t } = await planTable(ctx.db, p.table);
    if (ctx.db) {
      if (!t) notes.push(`table ${p.table} does not exist (yet)`);
      else {
        const existing = await findColumn(ctx.db, t.oid, p.column);
        if (existing) notes.push(`column ${p.column} already exists (${existing.type}); apply will do nothing`);
        else for (const r of await refusals(p, ctx.db, t.qualified)) notes.push(r === PROBE_SKIPPED ? r : `REFUSED: ${r}`);
      }
    }
    if (!notes.some((n) => n.startsWith('REFUSED')))
      notes.push('catalog-only change: no table rewrite and no scan (no default, or a non-volatile one)');
    return {
      statements: [{ sql: addSql(p, table), transactional: true, description: `add column ${p.column}` }],
      locks: [{ relation: table, mode: 'AccessExclusiveLock' }],
      reversible: true,
      notes,
    };
  },

  async apply(step, ctx: StepContext) {
    const p = step.params;
    const t = await requireTable(ctx.pool, p.table);
    const state = ((await ctx.state.get<State>()) ?? {}) as State;
    const existing = await findColumn(ctx.pool, t.oid, p.column);
    if (existing) {
      if (state.existedBefore === undefined) await patchState(ctx, { existedBefore: true });
      log(ctx, `column ${p.column} already exists on ${t.schema}.${t.name} (${existing.type}); nothing to do`);
      return { added: false, type: existing.type };
    }
    const problems = (await refusals(p, ctx.pool, t.qualified)).filter((r) => r !== PROBE_SKIPPED);
    if (problems.length) {
      throw new RunbookError(`add_column refused: ${problems[0]}`, { hint: problems.slice(1).join('; ') || undefined, exitCode: 1 });
    }
    // Recorded before the DDL: after a crash, rollback still knows the column is ours.
    await patchState(ctx, { existedBefore: false });
    await runDdl(ctx, addSql(p, t.qualified));
    return { added: true };
  },

  // Gate evidence, read before the step runs: an absent column is what the step expects (a fact, not a failure).
  async verify(step, ctx) {
    const p = step.params;
    const t = await findTable(ctx.pool, p.table);
    const c = t ? await findColumn(ctx.pool, t.oid, p.column) : undefined;
    return [
      c ? { label: `column ${p.column}`, value: c.type, ok: true } : { label: `column ${p.column}`, value: 'absent: this step adds it' },
      ...(c
        ? [
            { label: 'nullable', value: !c.notNull },
            { label: 'default', value: c.defaultExpr ?? 'none' },
          ]
        : []),
    ];
  },

  async rollback(step, ctx) {
    const p = step.params;
    const state = (await ctx.state.get<State>()) ?? {};
    const t = await findTable(ctx.pool, p.table).catch(() => undefined);
    const present = t ? await findColumn(ctx.pool, t.oid, p.column).catch(() => undefined) : undefined;
    if (!present) return log(ctx, `column ${p.table}.${p.column} does not exist; nothing to undo`);
    if (state.existedBefore !== false) return log(ctx, `column ${p.column} was there before this run added anything; leaving it in place`);
    await runDdl(ctx, `ALTER TABLE ${t!.qualified} DROP COLUMN IF EXISTS ${quoteIdent(p.column)}`);
  },

  async reconcile(step, ctx) {
    const p = step.params;
    const t = await findTable(ctx.pool, p.table);
    if (!t) return { found: 'not-done', detail: `table ${p.table} does not exist` };
    const c = await findColumn(ctx.pool, t.oid, p.column);
    return c
      ? { found: 'done', detail: `column ${p.column} exists (${c.type})` }
      : { found: 'not-done', detail: `column ${p.column} is absent` };
  },
};
