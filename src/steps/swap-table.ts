// swap_table: rebuild a table whose change needs a rewrite (int → bigint on a key column, a type
// change with a different on-disk format) without holding ACCESS EXCLUSIVE for the rewrite.
// Each changed column converts as `(using)::type`, `using` defaulting to the column itself (as
// ALTER COLUMN TYPE .. USING); writes mirrored back after the swap convert with `rollback_using`,
// default a plain cast to the old type. Every conversion is checked against the live table
// (LIMIT 0) before anything is created: a broken one in the sync trigger would fail the
// application's writes.
//   1. shadow: CREATE TABLE <shadow> (LIKE t INCLUDING ALL EXCLUDING INDEXES), the type changes,
//      then indexes and constraints (cheap: the shadow is empty), outgoing FKs NOT VALID, table
//      and column grants.
//   2. sync: an AFTER row trigger on t mirrors INSERT/UPDATE/DELETE (and TRUNCATE) into the shadow.
//      CREATE TRIGGER takes SHARE ROW EXCLUSIVE, so it waits for in-flight writers: every write
//      after it commits is mirrored. Reads go on meanwhile.
//   3. copy: keyset batches over the primary key up to the bound taken after step 2. Each batch is
//      one short statement that reads with FOR KEY SHARE (a concurrent DELETE waits for the batch,
//      then its trigger removes the copied row) and inserts with ON CONFLICT DO NOTHING (a newer
//      version already written by the trigger wins). Rows past the bound come from the trigger.
//      Batches are separate short transactions, deliberately not one long snapshot: that would pin
//      xmin for the whole copy, and a REPEATABLE READ insert that meets a row the trigger wrote
//      after its snapshot fails with a serialization error.
//   4. verify: row count and an order-independent checksum of both tables in one REPEATABLE READ
//      snapshot (the trigger writes in the same transactions as the application, so a consistent
//      snapshot sees equal tables).
//   5. swap: one short transaction under lock_timeout + retry: one LOCK TABLE takes every lock it
//      needs (the shadow first, then the table, referencing tables, views), then the changes run in
//      one DO block, one round trip while the locks are held: drop the sync trigger,
//      drop dependent views and referencing FKs, rename t → <old> and <shadow> → t, move index
//      names, fix sequences (OWNED BY, AS bigint, identity position), re-add referencing FKs NOT
//      VALID, recreate the views (they bind by OID, so they would keep pointing at the old table),
//      and install a trigger that mirrors writes back into <old>, so rollback loses nothing.
//      After commit: VALIDATE the re-pointed FKs, ANALYZE.
// Reversible until the old table is dropped: rollback swaps back the same way. Dropping the old
// table is a separate, irreversible step: `swap_table` with `drop_old: true` (default gate `type`).
// Refused: partitioned tables, inheritance, row-level security, user triggers, materialized views,
// self-referencing FKs, no primary key.
import { z } from 'zod';
import type { StepKind, StepContext, PlanContext, StepPlan, PlannedCopy, PlannedWork } from '../engine/step-kind.js';
import type { PlannedLock } from '../pg/lock-modes.js';
import type { Queryable } from '../pg/queryable.js';
import type { Problem } from '../runbook/model.js';
import { quoteIdent, quoteQualified } from '../pg/connection.js';
import { RunbookError } from '../util/runbook-error.js';
import { boolish, identifier, tableName } from './ddl/ddl-schema.js';
import { batchKnobs, batchKnobsShape, zWorkers, type BackfillConfig } from '../backfill/params.js';
import { runStepBackfill } from './lib/step-backfill.js';
import { backfillSchemaSql, deleteCursor } from '../backfill/cursor-store.js';
import { findTable, missingTableError, requireTable, sqlLiteral } from './ddl/ddl-catalog.js';
import { probe } from '../pg/probe.js';
import type { TableFacts } from '../pg/catalog/catalog-types.js';
import { bareName, qname, truncateIdent } from './ddl/ddl-names.js';
import { checkExpression, checkTypeName } from './ddl/ddl-fragments.js';
import { log, patchState, runDdl, execOptions } from './ddl/exec.js';
import { gateFromPlan } from './ddl/gate.js';
import { describeForSwap, relationNameFree, swapColumns, type SwapInfo } from './ddl/swap-catalog.js';
import * as sql from './ddl/swap-sql.js';
import {
  carryPropsSql,
  checkSequencesFit,
  movePublicationsSql,
  restoreSequenceSql,
  sequenceOptions,
  tableProps,
} from './ddl/swap-props.js';
import type { SequenceOptions } from '../pg/catalog/catalog-types.js';

const schema = z
  .object({
    table: tableName,
    /** The changes that need the rewrite: new column types. */
    columns: z
      .array(
        z
          .object({
            name: identifier,
            type: z.string().trim().min(1),
            using: z
              .string()
              .trim()
              .min(1)
              .optional()
              .describe(
                'SQL expression over the old columns giving the new value, as ALTER COLUMN TYPE .. USING (default: the column, cast).',
              ),
            rollback_using: z
              .string()
              .trim()
              .min(1)
              .optional()
              .describe(
                'SQL expression over the new columns giving the old value, for writes mirrored back after the swap (default: a plain cast to the old type).',
              ),
          })
          .strict(),
      )
      .default([]),
    /** Shadow table name (default <table>_new) and the name the old table gets (default <table>_old). */
    shadow: identifier.optional(),
    old_name: identifier.optional(),
    // The copy's batches: auto-tuned toward target_batch_time unless batch_size fixes them, with the
    // backfill's throttles (the same keys as a backfill step).
    ...batchKnobsShape,
    workers: zWorkers
      .optional()
      .describe(
        "The copy's main-pass workers, each on its own key range: 1 (default), 2, or auto (a second worker while no throttle rule is active, kept only if the two are at least 1.15x faster).",
      ),
    /** true = this step only drops the old table left by an earlier swap (irreversible). */
    drop_old: boolish.default(false),
  })
  .strict()
  .refine((p) => p.drop_old || p.columns.length > 0, { message: 'give the column type changes under `columns`, or `drop_old: true`' });
type Params = z.infer<typeof schema>;

type Stage = 'shadow' | 'sync' | 'copied' | 'verified' | 'swapped';
const ORDER: Stage[] = ['shadow', 'sync', 'copied', 'verified', 'swapped'];

interface IndexMove {
  orig: string;
  tmp: string;
  old: string;
}

interface State {
  stage?: Stage;
  indexes?: IndexMove[];
  /** Original column types, for the mirror back into the old table. */
  originalTypes?: Record<string, string>;
  /** Serial sequences' options before the swap widened them, for the swap back. */
  sequences?: SequenceOptions[];
}

function names(p: Params, schemaName: string): sql.SwapNames {
  const base = bareName(p.table);
  const shadowName = p.shadow ?? truncateIdent(`${base}_new`);
  const oldName = p.old_name ?? truncateIdent(`${base}_old`);
  return {
    schema: schemaName,
    table: qname(schemaName, base),
    shadow: qname(schemaName, shadowName),
    old: qname(schemaName, oldName),
    tableName: base,
    shadowName,
    oldName,
    fn: qname(schemaName, truncateIdent(`pgrunbook_swap_sync_${base}`)),
    trigger: 'pgrunbook_swap_sync',
  };
}

const back = (n: sql.SwapNames) => ({
  fn: qname(n.schema, truncateIdent(`pgrunbook_swap_back_${n.tableName}`)),
  trigger: 'pgrunbook_swap_back',
  missed: qname(n.schema, truncateIdent(`${n.oldName}_missed`)),
});

const changesOf = (p: Params): sql.TypeChanges =>
  Object.fromEntries(p.columns.map((c) => [c.name, { type: c.type, ...(c.using ? { using: c.using } : {}) }]));

/** The conversion back to the old types, for the mirror into the old table after the swap. */
const reverseOf = (p: Params, originalTypes: Record<string, string>): sql.TypeChanges =>
  Object.fromEntries(
    p.columns
      .filter((c) => originalTypes[c.name])
      .map((c) => [c.name, { type: originalTypes[c.name]!, ...(c.rollback_using ? { using: c.rollback_using } : {}) }]),
  );

/** Original types as the catalog has them now (before the shadow exists). */
const originalTypesOf = (p: Params, info: SwapInfo): Record<string, string> =>
  Object.fromEntries(
    p.columns.flatMap((c) => {
      const col = info.columns.find((x) => x.name === c.name);
      return col ? [[c.name, col.type]] : [];
    }),
  );

/**
 * Checks every conversion (`using`, the plain cast, `rollback_using`) against the live table
 * without reading a row; returns PostgreSQL's complaint, or undefined when all of them resolve.
 */
async function conversionProblem(
  db: Queryable,
  p: Params,
  n: sql.SwapNames,
  info: SwapInfo,
  lockTimeoutMs: number,
): Promise<string | undefined> {
  try {
    await probe(db, sql.conversionCheckSql(n.table, info, changesOf(p), reverseOf(p, originalTypesOf(p, info))), { lockTimeoutMs });
    return undefined;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === '55P03' || e.code === '57014') throw err; // a lock or timeout, not the expression
    return e.message ?? String(err);
  }
}

/** How the copy is batched and throttled, in the words of the backfill's plan. */
function copyNote(p: Params): string {
  const k = batchKnobs(p);
  const size =
    k.fixedBatchSize !== undefined
      ? `fixed batches of ${k.fixedBatchSize} rows`
      : `batches tuned to stay within ${k.targetBatchMs} ms (starting at ${k.initialBatchSize} rows)`;
  const t = k.throttle;
  const throttle = t.enabled
    ? 'throttled on replication lag, sessions waiting on its locks, slow batches' +
      (t.appLatencyFactor > 0 ? `, the application's latency on the table over ${t.appLatencyFactor}x its baseline` : '') +
      (k.minThroughput > 0 ? `, throughput under ${Math.round(k.minThroughput * 100)}% of the early rate` : '')
    : 'throttle probes off (`throttle: false`)';
  return `the copy runs as a backfill does: ${size}, ${throttle}; each batch commits its cursor, so a resume restarts after the last committed batch`;
}

const CONVERSION_HINT =
  'check `columns:` (type, using, rollback_using): `using` reads the old columns by name, `rollback_using` the new ones';
const reached = (s: State, stage: Stage) => s.stage !== undefined && ORDER.indexOf(s.stage) >= ORDER.indexOf(stage);

async function freeName(ctx: StepContext, schemaName: string, wanted: string, taken: Set<string>): Promise<string> {
  for (let i = 0; ; i++) {
    const base = i === 0 ? wanted : `${wanted.slice(0, 60 - String(i).length)}_${i}`;
    const candidate = truncateIdent(base);
    if (!taken.has(candidate) && (await relationNameFree(ctx.pool, schemaName, candidate))) {
      taken.add(candidate);
      return candidate;
    }
  }
}

async function run(ctx: StepContext, statements: string[]): Promise<void> {
  await ctx.executor.run(statements.join(';\n'), execOptions(ctx));
}

function checkBlockers(info: SwapInfo, p: Params): void {
  if (info.blockers.length) {
    throw new RunbookError(`swap_table cannot rebuild ${p.table}: ${info.blockers.join('; ')}`, {
      hint: 'use another method for this table (e.g. pg_repack through a `shell` step, or a planned maintenance window)',
    });
  }
  for (const c of p.columns) {
    if (!info.columns.some((x) => x.name === c.name))
      throw new RunbookError(`column ${c.name} does not exist on ${p.table}`, { hint: 'check `columns:` in the step' });
  }
}

/** The copy as the backfill engine runs it: its key walk, cursor, tuner and throttles, inserting into the shadow. */
function copyConfig(p: Params, n: sql.SwapNames, info: SwapInfo): BackfillConfig {
  const changes = changesOf(p);
  const cols = sql.copyColumns(info);
  return {
    table: n.table,
    set: '',
    ...batchKnobs(p),
    copy: {
      into: n.shadow,
      read: info.columns.map((c) => quoteIdent(c.name)),
      columns: cols.map((c) => quoteIdent(c.name)),
      values: cols.map((c) => sql.valueExpr(c.name, changes)),
      overridingSystemValue: cols.some((c) => c.identity),
    },
    // Rows written after the bound is taken reach the shadow through the sync trigger.
    catchupRounds: 0,
    workers: p.workers ?? 1,
    title: `copy of ${n.schema}.${n.tableName} into ${n.shadowName}`,
  };
}

async function copy(ctx: StepContext, p: Params, n: sql.SwapNames, info: SwapInfo): Promise<void> {
  const result = await runStepBackfill(ctx, copyConfig(p, n, info));
  log(ctx, `copied ${result.rowsDone} rows into ${n.shadowName} in ${result.batches} batches`);
}

async function checksums(
  ctx: StepContext,
  a: { rel: string; cast: boolean },
  b: { rel: string; cast: boolean },
  info: SwapInfo,
  changes: sql.TypeChanges,
) {
  const client = await ctx.pool.connect();
  try {
    // One round trip. One process per scan: parallel workers would take every core from the
    // application for the length of the scan, and nobody waits for this check to finish.
    const { lockTimeoutMs, statementTimeoutMs } = ctx.step.settings;
    await client.query(
      `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL lock_timeout = ${lockTimeoutMs}; SET LOCAL statement_timeout = ${statementTimeoutMs}; SET LOCAL max_parallel_workers_per_gather = 0`,
    );
    const x = (await client.query(sql.checksumSql(a.rel, info, changes, a.cast))).rows[0];
    const y = (await client.query(sql.checksumSql(b.rel, info, changes, b.cast))).rows[0];
    await client.query('COMMIT');
    return { a: x as { n: string; h: string }, b: y as { n: string; h: string } };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * The other relations the swap locks: referencing tables (their FK is dropped and re-added under
 * ACCESS EXCLUSIVE), dependent views (dropped and recreated), serial sequences (ALTER SEQUENCE),
 * and tables the outgoing FKs reference (SHARE ROW EXCLUSIVE while the shadow's FK is added).
 */
function relatedLocks(info: SwapInfo): PlannedLock[] {
  return [
    ...[...new Set(info.incomingFks.map((fk) => fk.table))].map((relation) => ({ relation, mode: 'AccessExclusiveLock' as const })),
    ...info.views.map((v) => ({ relation: v.name, mode: 'AccessExclusiveLock' as const })),
    ...info.sequences.filter((s) => s.kind === 'serial').map((s) => ({ relation: s.name, mode: 'ShareRowExclusiveLock' as const })),
    ...[...new Set(info.outgoingFks.map((fk) => fk.referenced))].map((relation) => ({ relation, mode: 'ShareRowExclusiveLock' as const })),
  ];
}

/** Sequences follow the table now named `target`: OWNED BY (and AS bigint) for serial, the position for identity. */
function sequenceFixes(info: SwapInfo, changes: sql.TypeChanges, target: string): string[] {
  const out: string[] = [];
  for (const s of info.sequences) {
    if (s.kind === 'serial') {
      out.push(`ALTER SEQUENCE ${s.name} OWNED BY ${target}.${quoteIdent(s.column)}`);
      const newType = changes[s.column]?.type;
      if (newType && /^(bigint|int8)$/i.test(newType.trim()) && s.type !== 'bigint') out.push(`ALTER SEQUENCE ${s.name} AS bigint`);
    } else {
      // Identity: the other table has its own sequence; carry the position over.
      out.push(
        `SELECT setval(pg_get_serial_sequence(${sqlLiteral(target)}, ${sqlLiteral(s.column)}), last_value, is_called) FROM ${s.name}`,
      );
    }
  }
  return out;
}

/**
 * What a swap's LOCK TABLE takes, in order: the table coming in first (only autovacuum and the sync
 * trigger use it: while the lock is waited for, the application's reads of the live table go on, but
 * its writes, which the trigger copies into the shadow, queue behind it for up to lock_timeout), then
 * the live table, then the referencing tables and dependent views the transaction changes, so no lock
 * is waited for after the first.
 */
function swapLockOrder(incoming: string, live: string, info: SwapInfo): string[] {
  return [incoming, live, ...info.incomingFks.map((fk) => fk.table), ...info.views.map((v) => v.name)];
}

async function swap(ctx: StepContext, p: Params, n: sql.SwapNames, t: TableFacts): Promise<void> {
  const info = await describeForSwap(ctx.pool, t);
  const state = ((await ctx.state.get<State>()) ?? {}) as State;
  const b = back(n);
  const reverse = reverseOf(p, state.originalTypes ?? {});
  const moves = state.indexes ?? [];
  const props = await tableProps(ctx.pool, t.oid);
  await run(
    ctx,
    sql.lockedChangeSql(
      swapLockOrder(n.shadow, n.table, info),
      [
        ...sql.dropTriggerSql(n.table, n.trigger),
        ...sql.dropViewsSql(info.views),
        ...sql.dropFksSql(info.incomingFks),
        ...movePublicationsSql(n.table, n.shadow, props.publications),
        `ALTER TABLE ${n.table} RENAME TO ${quoteIdent(n.oldName)}`,
        `ALTER TABLE ${n.shadow} RENAME TO ${quoteIdent(n.tableName)}`,
        ...moves.flatMap((m) => [
          `ALTER INDEX ${qname(n.schema, m.orig)} RENAME TO ${quoteIdent(m.old)}`,
          `ALTER INDEX ${qname(n.schema, m.tmp)} RENAME TO ${quoteIdent(m.orig)}`,
        ]),
        ...sequenceFixes(info, changesOf(p), n.table),
        ...sql.addFksNotValidSql(info.incomingFks),
        ...sql.createViewsSql(info.views),
        ...sql.installTriggerSql(n.table, b.trigger, b.fn),
        `DROP FUNCTION IF EXISTS ${n.fn}()`,
      ],
      [
        // New objects the locked part uses, made before the locks are taken (same transaction).
        `CREATE TABLE ${b.missed} (at timestamptz NOT NULL DEFAULT now(), op text, pk text, error text)`,
        sql.syncFunctionSql(b.fn, n.old, info, reverse, b.missed),
      ],
    ),
  );
  await patchState(ctx, { stage: 'swapped' });
  for (const fk of info.incomingFks) await runDdl(ctx, `ALTER TABLE ${fk.table} VALIDATE CONSTRAINT ${quoteIdent(fk.name)}`);
  await runDdl(ctx, `ANALYZE ${n.table}`);
}

/** Stage 1: checks that nothing is in the way, then the empty shadow with indexes, constraints and properties. */
async function createShadow(ctx: StepContext, p: Params, n: sql.SwapNames, info: SwapInfo, t: TableFacts): Promise<State> {
  checkBlockers(info, p);
  const bad = await conversionProblem(ctx.pool, p, n, info, ctx.step.settings.lockTimeoutMs);
  if (bad)
    throw new RunbookError(`swap_table: a column conversion does not work on ${p.table}: ${bad}`, {
      hint: `${CONVERSION_HINT}; nothing was created`,
    });
  if (!(await relationNameFree(ctx.pool, t.schema, n.shadowName))) {
    throw new RunbookError(`${n.schema}.${n.shadowName} already exists`, {
      hint: 'drop it if it is a leftover, or choose another `shadow:` name',
    });
  }
  if (!(await relationNameFree(ctx.pool, t.schema, n.oldName))) {
    throw new RunbookError(`${n.schema}.${n.oldName} already exists (the name the old table gets after the swap)`, {
      hint: 'drop it if it is a leftover from an earlier swap (a drop_old step), or choose another `old_name:`',
    });
  }
  const taken = new Set<string>();
  const moves: IndexMove[] = [];
  for (const ix of info.indexes) {
    moves.push({
      orig: ix.name,
      tmp: await freeName(ctx, t.schema, truncateIdent(`${ix.name.slice(0, 59)}_new`), taken),
      old: await freeName(ctx, t.schema, truncateIdent(`${ix.name.slice(0, 59)}_old`), taken),
    });
  }
  const originalTypes = originalTypesOf(p, info);
  const serials = info.sequences.filter((s) => s.kind === 'serial').map((s) => s.name);
  const sequences = await sequenceOptions(ctx.pool, serials);
  await patchState(ctx, { indexes: moves, originalTypes, sequences });
  const tmpName = (orig: string) => moves.find((m) => m.orig === orig)!.tmp;
  await run(ctx, [
    ...sql.createShadowSql(n, info, changesOf(p), (ix) => tmpName(ix.name)),
    ...carryPropsSql(n.shadow, await tableProps(ctx.pool, t.oid), tmpName),
  ]);
  return (await patchState(ctx, { stage: 'shadow' })) as State;
}

/** Stage 4: count and checksum of both tables in one snapshot, as evidence; a difference stops the swap. */
async function verifyCopy(ctx: StepContext, p: Params, n: sql.SwapNames, info: SwapInfo): Promise<void> {
  const { a, b } = await checksums(ctx, { rel: n.table, cast: true }, { rel: n.shadow, cast: false }, info, changesOf(p));
  const ok = a.n === b.n && a.h === b.h;
  ctx.emit({
    type: 'step.evidence',
    stepId: ctx.step.id,
    evidence: [
      { label: `rows ${n.tableName} / ${n.shadowName}`, value: `${a.n} / ${b.n}`, ok: a.n === b.n },
      { label: 'checksum', value: ok ? 'equal' : `${a.h} ≠ ${b.h}`, ok: a.h === b.h },
    ],
  });
  if (!ok) {
    throw new RunbookError(
      `the shadow table does not match ${p.table} (rows ${a.n} vs ${b.n}, checksum ${a.h === b.h ? 'equal' : 'differs'})`,
      { hint: 'nothing was swapped; run the rollback phase to remove the shadow, then investigate (a cast that changes values?)' },
    );
  }
}

async function applySwap(p: Params, ctx: StepContext): Promise<unknown> {
  for (const c of p.columns) await checkTypeName(c.type);
  const t = await requireTable(ctx.pool, p.table);
  const n = names(p, t.schema);
  const changes = changesOf(p);
  let state = ((await ctx.state.get<State>()) ?? {}) as State;
  if (state.stage === 'swapped') {
    log(ctx, `${p.table} was already swapped by this run`);
    return { swapped: true };
  }
  const info = await describeForSwap(ctx.pool, t);

  if (!reached(state, 'shadow')) state = await createShadow(ctx, p, n, info, t);
  if (!reached(state, 'sync')) {
    // DROP TRIGGER IF EXISTS takes ACCESS EXCLUSIVE only when there is a leftover to drop (a missing
    // trigger's table is opened with ACCESS SHARE), so the install waits in CREATE TRIGGER's SHARE ROW
    // EXCLUSIVE and the application's reads go on (test/steps/swap-table-locks.test.ts).
    await run(ctx, [
      sql.syncFunctionSql(n.fn, n.shadow, info, changes),
      ...sql.dropTriggerSql(n.table, n.trigger),
      ...sql.installTriggerSql(n.table, n.trigger, n.fn),
    ]);
    // A copy cursor left by an earlier attempt (undone since) must not skip rows of this one.
    await deleteCursor(ctx.pool, ctx.runId, ctx.step.id);
    state = (await patchState(ctx, { stage: 'sync' })) as State;
  }
  if (!reached(state, 'copied')) {
    await copy(ctx, p, n, info);
    for (const fk of info.outgoingFks) await runDdl(ctx, `ALTER TABLE ${n.shadow} VALIDATE CONSTRAINT ${quoteIdent(fk.name)}`);
    await runDdl(ctx, `ANALYZE ${n.shadow}`);
    state = (await patchState(ctx, { stage: 'copied' })) as State;
  }
  if (!reached(state, 'verified')) {
    await verifyCopy(ctx, p, n, info);
    state = (await patchState(ctx, { stage: 'verified' })) as State;
  }
  await swap(ctx, p, n, t);
  return { swapped: true, old: `${n.schema}.${n.oldName}` };
}

async function rollbackSwap(p: Params, ctx: StepContext): Promise<void> {
  const state = ((await ctx.state.get<State>()) ?? {}) as State;
  if (!state.stage) return log(ctx, `${p.table} was not touched by this run; nothing to undo`);
  const t = await requireTable(ctx.pool, p.table);
  const n = names(p, t.schema);
  const b = back(n);
  if (state.stage !== 'swapped') {
    await run(ctx, [...sql.dropTriggerSql(n.table, n.trigger), `DROP FUNCTION IF EXISTS ${n.fn}()`, `DROP TABLE IF EXISTS ${n.shadow}`]);
    await deleteCursor(ctx.pool, ctx.runId, ctx.step.id);
    await ctx.state.set({});
    return;
  }
  if (await relationNameFree(ctx.pool, t.schema, n.oldName)) {
    throw new RunbookError(`cannot swap back: ${n.schema}.${n.oldName} no longer exists (dropped by a drop_old step?)`, {
      hint: 'the change is permanent now; write a forward fix instead',
    });
  }
  const missed = await probe<{ n: string }>(ctx.pool, `select count(*) as n from ${b.missed}`);
  if (Number(missed[0]?.n ?? 0) > 0) {
    throw new RunbookError(
      `cannot swap back without losing data: ${missed[0]!.n} writes could not be mirrored into ${n.oldName} (see ${b.missed})`,
      {
        hint: 'usually a value that does not fit the old column type; the new table stays live. Fix forward, or repair the old table by hand before swapping back',
      },
    );
  }
  const info = await describeForSwap(ctx.pool, t);
  const oldTable = await requireTable(ctx.pool, `${quoteIdent(n.schema)}.${quoteIdent(n.oldName)}`);
  const oldInfo = await describeForSwap(ctx.pool, oldTable);
  const sequences = state.sequences ?? [];
  await checkSequencesFit(ctx.pool, sequences);
  await run(
    ctx,
    sql.lockedChangeSql(swapLockOrder(n.old, n.table, info), [
      ...sql.dropTriggerSql(n.table, b.trigger),
      ...sql.dropViewsSql(info.views),
      ...sql.dropFksSql(info.incomingFks),
      ...movePublicationsSql(n.table, n.old, (await tableProps(ctx.pool, t.oid)).publications),
      `ALTER TABLE ${n.table} RENAME TO ${quoteIdent(n.shadowName)}`,
      `ALTER TABLE ${n.old} RENAME TO ${quoteIdent(n.tableName)}`,
      ...(state.indexes ?? []).flatMap((m) => [
        `ALTER INDEX ${qname(n.schema, m.orig)} RENAME TO ${quoteIdent(m.tmp)}`,
        `ALTER INDEX ${qname(n.schema, m.old)} RENAME TO ${quoteIdent(m.orig)}`,
      ]),
      // Sequences go back to the old table: OWNED BY for serial, the position for identity.
      ...info.sequences
        .filter((s) => s.kind === 'serial')
        .map((s) => `ALTER SEQUENCE ${s.name} OWNED BY ${n.table}.${quoteIdent(s.column)}`),
      ...sequences.map(restoreSequenceSql),
      ...oldInfo.sequences
        .filter((s) => s.kind === 'identity')
        .map(
          (s) =>
            `SELECT setval(${sqlLiteral(s.name)}, last_value, is_called) FROM ${info.sequences.find((x) => x.column === s.column)?.name ?? s.name}`,
        ),
      ...sql.addFksNotValidSql(info.incomingFks),
      ...sql.createViewsSql(info.views),
      `DROP FUNCTION IF EXISTS ${b.fn}()`,
      `DROP TABLE IF EXISTS ${b.missed}`,
      `DROP TABLE ${n.shadow}`,
    ]),
  );
  await deleteCursor(ctx.pool, ctx.runId, ctx.step.id);
  await ctx.state.set({});
  for (const fk of info.incomingFks) await runDdl(ctx, `ALTER TABLE ${fk.table} VALIDATE CONSTRAINT ${quoteIdent(fk.name)}`);
}

async function applyDropOld(p: Params, ctx: StepContext): Promise<unknown> {
  const t = await requireTable(ctx.pool, p.table);
  const n = names(p, t.schema);
  const b = back(n);
  if (await relationNameFree(ctx.pool, t.schema, n.oldName)) {
    log(ctx, `${n.schema}.${n.oldName} does not exist; nothing to drop`);
    return { dropped: false };
  }
  await run(ctx, [
    ...sql.dropTriggerSql(n.table, b.trigger),
    `DROP FUNCTION IF EXISTS ${b.fn}()`,
    `DROP TABLE IF EXISTS ${b.missed}`,
    `DROP TABLE ${n.old}`,
  ]);
  return { dropped: true };
}

function planDropOld(n: sql.SwapNames): StepPlan {
  return {
    statements: [
      ...sql.dropTriggerSql(n.table, back(n).trigger).map((s) => ({ sql: s, transactional: true, internal: true })),
      { sql: `DROP TABLE ${n.old}`, transactional: true, description: `drop the old table ${n.oldName}` },
    ],
    locks: [
      { relation: n.old, mode: 'AccessExclusiveLock' },
      { relation: n.table, mode: 'AccessExclusiveLock' },
    ],
    reversible: false,
    irreversibleReason: `drops ${n.oldName}, the copy a swap back would need; after this the swap is permanent`,
    notes: ['only after the new table has proven itself: the old table is the rollback path'],
  };
}

/** Plan notes from the live table: what would refuse the swap, and what it carries over and re-points. */
async function liveNotes(db: Queryable, p: Params, n: sql.SwapNames, info: SwapInfo, t: TableFacts): Promise<string[]> {
  const notes: string[] = [];
  if (info.blockers.length) notes.push(`REFUSED: ${info.blockers.join('; ')}`);
  else {
    const bad = await conversionProblem(db, p, n, info, 1000).catch((e: Error) => {
      notes.push(`the column conversions were not checked (${e.message}); apply checks them before creating anything`);
      return undefined;
    });
    if (bad) notes.push(`REFUSED: a column conversion does not work on ${p.table}: ${bad}; ${CONVERSION_HINT}`);
  }
  if (info.columnGrants.length) notes.push(`carries over ${info.columnGrants.length} column-level grant(s) with the table grants`);
  if (t.reltuples != null) notes.push(`copies about ${Math.round(t.reltuples).toLocaleString('en-US')} rows (planner statistics)`);
  if (info.incomingFks.length)
    notes.push(`re-points ${info.incomingFks.length} referencing foreign key(s): NOT VALID in the swap, VALIDATE after`);
  if (info.views.length) notes.push(`recreates ${info.views.length} dependent view(s) in the swap transaction`);
  return notes;
}

/**
 * The copy for plan's timed sample: the same batches into an empty table of the shadow's shape
 * (indexes and constraints; the outgoing foreign keys are listed for plan to stand in for their
 * checks: adding them would lock the referenced tables during plan), created and dropped inside
 * the sample's rolled-back transaction.
 */
function plannedCopy(p: Params, n: sql.SwapNames, info: SwapInfo): PlannedCopy {
  const sampleName = truncateIdent(`${n.tableName.slice(0, 40)}_pgrunbook_sample`);
  const sample = { ...n, shadow: qname(n.schema, sampleName) };
  const bare = { ...info, outgoingFks: [], grants: [], columnGrants: [] };
  const setup = sql.createShadowSql(sample, bare, changesOf(p), (ix) => truncateIdent(`${ix.name.slice(0, 40)}_pgrunbook_sample`));
  return {
    table: n.table,
    params: p as unknown as Record<string, unknown>,
    sample: { setup, ...copyConfig(p, sample, info).copy! },
    ...(info.outgoingFks.length ? { foreignKeys: info.outgoingFks.map(({ name, definition }) => ({ name, definition })) } : {}),
  };
}

/** What the swap runs, for plan: SQL the kind writes for itself (internal), so plan lists it without lint. */
function plannedStatements(n: sql.SwapNames, changes: sql.TypeChanges): StepPlan['statements'] {
  const own = (sqlText: string, description: string) => ({ sql: sqlText, transactional: true, internal: true, description });
  return [
    own(`CREATE TABLE ${n.shadow} (LIKE ${n.table} INCLUDING ALL EXCLUDING INDEXES)`, 'create the shadow table'),
    ...sql.alterTypesSql(n.shadow, changes).map((s) => own(s, 'change the types on the empty shadow')),
    own(
      `CREATE TRIGGER ${n.trigger} AFTER INSERT OR UPDATE OR DELETE ON ${n.table} FOR EACH ROW EXECUTE FUNCTION ${n.fn}()`,
      'keep the shadow in sync',
    ),
    own(
      `-- batches: INSERT INTO ${n.shadow} SELECT .. FROM ${n.table} WHERE pk > cursor AND pk <= batch end FOR KEY SHARE ON CONFLICT DO NOTHING, each moving the cursor in pgrunbook.backfill_cursors`,
      'copy in keyset batches',
    ),
    own(`-- verify: count(*) and sum(hashtextextended(row)) of both tables in one snapshot`, 'verify counts and checksum'),
    own(
      `ALTER TABLE ${n.table} RENAME TO ${quoteIdent(n.oldName)}; ALTER TABLE ${n.shadow} RENAME TO ${quoteIdent(n.tableName)}`,
      'swap in one short transaction (plus FKs, views, sequences)',
    ),
  ];
}

export const swapTable: StepKind<Params> = {
  kind: 'swap_table',
  schema: schema as unknown as z.ZodType<Params>,
  sqlFragmentFields: ['columns.*.using', 'columns.*.rollback_using'],
  // The copy's cursor commits with each batch, in the backfill's cursor table.
  stateSql: backfillSchemaSql,

  async validate(step) {
    const out: Problem[] = [];
    const bad = (c: { name: string }, what: string, err: unknown) =>
      out.push({ pos: step.pos, severity: 'error', message: `swap_table: column ${c.name}: ${what}${(err as Error).message}` });
    // As in ALTER COLUMN TYPE .. USING: one expression over the row, no subquery (the sync
    // triggers would run it on every write).
    const expression = async (c: { name: string }, key: string, expr: string) => {
      const r = await checkExpression(expr).catch((err) => void bad(c, `${key}: `, err));
      if (r?.functions.includes('(subquery)'))
        bad(
          c,
          `${key}: `,
          new Error(`"${expr}" contains a subquery: use an expression over the row's own columns, as ALTER COLUMN TYPE .. USING requires`),
        );
    };
    for (const c of step.params.columns) {
      await checkTypeName(c.type).catch((err) => bad(c, '', err));
      if (c.using) await expression(c, 'using', c.using);
      if (c.rollback_using) await expression(c, 'rollback_using', c.rollback_using);
    }
    return out;
  },

  defaultGate: (_s, plan) => gateFromPlan(plan),

  async plan(step, ctx: PlanContext): Promise<StepPlan> {
    const p = step.params;
    const t = ctx.db ? await findTable(ctx.db, p.table) : undefined;
    if (ctx.db && !t) throw await missingTableError(ctx.db, p.table);
    const n = names(p, t?.schema ?? 'public');
    if (!t) (n as any).table = quoteQualified(p.table);
    if (p.drop_old) return planDropOld(n);
    const info = t && ctx.db ? await describeForSwap(ctx.db, t) : undefined;
    const notes = info ? await liveNotes(ctx.db!, p, n, info, t!) : [];
    notes.push(copyNote(p));
    notes.push(
      'short strong locks: SHARE ROW EXCLUSIVE to install the sync triggers, ACCESS EXCLUSIVE for the swap transaction; both under lock_timeout with retries',
    );
    notes.push(
      'after the swap, writes are mirrored back into the old table (rollback loses nothing); each mirrored row costs a subtransaction until drop_old',
    );
    for (const c of p.columns.filter((x) => x.using && !x.rollback_using)) {
      notes.push(
        `${c.name}: writes mirrored back into the old table convert with a plain cast to the old type (no rollback_using); a value the cast refuses blocks the swap back`,
      );
    }
    const locks: PlannedLock[] = [
      { relation: n.table, mode: 'ShareRowExclusiveLock' },
      { relation: n.table, mode: 'RowShareLock' },
      { relation: n.table, mode: 'AccessExclusiveLock' },
      ...(info ? relatedLocks(info) : []),
    ];
    const work: PlannedWork[] = [
      {
        relation: n.table,
        work: 'copy',
        description: `copy every row into ${n.shadowName} and build its indexes`,
        ...(info && !info.blockers.length ? { copy: plannedCopy(p, n, info) } : {}),
      },
      { relation: n.table, work: 'checksum', description: `verify: count and checksum of ${n.tableName}` },
      { relation: n.table, work: 'checksum', description: `verify: count and checksum of ${n.shadowName}` },
      ...(info?.outgoingFks ?? []).map((fk) => ({
        relation: n.table,
        work: 'scan' as const,
        description: `VALIDATE on ${n.shadowName} of its foreign key ${fk.name}`,
      })),
      ...(info?.incomingFks ?? []).map((fk) => ({
        relation: fk.table,
        work: 'scan' as const,
        description: `VALIDATE the re-pointed foreign key ${fk.name}`,
      })),
    ];
    return { work, statements: plannedStatements(n, changesOf(p)), locks, reversible: true, notes };
  },

  apply: (step, ctx) => (step.params.drop_old ? applyDropOld(step.params, ctx) : applySwap(step.params, ctx)),

  async verify(step, ctx) {
    const p = step.params;
    const t = await findTable(ctx.pool, p.table);
    if (!t) return [{ label: 'table', value: `${p.table} not found`, ok: false }];
    const n = names(p, t.schema);
    const oldExists = !(await relationNameFree(ctx.pool, t.schema, n.oldName));
    const types = await swapColumns(ctx.pool, t.oid);
    const ev = p.columns.map((c) => ({ label: `${p.table}.${c.name}`, value: types.find((x) => x.name === c.name)?.type ?? 'absent' }));
    ev.push({ label: `old table ${n.oldName}`, value: oldExists ? 'kept (rollback possible)' : 'absent' });
    return ev;
  },

  async rollback(step, ctx) {
    if (step.params.drop_old) return log(ctx, 'dropping the old table cannot be undone');
    await rollbackSwap(step.params, ctx);
  },

  async reconcile(step, ctx) {
    const p = step.params;
    const t = await findTable(ctx.pool, p.table);
    if (!t) return { found: 'unknown', detail: `table ${p.table} not found` };
    const n = names(p, t.schema);
    const oldExists = !(await relationNameFree(ctx.pool, t.schema, n.oldName));
    if (p.drop_old)
      return oldExists ? { found: 'not-done', detail: `${n.oldName} still exists` } : { found: 'done', detail: `${n.oldName} is gone` };
    const state = ((await ctx.state.get<State>()) ?? {}) as State;
    if (state.stage === 'swapped' && oldExists) return { found: 'done', detail: `${p.table} is the rebuilt table; ${n.oldName} is kept` };
    return { found: 'not-done', detail: state.stage ? `stopped after stage "${state.stage}"; apply continues from there` : 'not started' };
  },
};
