// change_column: expand/contract for a column change (a rename, a type change, or both) while the
// old and the new application versions run side by side.
//   expand (stage: expand): add the new column; a BEFORE row trigger keeps old and new equal,
//     whichever one a write touched (steps/ddl/change-column-sql.ts); then the backfill engine
//     fills the existing rows, exactly once and resumable (its cursor lives in the run state).
//     With `flag`, the step then switches reads itself: it sets that feature flag to 100 (read back),
//     which the new application version checks to read the new column; rollback sets it back first.
//   contract (stage: contract, a later step, default gate `type`): checks that every row agrees and
//     nothing else uses the old column, then in one short transaction drops the trigger and the
//     old column and gives the new one its final name, default and NOT NULL.
// Until the contract, the old column holds every write (the trigger copies the new version's
// writes back), so rolling back the expand (dropping the trigger and the new column) loses none.
// Refused: a column that an index, constraint, view, sequence, policy or other trigger uses (the
// contract would drop them with it: use swap_table), identity and generated columns, partitioned
// tables and tables without a primary key.
import { z } from 'zod';
import type { PlanContext, StepContext, StepKind, StepPlan } from '../engine/step-kind.js';
import type { Evidence } from '../engine/gates.js';
import type { PlannedLock } from '../pg/lock-modes.js';
import type { Queryable } from '../pg/queryable.js';
import type { ColumnFacts, TableFacts } from '../pg/catalog/catalog-types.js';
import type { Problem, StepSpec } from '../runbook/model.js';
import { quoteIdent, quoteQualified } from '../pg/connection.js';
import { probe, probing } from '../pg/probe.js';
import { sqlText } from '../pg/sql-files.js';
import { RunbookError } from '../util/runbook-error.js';
import { backfillSchema, resolveConfig } from '../backfill/params.js';
import { runStepBackfill } from './lib/step-backfill.js';
import { takeUsageSnapshot, usageSnapshotSql } from './lib/expand-snapshot.js';
import { backfillSchemaSql, describeCursor, readCursor } from '../backfill/cursor-store.js';
import { describeSavedWalk } from '../backfill/range-store.js';
import { identifier, tableName } from './ddl/ddl-schema.js';
import {
  columnDependents,
  findColumn,
  findConstraint,
  findTable,
  missingTableError,
  primaryKeyColumns,
  requireTable,
} from './ddl/ddl-catalog.js';
import { checkExpression, checkTypeName } from './ddl/ddl-fragments.js';
import { qname, truncateIdent } from './ddl/ddl-names.js';
import { log, patchState, runDdl } from './ddl/exec.js';
import * as sql from './ddl/change-column-sql.js';
import { DEFAULT_FLAG_TABLE, DEFAULT_REDIS_URL, type FlagBackend, type FlagBackendFactory } from '../flags/flag-backend.js';
import { redact } from '../util/secrets.js';

const expression = (what: string) => z.string().trim().min(1).optional().describe(what);

const schema = z
  .object({
    table: tableName,
    column: identifier.describe('The column as it is now.'),
    to: identifier.optional().describe('The name the column ends with (a rename). Leave it out to keep the name.'),
    type: z.string().trim().min(1).optional().describe('The new type (default: the current type).'),
    using: expression('SQL expression over the row giving the new value (default: the column, cast to `type`).'),
    rollback_using: expression(
      "SQL expression over the row giving the old value from the new column, for the new version's writes (default: a cast).",
    ),
    stage: z.enum(['expand', 'contract']).default('expand'),
    flag: z
      .object({
        backend: z.enum(['redis', 'postgres']),
        key: z.string().trim().min(1).max(512),
        url: z.string().optional().describe('Redis URL; default $REDIS_URL, else redis://127.0.0.1:6379.'),
        table: tableName.default(DEFAULT_FLAG_TABLE).describe('Postgres table (in the target database).'),
      })
      .strict()
      .optional()
      .describe(
        'The feature flag the new application version reads the new column behind: set to 100 after the backfill, restored on rollback.',
      ),
    backfill: backfillSchema
      .omit({ table: true, set: true, where: true })
      .optional()
      .describe('Tuning of the backfill of existing rows (batch_size, target_batch_time, pause, throttle...).'),
  })
  .strict()
  .refine((p) => (p.to !== undefined && p.to !== p.column) || p.type !== undefined, {
    message: 'give `to` (a new name), `type` (a new type) or both',
  });
type Params = z.infer<typeof schema>;

interface State {
  /** true once this run is about to add the new column (so rollback may drop it). */
  added?: boolean;
  /** true once the contract transaction was sent (its effect is then read from the catalog). */
  contracting?: boolean;
  /** The flag's value before this run switched reads (null = not set); present once it was about to be set. */
  flagPrevious?: number | null;
}

type Flag = NonNullable<Params['flag']>;

function flagWhere(f: Flag): string {
  return f.backend === 'redis' ? `redis ${redact(f.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL)}` : `table ${f.table}`;
}

async function withFlag<T>(open: FlagBackendFactory, f: Flag, ctx: StepContext, fn: (b: FlagBackend) => Promise<T>): Promise<T> {
  const b = await open(
    f.backend === 'redis'
      ? { backend: 'redis', url: f.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL }
      : { backend: 'postgres', db: ctx.pool, table: f.table, createTable: true, lockTimeoutMs: ctx.step.settings.lockTimeoutMs },
  );
  try {
    return await fn(b);
  } finally {
    await b.close();
  }
}

/** Switches reads: the flag to 100, read back; its value before is kept for rollback. */
async function switchReads(open: FlagBackendFactory, f: Flag, ctx: StepContext, n: sql.ChangeNames): Promise<void> {
  await withFlag(open, f, ctx, async (b) => {
    const state = ((await ctx.state.get<State>()) ?? {}) as State;
    const previous = state.flagPrevious !== undefined ? state.flagPrevious : await b.get(f.key);
    if (state.flagPrevious === undefined) await patchState(ctx, { flagPrevious: previous });
    await b.set(f.key, 100, `pgrunbook ${ctx.runId}`);
    const back = await b.get(f.key);
    if (back !== 100)
      throw new RunbookError(`flag ${f.key} in ${flagWhere(f)} reads back ${back} after being set to 100`, {
        hint: 'check the key and that the backend is writable (not a replica); the backfill is done, so resume retries only the switch',
      });
    log(ctx, `reads switched to ${n.newColumn}: flag ${f.key} in ${flagWhere(f)} is 100 (was ${previous ?? 'not set'})`);
  });
}

/** Rollback: the flag back to what it was before this run (unset if it was not set), before the new column goes. */
async function restoreReads(open: FlagBackendFactory, f: Flag, ctx: StepContext, n: sql.ChangeNames): Promise<void> {
  const state = ((await ctx.state.get<State>()) ?? {}) as State;
  if (state.flagPrevious === undefined) return log(ctx, `flag ${f.key} was not set by this run; leaving it`);
  const previous = state.flagPrevious;
  await withFlag(open, f, ctx, (b) => (previous === null ? b.unset(f.key) : b.set(f.key, previous, `pgrunbook ${ctx.runId} (rollback)`)));
  log(ctx, `reads switched back to ${n.column}: flag ${f.key} in ${flagWhere(f)} ${previous === null ? 'removed' : `back to ${previous}`}`);
}

/**
 * Has the contract run? After a rename the old column is gone and the new one is there. In place,
 * the name is back, so: the new column and the trigger are gone after this step sent the contract.
 */
async function isContracted(db: Queryable, t: TableFacts, n: sql.ChangeNames, state: State | undefined): Promise<boolean> {
  const newThere = await findColumn(db, t.oid, n.newColumn);
  if (n.newColumn === n.finalName) return !!newThere && !(await findColumn(db, t.oid, n.column));
  return !newThere && state?.contracting === true && !(await triggerExists(db, t, n.trigger));
}

/** The new column while both exist: `to`, or `<column>_new` when the name stays. */
function names(p: Params, schemaName: string, qualified: string): sql.ChangeNames {
  const finalName = p.to ?? p.column;
  const newColumn = finalName === p.column ? truncateIdent(`${p.column}_new`) : finalName;
  const bare = qualified.split('.').pop()!.replace(/"/g, '');
  const trigger = truncateIdent(`pgrunbook_sync_${bare}_${p.column}`);
  return {
    table: qualified,
    column: p.column,
    newColumn,
    finalName,
    trigger,
    fn: qname(schemaName, trigger),
    check: truncateIdent(`pgrunbook_nn_${bare}_${newColumn}`),
  };
}

function conversion(p: Params, oldType: string): sql.Conversion {
  return { oldType, newType: p.type ?? oldType, using: p.using, rollbackUsing: p.rollback_using };
}

const SWAP_INSTEAD = 'swap_table rebuilds the table with its indexes, constraints and views';

/** Why the column cannot go through expand/contract (empty = it can). */
async function refusals(db: Queryable, t: TableFacts, col: ColumnFacts | undefined, n: sql.ChangeNames): Promise<string[]> {
  if (!col) return [`column ${n.column} does not exist on ${t.schema}.${t.name}`];
  const out: string[] = [];
  if (t.relkind === 'p') out.push(`${t.schema}.${t.name} is partitioned: change the column on each partition, or use swap_table`);
  if (!(await primaryKeyColumns(db, t.oid)).length) out.push(`${t.schema}.${t.name} has no primary key, which the backfill walks`);
  if (col.identity) out.push(`${n.column} is an identity column; ${SWAP_INSTEAD}`);
  if (col.generated) out.push(`${n.column} is a generated column: change its expression instead`);
  const deps = await columnDependents(db, t.oid, col.attnum, n.trigger);
  if (deps.length)
    out.push(`${n.column} is used by ${deps.join(', ')}; dropping it at the contract would drop them too, so ${SWAP_INSTEAD}`);
  return out;
}

/** The conversions, checked against the table without reading a row (a broken one would fail every write). */
async function conversionProblem(db: Queryable, n: sql.ChangeNames, c: sql.Conversion): Promise<string | undefined> {
  const check = `SELECT ${sql.backwardExpr(n, c)} FROM (SELECT *, ${sql.forwardExpr(n, c)} AS ${quoteIdent(n.newColumn)} FROM ${n.table} LIMIT 0) AS src`;
  try {
    await probe(db, check);
    return undefined;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === '55P03' || e.code === '57014') throw err;
    return `the conversion does not work on ${n.table}: ${e.message ?? String(e)} (check type, using, rollback_using)`;
  }
}

async function triggerExists(db: Queryable, t: TableFacts, trigger: string): Promise<boolean> {
  const r = await probing(db).query<{ e: boolean }>(sqlText('steps/sql', 'trigger-exists'), [t.oid, trigger]);
  return r.rows[0]?.e === true;
}

/** Rows whose new column does not hold the converted old value: a full read of the table. */
async function rowsOutOfStep(db: Queryable, n: sql.ChangeNames, c: sql.Conversion, statementTimeoutMs: number): Promise<number> {
  const rows = await probe<{ n: string }>(db, `select count(*) as n from ${n.table} where ${sql.outOfStepCondition(n, c)}`, {
    statementTimeoutMs,
  });
  return Number(rows[0]?.n ?? 0);
}

function backfillConfig(p: Params, n: sql.ChangeNames, c: sql.Conversion) {
  return resolveConfig({
    ...(p.backfill ?? {}),
    table: p.table,
    set: `${quoteIdent(n.newColumn)} = ${sql.forwardExpr(n, c)}`,
    where: sql.outOfStepCondition(n, c),
  });
}

interface Resolved {
  flag?: Flag;
  t?: TableFacts;
  col?: ColumnFacts;
  n: sql.ChangeNames;
  c: sql.Conversion;
}

async function resolve(p: Params, db: Queryable | undefined): Promise<Resolved> {
  const t = db ? await findTable(db, p.table) : undefined;
  if (db && !t) throw await missingTableError(db, p.table);
  const n = names(p, t?.schema ?? 'public', t?.qualified ?? quoteQualified(p.table));
  const col = t && db ? await findColumn(db, t.oid, p.column) : undefined;
  return { t, col, n, c: conversion(p, col?.type ?? `<type of ${p.column}>`), ...(p.flag ? { flag: p.flag } : {}) };
}

function expandPlan(r: Resolved, notes: string[]): StepPlan {
  const { n, c } = r;
  const locks: PlannedLock[] = [
    { relation: n.table, mode: 'AccessExclusiveLock' },
    { relation: n.table, mode: 'ShareRowExclusiveLock' },
    { relation: n.table, mode: 'RowExclusiveLock' },
  ];
  notes.push(
    `adds ${n.newColumn} (${c.newType}) and a trigger that copies each write of ${n.column} into ${n.newColumn} and back, so the old and the new application version can run side by side`,
    `then fills ${n.newColumn} on existing rows in keyset batches (exactly once, resumable), where ${sql.outOfStepCondition(n, c)}`,
    r.flag
      ? `after the backfill, switches reads: sets flag ${r.flag.key} in ${flagWhere(r.flag)} to 100 (rollback restores it first); then contract with a later change_column step (stage: contract)`
      : 'switch reads to the new column in the application (behind a `flag` step), then contract with a later change_column step (stage: contract)',
    `reversible until the contract: rollback drops the trigger and ${n.newColumn}; ${n.column} holds every write`,
  );
  return {
    statements: [
      {
        sql: [sql.addColumnSql(n, c), sql.syncFunctionSql(n, c), sql.createTriggerSql(n)].join(';\n'),
        transactional: true,
        description: `add ${n.newColumn} and the two-way sync trigger (one transaction)`,
      },
      {
        sql: `UPDATE ${n.table} SET ${quoteIdent(n.newColumn)} = ${sql.forwardExpr(n, c)} WHERE <key range> AND ${sql.outOfStepCondition(n, c)}`,
        transactional: true,
        description: 'backfill: one batch, repeated over the primary key',
      },
    ],
    locks,
    work: [{ relation: n.table, work: 'rows', description: `backfill ${n.newColumn}` }],
    reversible: true,
    notes,
  };
}

function contractPlan(r: Resolved, notes: string[]): StepPlan {
  const { n, col } = r;
  const old = { defaultExpr: col?.defaultExpr ?? null, notNull: col?.notNull ?? false };
  const statements = [
    ...(old.notNull
      ? [{ sql: sql.addCheckSql(n).join(';\n'), transactional: false, description: 'prove NOT NULL without a long lock' }]
      : []),
    { sql: sql.contractSql(n, old).join(';\n'), transactional: true, description: 'contract (one short transaction)' },
  ];
  notes.push(
    `first counts the rows where ${n.newColumn} differs from the converted ${n.column} (a read of the whole table); any such row stops the contract`,
    `drops ${n.column} and the sync trigger${n.newColumn !== n.finalName ? `, renames ${n.newColumn} to ${n.finalName}` : ''}: catalog changes under a brief ACCESS EXCLUSIVE lock, no rewrite`,
    `the new column moves to the end of the column order`,
    'irreversible: run it only when no application instance reads or writes the old column',
  );
  return {
    statements,
    locks: [
      ...(old.notNull ? [{ relation: n.table, mode: 'ShareUpdateExclusiveLock' as const }] : []),
      { relation: n.table, mode: 'AccessExclusiveLock' },
    ],
    work: [{ relation: n.table, work: 'scan', description: 'count rows out of step' }],
    reversible: false,
    irreversibleReason: `the old column ${n.column} and its values are dropped`,
    notes,
  };
}

async function plan(step: StepSpec<Params>, ctx: PlanContext): Promise<StepPlan> {
  const p = step.params;
  const r = await resolve(p, ctx.db);
  const notes: string[] = [];
  if (ctx.db && r.t) {
    const contracted = p.stage === 'contract' && r.n.newColumn === r.n.finalName && (await isContracted(ctx.db, r.t, r.n, undefined));
    const present = r.col ? await findColumn(ctx.db, r.t.oid, r.n.newColumn) : undefined;
    if (contracted) notes.push(`${p.column} is gone and ${r.n.newColumn} exists: already contracted; apply will do nothing`);
    else for (const x of await refusals(ctx.db, r.t, r.col, r.n)) notes.push(`REFUSED: ${x}`);
    if (r.col && !present && p.stage === 'expand') {
      const bad = await conversionProblem(ctx.db, r.n, r.c);
      if (bad) notes.push(`REFUSED: ${bad}`);
    }
  } else notes.push('offline plan: the current type, default and NOT NULL of the column come from the live table (plan with --db)');
  return p.stage === 'contract' ? contractPlan(r, notes) : expandPlan(r, notes);
}

async function requireChangeable(ctx: StepContext, p: Params): Promise<Resolved & { t: TableFacts; col: ColumnFacts }> {
  const t = await requireTable(ctx.pool, p.table);
  const r = await resolve(p, ctx.pool);
  const problems = await refusals(ctx.pool, t, r.col, r.n);
  if (problems.length)
    throw new RunbookError(`change_column refused: ${problems[0]}`, {
      hint: problems.slice(1).join('; ') || 'fix the step in the runbook; nothing was changed',
    });
  return { ...r, t, col: r.col! };
}

async function applyExpand(step: StepSpec<Params>, ctx: StepContext, open: FlagBackendFactory) {
  const p = step.params;
  const r = await requireChangeable(ctx, p);
  const { n, c, t } = r;
  const state = ((await ctx.state.get<State>()) ?? {}) as State;
  const present = await findColumn(ctx.pool, t.oid, n.newColumn);
  const synced = await triggerExists(ctx.pool, t, n.trigger);
  if (present && !synced && !state.added)
    throw new RunbookError(`change_column refused: column ${n.newColumn} already exists on ${t.schema}.${t.name}`, {
      hint: 'choose another `to`, or drop that column first; nothing was changed',
    });
  if (!present) {
    const bad = await conversionProblem(ctx.pool, n, c);
    if (bad) throw new RunbookError(`change_column refused: ${bad}`, { hint: 'fix the step in the runbook; nothing was changed' });
    await patchState(ctx, { added: true }); // before the DDL: after a crash, rollback knows the column is ours
  }
  if (!present || !synced) {
    const ddl = [...(present ? [] : [sql.addColumnSql(n, c)]), sql.syncFunctionSql(n, c), ...(synced ? [] : [sql.createTriggerSql(n)])];
    await runDdl(ctx, ddl.join(';\n'));
    log(ctx, `${n.newColumn} added; writes to ${n.column} or ${n.newColumn} now land in both`);
  }
  const result = await runStepBackfill(ctx, backfillConfig(p, n, c));
  if (p.flag) await switchReads(open, p.flag, ctx, n);
  // After our own backfill: a later `unused` check counts the old column's uses from here on.
  await takeUsageSnapshot(ctx, { table: p.table, column: p.column });
  ctx.emit({
    type: 'step.evidence',
    stepId: step.id,
    evidence: [
      { label: 'sync trigger', value: n.trigger, ok: true },
      { label: `rows backfilled into ${n.newColumn}`, value: result.rowsDone, detail: `${result.batches} batches` },
      ...(p.flag ? [{ label: `flag ${p.flag.key}`, value: 100, ok: true }] : []),
    ],
  });
  return result;
}

async function applyContract(step: StepSpec<Params>, ctx: StepContext) {
  const p = step.params;
  const t = await requireTable(ctx.pool, p.table);
  const early = await resolve(p, ctx.pool);
  const state = ((await ctx.state.get<State>()) ?? {}) as State;
  if (await isContracted(ctx.pool, t, early.n, state)) {
    log(ctx, `the contract of ${p.column} already ran; nothing to do`);
    return { contracted: false };
  }
  const { n, c, col } = await requireChangeable(ctx, p);
  if (!(await findColumn(ctx.pool, t.oid, n.newColumn)) || !(await triggerExists(ctx.pool, t, n.trigger)))
    throw new RunbookError(
      `change_column contract refused: ${n.newColumn} or its sync trigger ${n.trigger} is missing on ${t.schema}.${t.name}`,
      {
        hint: 'run (or resume) the expand step (change_column with stage: expand) first; nothing was changed',
      },
    );
  const behind = await rowsOutOfStep(ctx.pool, n, c, step.settings.statementTimeoutMs);
  if (behind > 0)
    throw new RunbookError(`change_column contract refused: ${behind} row(s) where ${n.newColumn} differs from the converted ${n.column}`, {
      hint: 'the expand step has not finished its backfill: resume it; nothing was changed',
    });
  if (col.notNull) {
    const check = await findConstraint(ctx.pool, t.oid, n.check);
    if (!check?.validated) await runDdl(ctx, sql.addCheckSql(n, check ? 'validate' : 'add').join(';\n'), { transactional: false });
  }
  await patchState(ctx, { contracting: true });
  await runDdl(ctx, sql.contractSql(n, col).join(';\n'));
  log(ctx, `contracted: ${n.column} dropped${n.newColumn !== n.finalName ? `, ${n.newColumn} renamed to ${n.finalName}` : ''}`);
  return { contracted: true };
}

async function verify(step: StepSpec<Params>, ctx: StepContext): Promise<Evidence[]> {
  const p = step.params;
  const r = await resolve(p, ctx.pool);
  const t = r.t!;
  const present = await findColumn(ctx.pool, t.oid, r.n.newColumn);
  const out: Evidence[] = [{ label: `column ${p.column}`, value: r.col ? r.col.type : 'absent', ok: !!r.col }];
  if (r.col) {
    const deps = await columnDependents(ctx.pool, t.oid, r.col.attnum, r.n.trigger);
    out.push({ label: `objects using ${p.column}`, value: deps.length ? deps.join(', ') : 'none', ok: deps.length === 0 });
  }
  if (p.stage === 'expand') {
    const cur = await readCursor(ctx.pool, ctx.runId, step.id);
    out.push({ label: 'saved backfill cursor', value: cur ? await describeSavedWalk(ctx.pool, cur) : 'none' });
    return out;
  }
  out.push({ label: 'sync trigger', value: (await triggerExists(ctx.pool, t, r.n.trigger)) ? 'present' : 'absent' });
  if (r.col && present) {
    const behind = await rowsOutOfStep(ctx.pool, r.n, r.c, step.settings.statementTimeoutMs);
    out.push({ label: `rows where ${r.n.newColumn} ≠ converted ${p.column} (counted now)`, value: behind, ok: behind === 0 });
  }
  return out;
}

async function rollback(step: StepSpec<Params>, ctx: StepContext, open: FlagBackendFactory): Promise<void> {
  const p = step.params;
  if (p.stage === 'contract') return log(ctx, `the contract of ${p.column} cannot be undone: the old column is gone`, 'warn');
  const t = await findTable(ctx.pool, p.table);
  if (!t) return log(ctx, `table ${p.table} does not exist; nothing to undo`);
  const { n } = await resolve(p, ctx.pool);
  const oldThere = await findColumn(ctx.pool, t.oid, p.column);
  const state = ((await ctx.state.get<State>()) ?? {}) as State;
  if (!oldThere) return log(ctx, `${p.column} is gone (the contract ran): leaving ${n.newColumn} in place`, 'warn');
  if (p.flag) await restoreReads(open, p.flag, ctx, n);
  await runDdl(ctx, sql.dropExpandSql(n, state.added === true).join(';\n'));
  log(ctx, `sync trigger dropped${state.added ? ` and ${n.newColumn} dropped` : ''}; ${p.column} holds every write`);
}

async function reconcile(step: StepSpec<Params>, ctx: StepContext, open: FlagBackendFactory) {
  const p = step.params;
  const t = await findTable(ctx.pool, p.table);
  if (!t) return { found: 'not-done' as const, detail: `table ${p.table} does not exist` };
  const { n } = await resolve(p, ctx.pool);
  const present = await findColumn(ctx.pool, t.oid, n.newColumn);
  if (p.stage === 'contract')
    return (await isContracted(ctx.pool, t, n, await ctx.state.get<State>()))
      ? { found: 'done' as const, detail: `contracted: ${n.finalName} is the only column left of the pair, and the trigger is gone` }
      : { found: 'not-done' as const, detail: `${p.column} and ${n.newColumn} both still exist` };
  const cur = await readCursor(ctx.pool, ctx.runId, step.id);
  const switched = !p.flag || (await withFlag(open, p.flag, ctx, (b) => b.get(p.flag!.key))) === 100;
  if (present && (await triggerExists(ctx.pool, t, n.trigger)) && cur?.pass === 'done' && switched)
    return { found: 'done' as const, detail: `${n.newColumn} and its trigger exist; ${describeCursor(cur)}` };
  return {
    found: 'not-done' as const,
    detail: `expand not finished${cur ? ` (${await describeSavedWalk(ctx.pool, cur)})` : ''}; apply resumes it`,
  };
}

async function validate(step: StepSpec<Params>): Promise<Problem[]> {
  const p = step.params;
  const out: Problem[] = [];
  const bad = (what: string, err: unknown) =>
    out.push({ pos: step.pos, severity: 'error', message: `change_column ${step.id}: ${what}${(err as Error).message}` });
  if (p.type) await checkTypeName(p.type).catch((err) => bad('type: ', err));
  for (const key of ['using', 'rollback_using'] as const) {
    const expr = p[key];
    if (!expr) continue;
    const r = await checkExpression(expr).catch((err) => void bad(`${key}: `, err));
    if (r?.functions.includes('(subquery)'))
      bad(`${key}: `, new Error(`"${expr}" contains a subquery: the sync trigger runs it on every write; use the row's own columns`));
  }
  return out;
}

/** The change_column kind, given the opener of feature-flag backends (the composition root's). */
export const changeColumnKind = (open: FlagBackendFactory): StepKind<Params> => ({
  kind: 'change_column',
  schema: schema as unknown as z.ZodType<Params>,
  sqlFragmentFields: ['using', 'rollback_using'],
  // The expand's backfill keeps its cursor in the run state, as the backfill kind does, and its
  // snapshot of the old column's use for a later `unused` step.
  stateSql: `${backfillSchemaSql};\n${usageSnapshotSql}`,
  validate,
  defaultGate: (step, p) => (step.params.stage === 'contract' || !p.reversible ? 'type' : 'confirm'),
  plan,
  apply: (step, ctx) => (step.params.stage === 'contract' ? applyContract(step, ctx) : applyExpand(step, ctx, open)),
  verify,
  rollback: (step, ctx) => rollback(step, ctx, open),
  reconcile: (step, ctx) => reconcile(step, ctx, open),
});
