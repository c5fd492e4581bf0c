// SQL of one batch, generated from the table's primary key. Ranges are row-value comparisons,
// `(a, b) > ($1::int, $2::uuid)`, which btree indexes answer directly, so composite keys page as
// cheaply as a single bigint.
//
// Values go in through a Binder: `paramBinder` makes `$n` placeholders (plan output, one-off
// queries), `literalBinder` quotes them into the text so the engine can send several statements in
// one simple-protocol round trip (a batch costs two round trips, which matters on a busy server
// where every round trip waits for a CPU). Either way the planner sees the bounds' values and picks
// an index range scan.
//
// Names introduced here start with __pgrunbook_ so they cannot capture a column or table that the
// runbook's `set` / `where` refer to.
import { quoteLiteral } from '../pg/connection.js';
import type { BackfillTarget } from './backfill-target.js';
import {
  type Binder,
  type CursorMove,
  cursorCte,
  keyRow,
  keyText,
  lockRangeCte,
  lockTodoCte,
  passResult,
  retrySql,
  skipCte,
  whereClause,
} from './pass-sql.js';

export interface BatchSqlInput {
  info: BackfillTarget;
  set: string;
  where?: string;
}

export function paramBinder(): { bind: Binder; params: unknown[]; labels: string[] } {
  const params: unknown[] = [];
  const labels: string[] = [];
  return {
    params,
    labels,
    bind: (value, cast, label) => {
      params.push(value);
      labels.push(label);
      return `$${params.length}::${cast}`;
    },
  };
}

export const literalBinder: Binder = (value, cast) => `${toLiteral(value)}::${cast}`;

function toLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (Array.isArray(v)) return `ARRAY[${v.map((x) => (x === null ? 'NULL' : quoteLiteral(String(x)))).join(', ')}]::text[]`;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`not a finite number: ${v}`);
    return String(v);
  }
  return quoteLiteral(String(v));
}

/** Key values (text, as stored in the cursor) cast back to the column types. */
function valueRow(info: BackfillTarget, values: string[], bind: Binder, what: string): string {
  return `(${info.keys.map((k, i) => bind(values[i], k.type, `${what} (${k.name})`)).join(', ')})`;
}

function orderBy(info: BackfillTarget, dir: 'asc' | 'desc' = 'asc'): string {
  return info.keys.map((k) => `${k.quoted} ${dir}`).join(', ');
}

const UPDATED = '(SELECT count(*) FROM __pgrunbook_upd)';

function setClause(set: string): string {
  return `${set}\n`;
}

/** `key > lower AND key <= upper` (no lower bound in the first batch of the table). */
export function range(info: BackfillTarget, lower: string[] | null, upper: string[], bind: Binder, qualifier?: string): string {
  const k = keyRow(info, qualifier);
  const parts: string[] = [];
  if (lower) parts.push(`${k} > ${valueRow(info, lower, bind, 'last key done, exclusive')}`);
  parts.push(`${k} <= ${valueRow(info, upper, bind, 'last key of this batch, inclusive')}`);
  return parts.join(' AND ');
}

/**
 * The end of the next batch: the key `limit` rows past `lower`, within the pass bound `upper`.
 * No row = fewer than `limit` rows remain (the batch ends at the bound). Reads only the key index.
 */
export function boundarySql(info: BackfillTarget, lower: string[] | null, upper: string[], limit: number, bind: Binder): string {
  const k = keyRow(info);
  const cond = [lower ? `${k} > ${valueRow(info, lower, bind, 'cursor')}` : '', `${k} <= ${valueRow(info, upper, bind, 'pass bound')}`]
    .filter(Boolean)
    .join(' AND ');
  // The alias marks the statement as pgrunbook's in pg_stat_statements (the app_latency rule skips it).
  return `SELECT ${keyText(info)} AS k FROM ${info.qualified} __pgrunbook_t WHERE ${cond} ORDER BY ${orderBy(info)} OFFSET ${bind(limit, 'int', 'batch size')} - 1 LIMIT 1`;
}

/** Highest key above `lower` (or overall): the bound of a new pass. */
export function maxKeySql(info: BackfillTarget, lower: string[] | null, bind: Binder): string {
  const cond = lower ? ` WHERE ${keyRow(info)} > ${valueRow(info, lower, bind, 'cursor')}` : '';
  return `SELECT ${keyText(info)} AS k FROM ${info.qualified} __pgrunbook_t${cond} ORDER BY ${orderBy(info, 'desc')} LIMIT 1`;
}

/**
 * Fast path: one plain UPDATE of the key range (its own row locks are FOR NO KEY UPDATE) and the
 * cursor move, in one statement. Run with a short lock_timeout: a row held by another session
 * makes it fail with 55P03 after that timeout, and the batch is redone with {@link skipLockedBatchSql}.
 */
export function fastBatchSql(b: BatchSqlInput, lower: string[] | null, m: CursorMove, bind: Binder): string {
  return `WITH __pgrunbook_upd AS (
  UPDATE ${b.info.qualified} SET ${b.set}
   WHERE ${range(b.info, lower, m.end, bind)}${whereClause(b.where)}
  RETURNING 1
), ${cursorCte(m, UPDATED, bind)}
${passResult(UPDATED, false)}`;
}

/**
 * `__pgrunbook_upd`: updates the row versions `__pgrunbook_locked` locked (by tableoid + ctid) and
 * returns their keys. A row another session updated and committed after this statement's snapshot
 * is locked in its newer version, which the snapshot cannot see: the UPDATE passes it by, and only
 * the keys returned here count as done (the rest go to the retry pass).
 */
function updateLockedCte(b: BatchSqlInput): string {
  const t = b.info.relname;
  return `__pgrunbook_upd AS (
  UPDATE ${b.info.qualified} SET ${setClause(b.set)}    FROM __pgrunbook_locked __pgrunbook_l
   WHERE ${t}.tableoid = __pgrunbook_l.__pgrunbook_toid AND ${t}.ctid = __pgrunbook_l.__pgrunbook_tid
  RETURNING ${keyText(b.info, t)} AS __pgrunbook_key
)`;
}

/**
 * Contended path: lock what is free in the range with SKIP LOCKED, update exactly those rows (by
 * tableoid + ctid of the version we locked), and record the keys of the rows not updated in
 * backfill_skipped, in the same transaction as the cursor move. The retry pass handles those later.
 * Skipped rows are found by key, not ctid: a row updated by another session since our snapshot is
 * locked in its newer version, whose ctid differs from the one our snapshot sees, so it is neither
 * updated here nor lost: its key is recorded like a held row's.
 */
export function skipLockedBatchSql(b: BatchSqlInput, lower: string[] | null, m: CursorMove, bind: Binder): string {
  const r = range(b.info, lower, m.end, bind);
  const where = whereClause(b.where);
  return `WITH ${lockRangeCte(b.info, r, where, 'NO KEY UPDATE')}, ${updateLockedCte(b)}, ${skipCte(b.info, m, r, where, '__pgrunbook_upd', bind)}, ${cursorCte(m, UPDATED, bind)}
${passResult(UPDATED, true)}`;
}

/**
 * Retry pass: take up to `limit` skipped keys (after key `after`), update those whose lock is now
 * free (SKIP LOCKED again), forget keys whose row is gone or no longer matches `where`, and keep the
 * rest for the next round. Updates and deletions from backfill_skipped share one transaction, so
 * each row is updated once.
 */
export function retryBatchSql(
  b: BatchSqlInput,
  runId: string,
  stepId: string,
  limit: number,
  after: string[] | null,
  bind: Binder,
): string {
  const where = whereClause(b.where);
  const ctes = `${lockTodoCte(b.info, where, 'NO KEY UPDATE')}, ${updateLockedCte(b)}`;
  return retrySql(b.info, { runId, stepId, limit, after }, { ctes, taken: '__pgrunbook_upd', where, done: UPDATED }, bind);
}

/** The batch's UPDATE alone (no cursor bookkeeping), for timing one batch in a rolled-back transaction. */
export function rangeUpdateSql(b: BatchSqlInput, lower: string[] | null, upper: string[], bind: Binder): string {
  return `UPDATE ${b.info.qualified} SET ${setClause(b.set)} WHERE ${range(b.info, lower, upper, bind)}${whereClause(b.where)}`;
}
