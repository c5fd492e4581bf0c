// backfill: a keyset-batched UPDATE with an exactly-once cursor (the engine is src/backfill/).
// plan shows one batch's SQL and the RowExclusiveLock it takes; apply runs (or resumes) the batch
// loop; verify and reconcile read the persisted cursor.
import type { StepKind, StepPlan, PlanContext, StepContext } from '../engine/step-kind.js';
import type { Evidence } from '../engine/gates.js';
import type { Problem, StepSpec } from '../runbook/model.js';
import { InputError } from '../util/runbook-error.js';
import { backfillSchema, resolveConfig, type BackfillConfig, type BackfillParams } from '../backfill/params.js';
import { checkFragments } from '../backfill/backfill-fragments.js';
import { runStepBackfill } from './lib/step-backfill.js';
import { runRollbackSql } from './lib/rollback-sql.js';
import { doneWhenCursorDone } from './lib/reconcile.js';
import { backfillSchemaSql, readCursor } from '../backfill/cursor-store.js';
import { describeSavedWalk } from '../backfill/range-store.js';
import { estimateMatching, introspectTable, type BackfillTarget } from '../backfill/backfill-target.js';
import { fastBatchSql, paramBinder } from '../backfill/batch-sql.js';
import { AIM_FRACTION } from '../backfill/tuner.js';
import { quoteIdent, quoteQualified } from '../pg/connection.js';

async function configOf(step: StepSpec<BackfillParams>): Promise<BackfillConfig> {
  const cfg = resolveConfig(step.params);
  const bad = await checkFragments(cfg.set, cfg.where);
  if (bad.length)
    throw new InputError(`step ${step.id}: ${bad.map((b) => b.message).join('; ')}`, 'fix the step in the runbook; nothing was run');
  return cfg;
}

/** The batch statement with its parameters spelled out in a comment. */
function batchStatement(info: BackfillTarget, cfg: BackfillConfig): string {
  const p = paramBinder();
  const example = info.keys.map(() => '');
  const sql = fastBatchSql(
    { info, set: cfg.set, where: cfg.where },
    example,
    { runId: '', stepId: '', end: example, keys: 0, batchSize: 0 },
    p.bind,
  );
  const header = [
    '-- One batch, repeated in short transactions, each after SELECT .. FOR UPDATE of its cursor row',
    '-- in pgrunbook.backfill_cursors (the first batch has no lower bound):',
    ...p.labels.map((l, i) => `--   $${i + 1}: ${l}`),
  ];
  return `${header.join('\n')}\n${sql}`;
}

function offlineInfo(table: string): BackfillTarget {
  return {
    oid: 0,
    display: table,
    qualified: quoteQualified(table),
    relname: quoteIdent(table.split('.').pop() ?? table),
    keys: [{ name: 'primary key', quoted: '<primary key>', type: '<key type>' }],
    partitioned: false,
    estimatedRows: null,
  };
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function plan(step: StepSpec<BackfillParams>, ctx: PlanContext): Promise<StepPlan> {
  const cfg = await configOf(step);
  const notes: string[] = [];
  let info: BackfillTarget;
  if (ctx.db) {
    info = await introspectTable(ctx.db, cfg.table);
    const keyDesc = info.keys.map((k) => `${k.name} ${k.type}`).join(', ');
    notes.push(
      `walks the primary key (${keyDesc}) in key order; the upper bound is taken at start, and a catch-up pass then covers keys added above it meanwhile`,
    );
    if (info.estimatedRows !== null) {
      const matching = cfg.where ? await estimateMatching(ctx.db, info, cfg.where) : null;
      notes.push(
        `about ${fmt(info.estimatedRows)} rows in ${info.display} (planner statistics, not a count)` +
          (matching !== null ? `, about ${fmt(matching.rows)} matching \`where\` (${matching.basis})` : ''),
      );
    } else notes.push(`${info.display} was never analyzed: no row estimate yet (run ANALYZE for one)`);
    if (info.keys.some((k) => /uuid|text|char/.test(k.type))) {
      notes.push(
        'the key is not monotonic: rows inserted during the run behind the cursor are not visited, so the application must set the new value on rows it writes',
      );
    }
  } else {
    info = offlineInfo(cfg.table);
    notes.push('offline plan: the key columns and their types come from the live table (plan with --db for the exact SQL)');
  }
  notes.push(
    cfg.fixedBatchSize !== undefined
      ? `fixed batches of ${fmt(cfg.fixedBatchSize)} rows`
      : `batch size tuned so each transaction stays within ${cfg.targetBatchMs} ms, aiming at ${Math.round(cfg.targetBatchMs * AIM_FRACTION)} ms (starts at ${fmt(cfg.initialBatchSize)} rows, at most ${fmt(cfg.maxBatchSize)})`,
  );
  notes.push(
    `never queues behind the application's row locks: waits at most ${cfg.lockTimeoutMs} ms, then redoes the range with SKIP LOCKED and updates the skipped rows in a retry pass at the end`,
  );
  notes.push(
    'exactly-once: each batch moves its cursor in pgrunbook.backfill_cursors in the same transaction, so a crash or resume never skips or repeats a batch',
  );
  const throttle = cfg.throttle;
  notes.push(
    throttle.enabled
      ? `throttles on replication lag (${Math.round(throttle.replicationLagBytes / 1024 ** 2)} MB / ${throttle.replicationLagMs} ms), sessions waiting on our locks, batches over ${throttle.batchTimeFactor}x target` +
          (throttle.appLatencyFactor > 0
            ? `, application latency over ${throttle.appLatencyFactor}x its baseline (pg_stat_statements)`
            : '') +
          (cfg.minThroughput > 0 ? `, and throughput under ${Math.round(cfg.minThroughput * 100)}% of the early rate` : '')
      : 'throttle probes are off (`throttle: false`)',
  );
  if (!step.rollback) notes.push('not reversible: the old values are overwritten; add `rollback:` SQL to make it undoable');
  return {
    statements: [{ sql: batchStatement(info, cfg), transactional: true, description: 'one batch (repeated until every key is visited)' }],
    locks: [{ relation: info.display, mode: 'RowExclusiveLock' }],
    reversible: !!step.rollback,
    ...(step.rollback ? {} : { irreversibleReason: 'a backfill overwrites column values in place and keeps no copy of the old ones' }),
    notes,
  };
}

export const backfill: StepKind<BackfillParams> = {
  kind: 'backfill',
  schema: backfillSchema,
  sqlFragmentFields: ['set', 'where'],
  // Cursors commit in the same transaction as each batch: their tables live in the run state.
  stateSql: backfillSchemaSql,

  async validate(step): Promise<Problem[]> {
    const parsed = backfillSchema.safeParse(step.params);
    if (!parsed.success) return []; // the loader reports schema errors itself
    const bad = await checkFragments(parsed.data.set, parsed.data.where);
    return bad.map((b) => ({ pos: step.pos, severity: 'error', message: `${step.id}: ${b.message}` }));
  },

  defaultGate: (_step, p) => (p.reversible ? 'confirm' : 'type'),

  plan,

  async apply(step, ctx: StepContext) {
    const cfg = await configOf(step);
    const result = await runStepBackfill(ctx, cfg);
    const cur = await readCursor(ctx.pool, ctx.runId, step.id);
    ctx.emit({
      type: 'step.evidence',
      stepId: step.id,
      evidence: [
        {
          label: 'rows updated',
          value: result.rowsDone,
          detail: `${result.batches} batches${result.catchupRounds ? `, ${result.catchupRounds} catch-up pass(es)` : ''}`,
        },
        { label: 'rows first skipped for locks, then updated', value: result.skippedRows },
        { label: 'backfill pass', value: cur?.pass ?? 'unknown', ok: cur?.pass === 'done' },
      ],
    });
    return result;
  },

  /** Gate evidence before apply: the table's key and size, and any cursor a previous attempt left. */
  async verify(step, ctx) {
    const cfg = resolveConfig(step.params);
    const evidence: Evidence[] = [];
    try {
      const info = await introspectTable(ctx.pool, cfg.table);
      evidence.push({ label: 'primary key (cursor)', value: info.keys.map((k) => `${k.name} ${k.type}`).join(', '), ok: true });
      evidence.push({
        label: 'rows in table (estimate)',
        value: info.estimatedRows,
        detail: 'planner statistics (reltuples), not a count',
      });
      const matching = cfg.where ? await estimateMatching(ctx.pool, info, cfg.where) : null;
      if (cfg.where)
        evidence.push({
          label: 'rows matching where (estimate)',
          value: matching?.rows ?? null,
          detail: matching?.basis ?? 'not estimated',
        });
    } catch (err) {
      evidence.push({ label: 'table', value: cfg.table, ok: false, detail: (err as Error).message });
    }
    const cur = await readCursor(ctx.pool, ctx.runId, step.id);
    evidence.push(
      cur
        ? { label: 'saved cursor', value: cur.pass, ok: true, detail: await describeSavedWalk(ctx.pool, cur) }
        : { label: 'saved cursor', value: 'none', detail: 'starts from the first key' },
    );
    return evidence;
  },

  async rollback(step, ctx) {
    if (!step.rollback) {
      // Nothing to restore from: say so and let the rest of the rollback go on (the
      // add_column undo that runs after it usually drops the whole column anyway).
      ctx.emit({
        type: 'step.log',
        stepId: ctx.step.id,
        level: 'warn',
        message: `backfill ${step.id} has no rollback: SQL; the values it wrote stay as they are`,
      });
      return;
    }
    await runRollbackSql(step, ctx);
  },

  reconcile: doneWhenCursorDone('no backfill cursor saved yet: the backfill starts from the beginning'),
};
