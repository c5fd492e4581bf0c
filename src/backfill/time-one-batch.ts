// For `pgrunbook plan`: run one real batch (the first one) and measure it, inside a transaction that
// is always rolled back. It touches no cursor and commits nothing; the row locks it takes last
// only as long as the batch, and it waits at most the step's lock_timeout for any of them.
import type pg from 'pg';
import { RunbookError } from '../util/runbook-error.js';
import type { StepSpec } from '../runbook/model.js';
import { checkFragments } from './backfill-fragments.js';
import { resolveConfig } from './params.js';
import { boundarySql, literalBinder, maxKeySql, rangeUpdateSql } from './batch-sql.js';
import { introspectTable } from './backfill-target.js';

export interface BatchTiming {
  /** Rows the batch updated (before the rollback). */
  rows: number;
  /** Duration of the UPDATE itself. */
  ms: number;
  /** Rows of key range the batch covered. */
  batchSize: number;
}

export async function timeOneBatch(
  pool: pg.Pool,
  step: StepSpec,
  _serverVersionNum: number,
  opts: { batchSize?: number } = {},
): Promise<BatchTiming> {
  const cfg = resolveConfig(step.params);
  const bad = await checkFragments(cfg.set, cfg.where);
  if (bad.length)
    throw new RunbookError(`backfill ${step.id}: ${bad[0]!.message}`, { hint: 'fix the step in the runbook; nothing was run' });
  const info = await introspectTable(pool, cfg.table);
  const size = opts.batchSize ?? cfg.fixedBatchSize ?? cfg.initialBatchSize;
  const c = await pool.connect();
  let broken = false;
  try {
    await c.query(
      `BEGIN; SET LOCAL lock_timeout = ${Math.round(cfg.lockTimeoutMs)}; SET LOCAL statement_timeout = ${Math.round(cfg.statementTimeoutMs)}; SET LOCAL jit = off`,
    );
    const max = await c.query<{ k: string[] }>(maxKeySql(info, null, literalBinder));
    const upper = max.rows[0]?.k;
    if (!upper) return { rows: 0, ms: 0, batchSize: 0 };
    const b = await c.query<{ k: string[] }>(boundarySql(info, null, upper, size, literalBinder));
    const end = b.rows[0]?.k ?? upper;
    const t0 = performance.now();
    const r = await c.query(rangeUpdateSql({ info, set: cfg.set, where: cfg.where }, null, end, literalBinder));
    const ms = performance.now() - t0;
    return { rows: r.rowCount ?? 0, ms, batchSize: size };
  } catch (err: any) {
    if (err?.code === '55P03') {
      throw new RunbookError(
        `timing one batch of ${info.display}: a row or table lock was held longer than lock_timeout (${cfg.lockTimeoutMs} ms)`,
        {
          sqlstate: err.code,
          hint: 'the real run steps around held rows; for the estimate, plan again when the table is quieter',
        },
      );
    }
    throw err;
  } finally {
    await c.query('ROLLBACK').catch(() => (broken = true));
    c.release(broken ? true : undefined);
  }
}
