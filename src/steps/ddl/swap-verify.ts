// swap_table's verify: the live table's rows, converted as the copy converts them, against the
// shadow's, by count and an order-independent checksum, walked in key ranges. Each range is one
// statement, so one snapshot sees both tables; the sync trigger changes both in the same
// transaction, so every range must match on its own, and a difference is named by its keys.
//
// Ranges are sized like the copy's batches (toward target_batch_time) and each is followed by an
// equal rest: the check holds no lock anyone waits on, so it leaves the application the CPU half the
// time instead of hashing both tables flat out. One snapshot of both tables took 1.1 s on the
// 1,000,000-row bench table, and the application's slow transactions piled up in it.
//
// Ranges cut on the live table's key select the same rows of the shadow only when the key orders
// the same in both: unchanged key columns, or an integer key cast to another integer or numeric
// type without `using`. Any other key change is checked in one snapshot of both tables, as before.
import type { StepContext } from '../../engine/step-kind.js';
import { quoteIdent, quoteLiteral } from '../../pg/connection.js';
import { BatchTuner } from '../../backfill/tuner.js';
import type { SwapInfo } from './swap-catalog.js';
import { checksumSql, type TypeChanges } from './swap-sql.js';

export interface VerifyTotals {
  rows: [bigint, bigint];
  hashes: [bigint, bigint];
  /** Key ranges checked (1 = the whole of both tables in one snapshot). */
  ranges: number;
  /** The first range that differs: its keys (exclusive lower, inclusive upper; null = open end). */
  mismatch?: { after: string[] | null; upTo: string[] | null };
  /** Why the check ran in one snapshot rather than in ranges. */
  whole?: string;
}

export interface VerifyTarget {
  table: string;
  shadow: string;
  info: SwapInfo;
  changes: TypeChanges;
  targetMs: number;
}

/** Share of the verify's wall time spent checking: each range is followed by an equal rest. */
export const VERIFY_DUTY = 0.5;

const INTEGER_SOURCE = new Set(['smallint', 'integer', 'bigint']);
const ORDERED_TARGET = /^\s*(smallint|int2|integer|int|int4|bigint|int8|numeric|decimal)(\s*\(\s*\d+\s*\))?\s*$/i;

/** Why key ranges of the two tables may hold different rows; null when they hold the same. */
export function keyOrderChange(info: SwapInfo, changes: TypeChanges): string | null {
  for (const k of info.pk) {
    const ch = changes[k];
    if (!ch) continue;
    const from = info.columns.find((c) => c.name === k)?.type ?? '?';
    if (ch.using || !INTEGER_SOURCE.has(from) || !ORDERED_TARGET.test(ch.type))
      return `the key column ${k} changes from ${from} to ${ch.type}${ch.using ? ' through using' : ''}, so key ranges of the two tables need not hold the same rows`;
  }
  return null;
}

/** Count and checksum of the live table (converted) and the shadow, compared range by range. */
export async function verifyShadow(ctx: StepContext, t: VerifyTarget): Promise<VerifyTotals> {
  const whole = keyOrderChange(t.info, t.changes);
  if (whole) {
    const r = await rangeChecksums(ctx, t, null, null);
    return { ...r, ranges: 1, whole, ...(differ(r) ? { mismatch: { after: null, upTo: null } } : {}) };
  }
  const tuner = new BatchTuner({ initial: 1000, min: 100, max: 1_000_000, targetMs: t.targetMs });
  const totals: VerifyTotals = { rows: [0n, 0n], hashes: [0n, 0n], ranges: 0 };
  let after: string[] | null = null;
  for (;;) {
    await ctx.control.waitWhilePaused(ctx.signal);
    const size = tuner.size;
    const t0 = ctx.clock.now();
    const upTo = await rangeEnd(ctx, t, after, size);
    const r = await rangeChecksums(ctx, t, after, upTo);
    const ms = ctx.clock.now() - t0;
    totals.ranges++;
    for (const i of [0, 1] as const) {
      totals.rows[i] += r.rows[i];
      totals.hashes[i] += r.hashes[i];
    }
    if (!totals.mismatch && differ(r)) totals.mismatch = { after, upTo };
    if (!upTo) return totals;
    tuner.observe(size, ms);
    after = upTo;
    await ctx.clock.sleep((ms * (1 - VERIFY_DUTY)) / VERIFY_DUTY, ctx.signal);
  }
}

const differ = (r: Pick<VerifyTotals, 'rows' | 'hashes'>) => r.rows[0] !== r.rows[1] || r.hashes[0] !== r.hashes[1];
const keyRow = (info: SwapInfo) => `(${info.pk.map(quoteIdent).join(', ')})`;
// Untyped literals: each table reads them as its own key types (int on one side, bigint on the other).
const valueRow = (keys: string[]) => `(${keys.map(quoteLiteral).join(', ')})`;

function rangeWhere(info: SwapInfo, after: string[] | null, upTo: string[] | null): string {
  const parts = [...(after ? [`${keyRow(info)} > ${valueRow(after)}`] : []), ...(upTo ? [`${keyRow(info)} <= ${valueRow(upTo)}`] : [])];
  return parts.join(' AND ');
}

/** The key `size` rows past `after` on the live table; null when fewer are left (the last range is open). */
async function rangeEnd(ctx: StepContext, t: VerifyTarget, after: string[] | null, size: number): Promise<string[] | null> {
  const keys = t.info.pk.map((k) => `${quoteIdent(k)}::text`).join(', ');
  const where = after ? ` WHERE ${keyRow(t.info)} > ${valueRow(after)}` : '';
  const order = t.info.pk.map((k) => quoteIdent(k)).join(', ');
  const r = await ctx.pool.query<{ k: string[] }>(
    `SELECT ARRAY[${keys}] AS k FROM ${t.table}${where} ORDER BY ${order} OFFSET ${size - 1} LIMIT 1`,
  );
  return r.rows[0]?.k ?? null;
}

/** Both tables' count and checksum over one key range (or all rows), in one statement: one snapshot. */
async function rangeChecksums(
  ctx: StepContext,
  t: VerifyTarget,
  after: string[] | null,
  upTo: string[] | null,
): Promise<Pick<VerifyTotals, 'rows' | 'hashes'>> {
  const where = rangeWhere(t.info, after, upTo);
  const live = checksumSql(t.table, t.info, t.changes, true, where);
  const shadow = checksumSql(t.shadow, t.info, t.changes, false, where);
  const { lockTimeoutMs, statementTimeoutMs } = ctx.step.settings;
  const client = await ctx.pool.connect();
  try {
    const results = await client.query(
      `BEGIN READ ONLY; SET LOCAL lock_timeout = ${lockTimeoutMs}; SET LOCAL statement_timeout = ${statementTimeoutMs};
SELECT a.n AS an, a.h AS ah, b.n AS bn, b.h AS bh FROM (${live}) a, (${shadow}) b; COMMIT`,
    );
    const row = (results as unknown as { rows: Record<string, string>[] }[])[3]!.rows[0]!;
    return { rows: [BigInt(row.an!), BigInt(row.bn!)], hashes: [BigInt(row.ah!), BigInt(row.bh!)] };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
