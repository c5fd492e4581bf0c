// create_index: CREATE [UNIQUE] INDEX CONCURRENTLY, outside any transaction block. It takes
// SHARE UPDATE EXCLUSIVE (reads and writes go on) instead of SHARE (which blocks writes).
//
// A concurrent build that fails or is cancelled leaves an INVALID index behind that is still
// maintained on every write, and `IF NOT EXISTS` would happily accept it, so this kind never uses
// IF NOT EXISTS: it looks the name up itself.
//   - an invalid leftover from this run (a crash, a timeout, a cancel) is dropped concurrently
//     and the build retried, up to `retries` times for errors a retry can fix (deadlock,
//     cancel, lost connection); lock timeouts go through the executor's own retries;
//   - an invalid leftover from someone else is reported and dropped only with `drop_invalid: true`;
//   - a unique violation is not retried: the data must be fixed first.
// The step's lock_timeout also bounds the build's waits for older transactions, and a timeout
// there discards the build; since a waiting concurrent build blocks no reads or writes, runbooks
// give this step a longer lock_timeout (1m in the shipped ones) than the brief-lock DDL steps.
// Progress comes from pg_stat_progress_create_index, polled on another connection.
//
// Unique constraints and primary keys are carried by this kind too (`add_unique: true` or
// `add_primary_key: true`): the unique index is built concurrently, then
// `ALTER TABLE .. ADD CONSTRAINT <name> UNIQUE|PRIMARY KEY USING INDEX <name>` attaches it under a
// brief ACCESS EXCLUSIVE lock without a scan (add_primary_key needs the columns NOT NULL already:
// run `not_null` first, or PostgreSQL would scan under ACCESS EXCLUSIVE to set it).
//
// Rollback: DROP INDEX CONCURRENTLY (or DROP CONSTRAINT when a constraint was attached), only for
// an index this run created.
import { z } from 'zod';
import type { StepKind, StepContext, PlanContext, StepPlan } from '../engine/step-kind.js';
import type { PlannedLock } from '../pg/lock-modes.js';
import type { Problem, StepSpec } from '../runbook/model.js';
import { quoteIdent } from '../pg/connection.js';
import { AbortedError, RunbookError, isAbort } from '../util/runbook-error.js';
import { boolish, identList, identifier, intish, tableName } from './ddl/ddl-schema.js';
import { findColumn, findConstraint, findIndex, findTable, requireTable, planTable, estimatedRowsText } from './ddl/ddl-catalog.js';
import type { IndexFacts, TableFacts } from '../pg/catalog/catalog-types.js';
import { checkExpression, checkIndexElement, FragmentError } from './ddl/ddl-fragments.js';
import { derivedName, qname } from './ddl/ddl-names.js';
import { execOptions, log, patchState, runDdl } from './ddl/exec.js';
import { gateFromPlan } from './ddl/gate.js';
import { pollIndexProgress } from './ddl/index-progress.js';
import { sqlText } from '../pg/sql-files.js';

const schema = z
  .object({
    table: tableName,
    /** Index name (in the table's schema). Default: table_col1_col2_idx (or _key for unique). */
    name: identifier.optional(),
    /** Plain columns, quoted as identifiers. */
    columns: identList.optional(),
    /** Index elements as SQL: `(payload->>'status')`, `created_at DESC`, `lower(email) text_pattern_ops`. */
    expressions: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .transform((v) => (Array.isArray(v) ? v : [v]))
      .optional(),
    unique: boolish.default(false),
    using: z.enum(['btree', 'hash', 'gist', 'gin', 'brin', 'spgist']).default('btree'),
    include: identList.optional(),
    /** Partial index predicate (SQL). */
    where: z.string().trim().min(1).optional(),
    /** Retries after a failed build that a retry can fix (the invalid index is dropped first). */
    retries: intish(0, 10).default(2),
    /** Drop an INVALID index of the same name left by someone else before building. */
    drop_invalid: boolish.default(false),
    add_unique: boolish.default(false),
    add_primary_key: boolish.default(false),
    /**
     * Parallel workers for the build (max_parallel_maintenance_workers for its session). Unset: the
     * server's setting. 0 keeps the build on one core, leaving the others to the application.
     */
    parallel_workers: intish(0, 64).optional(),
  })
  .strict()
  .refine((p) => (p.columns?.length ?? 0) + (p.expressions?.length ?? 0) > 0, { message: 'give `columns` and/or `expressions`' })
  .refine((p) => !(p.add_unique && p.add_primary_key), { message: 'choose one of add_unique and add_primary_key' });
type Params = z.infer<typeof schema>;

interface State {
  /** Set before the build: an invalid index of this name after a crash is ours to drop. */
  building?: boolean;
  created?: boolean;
  constraintAdded?: boolean;
}

const RETRYABLE = new Set(['40P01', '40001', '57014', '57P01', '08006', '08003', '08000']);

function isUnique(p: Params): boolean {
  return p.unique || p.add_unique || p.add_primary_key;
}

function indexName(p: Params): string {
  if (p.name) return p.name;
  const cols = p.columns ?? ['expr'];
  return derivedName(p.table, cols, p.add_primary_key ? 'pkey' : isUnique(p) ? 'key' : 'idx');
}

function createSql(p: Params, table: string, name: string): string {
  const elems = [...(p.columns ?? []).map(quoteIdent), ...(p.expressions ?? [])].join(', ');
  let sql = `CREATE ${isUnique(p) ? 'UNIQUE ' : ''}INDEX CONCURRENTLY ${quoteIdent(name)} ON ${table} USING ${p.using} (${elems})`;
  if (p.include?.length) sql += ` INCLUDE (${p.include.map(quoteIdent).join(', ')})`;
  if (p.where) sql += ` WHERE ${p.where}`;
  return sql;
}

function constraintSql(p: Params, table: string, name: string): string | undefined {
  if (!p.add_unique && !p.add_primary_key) return undefined;
  return `ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(name)} ${p.add_primary_key ? 'PRIMARY KEY' : 'UNIQUE'} USING INDEX ${quoteIdent(name)}`;
}

async function checkFragments(p: Params): Promise<void> {
  for (const e of p.expressions ?? []) await checkIndexElement(e);
  if (p.where) await checkExpression(p.where);
}

/** DROP INDEX CONCURRENTLY for an invalid leftover. Runs even after an abort (its own signal). */
async function dropInvalid(ctx: StepContext, idx: IndexFacts, why: string): Promise<void> {
  log(ctx, `dropping INVALID index ${idx.schema}.${idx.name} (${why})`, 'warn');
  await ctx.executor.run(
    `DROP INDEX CONCURRENTLY IF EXISTS ${qname(idx.schema, idx.name)}`,
    execOptions(ctx, { transactional: false, signal: undefined }),
  );
}

/**
 * After a failed build: drops the INVALID leftover, then looks again, and says what really
 * happened (the operator must not be told it was dropped when the DROP failed).
 */
async function cleanUpFailedBuild(ctx: StepContext, t: TableFacts, name: string): Promise<string> {
  const drop = `DROP INDEX CONCURRENTLY ${qname(t.schema, name)}`;
  const why = (e: unknown) => (e as Error)?.message ?? String(e);
  let l: IndexFacts | undefined;
  try {
    l = await leftover(ctx, t, name);
  } catch (e) {
    return `could not check for an INVALID index ${name} left by the failed build (${why(e)}); look for it and run ${drop} if it is there`;
  }
  if (!l) return `the failed build left no INVALID index ${name}`;
  let failure: string | undefined;
  await dropInvalid(ctx, l, 'the build failed').catch((e) => (failure = why(e)));
  const still = await leftover(ctx, t, name).catch(() => l);
  if (!still) return `the INVALID index ${name} it left was dropped`;
  const outcome = `the INVALID index ${name} it left is still there (${failure ? `the drop failed: ${failure}` : 'it survived the drop'}); it is maintained on every write: run ${drop}`;
  log(ctx, outcome, 'warn');
  return outcome;
}

async function leftover(ctx: StepContext, t: TableFacts, name: string): Promise<IndexFacts | undefined> {
  const idx = await findIndex(ctx.pool, t.schema, name);
  return idx && !idx.valid && idx.tableOid === t.oid ? idx : undefined;
}

/** ADD PRIMARY KEY on a nullable column would scan under ACCESS EXCLUSIVE to set NOT NULL: refuse. */
async function requireNotNullKey(ctx: StepContext, t: TableFacts, columns: string[]): Promise<void> {
  for (const c of columns) {
    const col = await findColumn(ctx.pool, t.oid, c);
    if (col && !col.notNull) {
      throw new RunbookError(`primary key column ${c} is nullable`, {
        hint: `run a not_null step on ${c} first; ADD PRIMARY KEY would otherwise scan the table under ACCESS EXCLUSIVE to set NOT NULL`,
      });
    }
  }
}

/**
 * An index of this name already there: valid means built (true); an invalid one from this run or
 * allowed by `drop_invalid` is dropped (false: build it); anyone else's invalid one is refused.
 */
async function settleExisting(ctx: StepContext, p: Params, t: TableFacts, name: string, state: State): Promise<boolean> {
  const existing = await findIndex(ctx.pool, t.schema, name);
  if (existing && existing.tableOid !== t.oid) {
    throw new RunbookError(`an index named ${name} already exists on ${existing.table}`, {
      hint: 'choose another `name:` for this index',
    });
  }
  if (existing?.valid) {
    if (state.building) await patchState(ctx, { created: true });
    else {
      if (state.created === undefined) await patchState(ctx, { created: false });
      log(ctx, `index ${name} already exists and is valid; nothing to build`);
    }
    return true;
  }
  if (existing) {
    if (state.building) await dropInvalid(ctx, existing, 'left by an earlier attempt of this run');
    else if (p.drop_invalid) await dropInvalid(ctx, existing, 'drop_invalid: true');
    else {
      throw new RunbookError(
        `an INVALID index ${existing.schema}.${existing.name} already exists (a failed concurrent build); it is still maintained on every write but never used`,
        {
          hint: 'set `drop_invalid: true` on this step to drop it concurrently and rebuild, or drop it yourself with DROP INDEX CONCURRENTLY',
        },
      );
    }
  }
  return false;
}

/** CREATE INDEX CONCURRENTLY with progress, retried up to `retries` times for errors a retry can fix. */
async function buildWithRetries(ctx: StepContext, stepId: string, p: Params, t: TableFacts, name: string): Promise<void> {
  const sql = createSql(p, t.qualified, name);
  const indexQualified = qname(t.schema, name);
  for (let attempt = 0; ; attempt++) {
    const poller = pollIndexProgress(ctx, { tableOid: t.oid, indexQualified, indexName: name });
    try {
      await ctx.executor.run(
        sql,
        execOptions(ctx, {
          transactional: false,
          ...(p.parallel_workers !== undefined ? { settings: { max_parallel_maintenance_workers: p.parallel_workers } } : {}),
          // A lock_timeout while waiting for old snapshots leaves an invalid index: drop it
          // before the executor tries the same CREATE again.
          beforeRetry: async () => {
            const l = await leftover(ctx, t, name);
            if (l) await dropInvalid(ctx, l, 'the build timed out waiting for a lock');
          },
        }),
      );
      return;
    } catch (err) {
      await poller.stop();
      await afterFailedBuild(ctx, err, { stepId, p, t, name, attempt });
    } finally {
      await poller.stop();
    }
  }
}

/** A failed build: clean up its leftover, then throw (abort, duplicates, not retryable) or wait to retry. */
async function afterFailedBuild(
  ctx: StepContext,
  err: any,
  b: { stepId: string; p: Params; t: TableFacts; name: string; attempt: number },
): Promise<void> {
  const { p, attempt } = b;
  const cleanup = await cleanUpFailedBuild(ctx, b.t, b.name);
  if (isAbort(err) || ctx.signal.aborted) throw err instanceof AbortedError ? err : new AbortedError();
  const code: string | undefined = err?.sqlstate ?? err?.code;
  if (code === '23505') {
    throw new RunbookError(`cannot build unique index ${b.name}: duplicate values exist (${err.message})`, {
      sqlstate: code,
      hint: `remove the duplicates (the detail names one), then run the step again; ${cleanup}`,
    });
  }
  const retryable = code === undefined ? !(err instanceof RunbookError) : RETRYABLE.has(code) && !/statement_timeout/.test(err.message);
  if (!retryable || attempt >= p.retries) throw err;
  log(ctx, `index build failed (${err.message}); retry ${attempt + 1} of ${p.retries}`, 'warn');
  ctx.emit({
    type: 'step.retry',
    stepId: b.stepId,
    attempt: attempt + 1,
    of: p.retries,
    delayMs: 500 * (attempt + 1),
    reason: err.message,
  });
  await ctx.clock.sleep(500 * (attempt + 1), ctx.signal);
}

export const createIndex: StepKind<Params> = {
  kind: 'create_index',
  schema: schema as unknown as z.ZodType<Params>,
  sqlFragmentFields: ['expressions', 'where'],

  async validate(step: StepSpec<Params>): Promise<Problem[]> {
    try {
      await checkFragments(step.params);
      return [];
    } catch (err) {
      if (err instanceof FragmentError) return [{ pos: step.pos, severity: 'error', message: `create_index: ${err.message}` }];
      throw err;
    }
  },

  defaultGate: (_s, plan) => gateFromPlan(plan),

  async plan(step, ctx: PlanContext): Promise<StepPlan> {
    const p = step.params;
    const name = indexName(p);
    const { qualified: table, info: t } = await planTable(ctx.db, p.table);
    const notes: string[] = [];
    if (ctx.db && t) {
      const idx = await findIndex(ctx.db, t.schema, name);
      if (idx?.valid) notes.push(`index ${name} already exists and is valid; apply will do nothing`);
      else if (idx)
        notes.push(
          `an INVALID index ${name} exists (a failed concurrent build); ${p.drop_invalid ? 'it will be dropped concurrently first (drop_invalid: true)' : 'apply stops unless drop_invalid: true'}`,
        );
      const rows = estimatedRowsText(t);
      if (rows) notes.push(`builds over ${rows}, scanning the table twice`);
    }
    notes.push('CONCURRENTLY: writes go on; the build waits for transactions older than its snapshots, so a long transaction stalls it');
    if (p.parallel_workers !== undefined) {
      notes.push(
        `built with max_parallel_maintenance_workers = ${p.parallel_workers}${p.parallel_workers === 0 ? ' (one core; the others stay with the application)' : ''}`,
      );
    }
    const locks: PlannedLock[] = [{ relation: table, mode: 'ShareUpdateExclusiveLock' }];
    const statements = [
      { sql: createSql(p, table, name), transactional: false, description: 'build the index concurrently (outside a transaction)' },
    ];
    const cons = constraintSql(p, table, name);
    if (cons) {
      statements.push({ sql: cons, transactional: true, description: 'attach the index as a constraint (no scan, brief lock)' });
      locks.push({ relation: table, mode: 'AccessExclusiveLock' });
    }
    return { statements, locks, reversible: true, notes };
  },

  async apply(step, ctx) {
    const p = step.params;
    await checkFragments(p);
    const t = await requireTable(ctx.pool, p.table);
    const name = indexName(p);
    const state = ((await ctx.state.get<State>()) ?? {}) as State;
    if (p.add_primary_key) await requireNotNullKey(ctx, t, p.columns ?? []);
    if (!(await settleExisting(ctx, p, t, name, state))) {
      await patchState(ctx, { building: true });
      await buildWithRetries(ctx, step.id, p, t, name);
      await patchState(ctx, { created: true });
    }
    const cons = constraintSql(p, t.qualified, name);
    if (cons && !(await findConstraint(ctx.pool, t.oid, name))) {
      await runDdl(ctx, cons);
      await patchState(ctx, { constraintAdded: true });
    }
    return { index: name };
  },

  async verify(step, ctx) {
    const p = step.params;
    const t = await findTable(ctx.pool, p.table);
    if (!t) return [{ label: 'table', value: `${p.table} not found`, ok: false }];
    const name = indexName(p);
    const idx = await findIndex(ctx.pool, t.schema, name);
    const ev = [{ label: `index ${name}`, value: idx ? (idx.valid ? 'valid' : 'INVALID') : 'absent', ok: idx ? idx.valid : undefined }];
    if (idx) ev.push({ label: 'definition', value: idx.definition, ok: undefined });
    const others = await ctx.pool.query<{ name: string }>(sqlText('pg/catalog/sql', 'invalid-indexes'), [t.oid]);
    if (others.rows.length) ev.push({ label: 'invalid indexes on the table', value: others.rows.map((r) => r.name).join(', '), ok: false });
    return ev;
  },

  async rollback(step, ctx) {
    const p = step.params;
    const state = (await ctx.state.get<State>()) ?? {};
    if (!state.created && !state.building) {
      log(ctx, `index ${indexName(p)} was not created by this run; leaving it`);
      return;
    }
    const t = await findTable(ctx.pool, p.table);
    if (!t) return;
    const name = indexName(p);
    if (await findConstraint(ctx.pool, t.oid, name)) {
      await runDdl(ctx, `ALTER TABLE ${t.qualified} DROP CONSTRAINT IF EXISTS ${quoteIdent(name)}`);
    }
    await ctx.executor.run(`DROP INDEX CONCURRENTLY IF EXISTS ${qname(t.schema, name)}`, execOptions(ctx, { transactional: false }));
  },

  async reconcile(step, ctx) {
    const p = step.params;
    const t = await findTable(ctx.pool, p.table);
    if (!t) return { found: 'not-done', detail: `table ${p.table} does not exist` };
    const name = indexName(p);
    const idx = await findIndex(ctx.pool, t.schema, name);
    if (!idx) return { found: 'not-done', detail: `index ${name} is absent` };
    if (!idx.valid)
      return { found: 'not-done', detail: `index ${name} exists but is INVALID (an interrupted build); apply drops and rebuilds it` };
    if (constraintSql(p, t.qualified, name) && !(await findConstraint(ctx.pool, t.oid, name)))
      return { found: 'not-done', detail: `index ${name} is built; the constraint is not attached yet` };
    return { found: 'done', detail: `index ${name} exists and is valid` };
  },
};
