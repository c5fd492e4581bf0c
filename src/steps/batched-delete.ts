// batched_delete: a DELETE of many rows (a whole table, or a WHERE no index narrows) in keyset
// batches over the primary key, through the backfill engine (src/backfill/, delete-sql.ts): each
// batch is a short transaction that deletes its key range and moves the cursor in the same
// statement, so a crash or `resume` never repeats or skips a batch; the tuner, the throttles and
// the lock-skipping retry pass are the backfill's. The upper key bound is taken when it starts and
// there is no catch-up pass: like the single DELETE, it removes the rows that exist when it starts,
// and rows inserted afterwards with a higher key stay.
import { z } from 'zod';
import type { Evidence } from '../engine/gates.js';
import type { PlanContext, StepContext, StepKind, StepPlan } from '../engine/step-kind.js';
import type { Problem, StepSpec } from '../runbook/model.js';
import { InputError } from '../util/runbook-error.js';
import { batchKnobs, batchKnobsShape, zWorkers, type BackfillConfig } from '../backfill/params.js';
import { checkFragments } from '../backfill/backfill-fragments.js';
import { runStepBackfill } from './lib/step-backfill.js';
import { runRollbackSql } from './lib/rollback-sql.js';
import { doneWhenCursorDone } from './lib/reconcile.js';
import { backfillSchemaSql, describeCursor, readCursor } from '../backfill/cursor-store.js';
import { type BackfillTarget, estimateMatching, introspectTable } from '../backfill/backfill-target.js';
import { fastDeleteSql } from '../backfill/delete-sql.js';
import { paramBinder } from '../backfill/batch-sql.js';
import { quoteQualified } from '../pg/connection.js';

const schema = z
  .strictObject({
    table: z.string().trim().min(1).describe('Table to delete from, optionally schema-qualified. It must have a primary key.'),
    where: z.string().trim().min(1).optional().describe('SQL condition: only rows matching it are deleted (default: every row).'),
    ...batchKnobsShape,
    workers: zWorkers
      .optional()
      .describe(
        'Main-pass workers, each deleting in its own key range: 1 (default), 2, or auto (a second worker while no throttle rule is active, kept only if the two are at least 1.15x faster).',
      ),
  })
  .describe('DELETE in keyset batches with an exactly-once cursor, auto-tuned batch size and throttling.');
type Params = z.input<typeof schema>;

async function whereProblems(where: string | undefined): Promise<string[]> {
  if (where === undefined) return [];
  return (await checkFragments('__pgrunbook_x = 1', where)).filter((p) => p.field === 'where').map((p) => p.message);
}

async function configOf(step: StepSpec<Params>): Promise<BackfillConfig> {
  const p = schema.parse(step.params);
  const bad = await whereProblems(p.where);
  if (bad.length) throw new InputError(`step ${step.id}: ${bad.join('; ')}`, 'fix the step in the runbook; nothing was run');
  const table = p.table;
  return {
    table,
    set: '',
    where: p.where,
    ...batchKnobs(p),
    workers: p.workers ?? 1,
    deleteRows: true,
    catchupRounds: 0,
    title: `batched delete from ${table}`,
  };
}

/** One batch, with its parameters spelled out in a comment. */
function batchStatement(info: BackfillTarget, where: string | undefined): string {
  const p = paramBinder();
  const example = info.keys.map(() => '');
  const sql = fastDeleteSql({ info, where }, example, { runId: '', stepId: '', end: example, keys: 0, batchSize: 0 }, p.bind);
  return `${['-- One batch, repeated in short transactions:', ...p.labels.map((l, i) => `--   $${i + 1}: ${l}`)].join('\n')}\n${sql}`;
}

async function plan(step: StepSpec<Params>, ctx: PlanContext): Promise<StepPlan> {
  const cfg = await configOf(step);
  const notes: string[] = [];
  const info = ctx.db ? await introspectTable(ctx.db, cfg.table) : undefined;
  if (info?.estimatedRows != null) {
    const matching = cfg.where ? await estimateMatching(ctx.db!, info, cfg.where) : null;
    notes.push(
      `about ${Math.round(info.estimatedRows).toLocaleString('en-US')} rows in ${info.display} (planner statistics, not a count)` +
        (matching !== null ? `, about ${Math.round(matching.rows).toLocaleString('en-US')} matching \`where\` (${matching.basis})` : ''),
    );
  } else if (!ctx.db) notes.push('offline plan: the key columns come from the live table (plan with --db for the exact SQL)');
  notes.push(
    'deletes in keyset batches over the primary key, each its own short transaction; the upper key bound is taken at start, so rows inserted afterwards above it stay',
    'exactly once: each batch moves its cursor in pgrunbook.backfill_cursors in the same statement, so a crash or resume never repeats or skips a batch',
    `never queues behind the application's row locks: waits at most ${cfg.lockTimeoutMs} ms, then deletes the free rows with SKIP LOCKED and the held ones in a retry pass`,
    'the space is reused by later inserts after VACUUM; the table file does not shrink',
  );
  if (!step.rollback)
    notes.push('not reversible: deleted rows are gone; add `rollback:` SQL (e.g. a restore from a copy) to make it undoable');
  const sql = info
    ? batchStatement(info, cfg.where)
    : `DELETE FROM ${quoteQualified(cfg.table)} WHERE <primary key range>${cfg.where ? ` AND (${cfg.where})` : ''}`;
  return {
    statements: [{ sql, transactional: true, description: 'one batch (repeated until every key up to the start bound is visited)' }],
    locks: [{ relation: info?.display ?? cfg.table, mode: 'RowExclusiveLock' }],
    work: [{ relation: info?.display ?? cfg.table, work: 'rows', description: 'delete in batches' }],
    reversible: !!step.rollback,
    ...(step.rollback ? {} : { irreversibleReason: 'deleted rows are gone; nothing keeps a copy' }),
    notes,
  };
}

async function apply(step: StepSpec<Params>, ctx: StepContext) {
  const result = await runStepBackfill(ctx, await configOf(step));
  ctx.emit({
    type: 'step.evidence',
    stepId: step.id,
    evidence: [
      { label: 'rows deleted', value: result.rowsDone, detail: `${result.batches} batches` },
      { label: 'rows first skipped for locks, then deleted', value: result.skippedRows },
    ],
  });
  return result;
}

async function verify(step: StepSpec<Params>, ctx: StepContext): Promise<Evidence[]> {
  const cfg = await configOf(step);
  const out: Evidence[] = [];
  try {
    const info = await introspectTable(ctx.pool, cfg.table);
    out.push({ label: 'primary key (cursor)', value: info.keys.map((k) => `${k.name} ${k.type}`).join(', '), ok: true });
    out.push({ label: 'rows in table (estimate)', value: info.estimatedRows, detail: 'planner statistics (reltuples), not a count' });
  } catch (err) {
    out.push({ label: 'table', value: cfg.table, ok: false, detail: (err as Error).message });
  }
  const cur = await readCursor(ctx.pool, ctx.runId, step.id);
  out.push(cur ? { label: 'saved cursor', value: cur.pass, detail: describeCursor(cur) } : { label: 'saved cursor', value: 'none' });
  return out;
}

export const batchedDelete: StepKind<Params> = {
  kind: 'batched_delete',
  schema,
  sqlFragmentFields: ['where'],
  stateSql: backfillSchemaSql,

  async validate(step): Promise<Problem[]> {
    const parsed = schema.safeParse(step.params);
    if (!parsed.success) return [];
    return (await whereProblems(parsed.data.where)).map((m) => ({ pos: step.pos, severity: 'error', message: `${step.id}: ${m}` }));
  },

  defaultGate: (_step, p) => (p.reversible ? 'confirm' : 'type'),
  plan,
  apply,
  verify,

  async rollback(step, ctx) {
    if (!step.rollback) {
      ctx.emit({
        type: 'step.log',
        stepId: step.id,
        level: 'warn',
        message: `batched_delete ${step.id} has no rollback: SQL; the deleted rows stay deleted`,
      });
      return;
    }
    await runRollbackSql(step, ctx);
  },

  reconcile: doneWhenCursorDone('no cursor saved yet: the delete starts from the first key'),
};
