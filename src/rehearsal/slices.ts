// Keyset slices: the sample as contiguous runs of a key, spread over the key's range, each run
// copied whole, rows in the source's physical order. Two keys are sliced:
//
//  - a repeated index key (key groups): when the touched table has a non-unique index whose key
//    repeats, the slices run over that key, so every key in the sample keeps all of its rows and
//    its neighbours. Its btree leaf pages are then the source's own (the same keys side by side,
//    the same entries per key), and so is where those entries' rows sit in the heap. That is what
//    keeping such an index in order costs per updated row: a backfill's non-HOT updates add an
//    entry per row, and once a leaf page is full btree bottom-up deletion visits the heap pages of
//    the page's older entries (measured: up to half the backend's CPU in heap_index_delete_tuples).
//    A row or block sample keeps each key but a tenth of its rows (at 10%), so a leaf page holds ten
//    times more keys, each bottom-up pass frees more, and the sample pays far less per row.
//  - otherwise the primary key (or a unique key): a run of keys is what one backfill batch sees on
//    the source (which rows share a heap page, which keys sit next to each other).
//
// Measured (by hand while building this, PG 15, backend CPU per row of a keyset backfill, sample / full
// table, 1M rows, 10%): customer_id repeating periodically (the bench's table, 20 to 100 rows per
// key) 0.46–0.62 with TABLESAMPLE SYSTEM or key groups chosen by hash, 0.72–1.74 with primary-key
// slices, 0.70–1.06 with key-group slices; random or correlated keys 0.8–1.0 with any method.
//
// Reads on the source, inside the clone's read-only snapshot: a TABLESAMPLE SYSTEM sample of the
// key to place the slices (every key of a small table), an index range scan to find where each
// slice ends, then the slices' rows, sorted by ctid (a sort of the sample's size on the source).
// Primary-key slices read nothing else. Key groups of a key spread through the table (a
// customer's orders) have their rows on most heap pages, so reading them reads most of the table.
import { quoteIdent, quoteLiteral } from '../pg/connection.js';
import type { Queryable } from '../pg/queryable.js';
import { sqlText } from '../pg/sql-files.js';

/**
 * Rows per slice aimed at: several backfill batches (a batch tuned to 100 ms is ~5–10k rows on a
 * fast table), so most batches of the sample fall within one slice, as on the source.
 */
export const SLICE_ROWS = 25_000;
export const MAX_SLICES = 100;
/** A slice of key groups holds at least this many of its largest group: a slice is more than one group. */
const GROUPS_PER_SLICE = 4;
/** Key groups are kept when a row sample would cut the rows per key at least this much (as indexRisk). */
const ROWS_PER_KEY_RATIO_MIN = 2;
/** Rows with a NULL key are never in a key-group slice: key groups only when they are this rare. */
const NULL_FRAC_MAX = 0.05;
/** Keys read to place the slices. */
const PLACEMENT_KEYS_PER_SLICE = 100;
const PLACEMENT_KEYS_MIN = 2000;
/** Below this many heap pages every key is read to place the slices (cheap). */
const SAMPLED_PLACEMENT_MIN_PAGES = 1000;

export interface SliceKey {
  /** Key columns, in index order. */
  columns: string[];
  /** format_type of each, to cast key values back. */
  types: string[];
  /** The index whose key is sliced. */
  index: string;
  /** True when the key repeats: slices then hold whole key groups. */
  groups: boolean;
  /** Rows per key on the source, and of its most common key (key groups only). */
  rowsPerKey?: number;
  largestGroup?: number;
}

export interface SlicePlan {
  key: SliceKey;
  /** Where each slice starts (key values as text), ascending. */
  starts: string[][];
  rowsPerSlice: number;
}

/**
 * The primary key, else the narrowest unique btree index without expressions or predicate whose
 * key columns are all NOT NULL; null when there is none.
 */
export async function uniqueSliceKey(db: Queryable, oid: number): Promise<SliceKey | null> {
  const r = await db.query<{ index: string; columns: string[]; types: string[] }>(sqlText('rehearsal/sql', 'slice-unique-key'), [oid]);
  const row = r.rows[0];
  return row && row.columns.length > 0 ? { index: row.index, columns: row.columns, types: row.types, groups: false } : null;
}

export interface GroupCandidate {
  key: SliceKey;
  rowsPerKey: number;
  /** Rows of the most common key (from pg_stats), at least rowsPerKey. */
  largestGroup: number;
  nullFrac: number;
}

/**
 * Non-unique btree indexes whose leading column is a plain column with statistics: rows per key
 * of that column (reltuples / n_distinct) and its largest group (most_common_freqs). Catalog only.
 */
export async function groupCandidates(db: Queryable, oid: number): Promise<GroupCandidate[]> {
  const r = await db.query<{
    index: string;
    col: string;
    type: string;
    rows: string;
    distinct: string | null;
    mcf: string | null;
    null_frac: string | null;
  }>(sqlText('rehearsal/sql', 'slice-group-candidates'), [oid]);
  const out: GroupCandidate[] = [];
  for (const x of r.rows) {
    const rows = Number(x.rows);
    const distinct = x.distinct === null ? NaN : Number(x.distinct);
    if (!(rows > 0 && distinct >= 1)) continue; // no statistics: the shape is unknown
    const rowsPerKey = rows / distinct;
    const largestGroup = Math.max(rowsPerKey, x.mcf === null ? 0 : Number(x.mcf) * rows);
    out.push({
      key: { index: x.index, columns: [x.col], types: [x.type], groups: true, rowsPerKey, largestGroup },
      rowsPerKey,
      largestGroup,
      nullFrac: x.null_frac === null ? 0 : Number(x.null_frac),
    });
  }
  return out;
}

/** How many slices for a sample of `rows` rows (of key groups no larger than `largestGroup`). */
export function sliceCount(rows: number, largestGroup = 1, sliceRows = SLICE_ROWS): number {
  const byGroups = Math.floor(rows / (GROUPS_PER_SLICE * largestGroup));
  return Math.max(1, Math.min(MAX_SLICES, Math.round(rows / sliceRows), byGroups));
}

/**
 * The key to slice for a sample at `fraction`: whole key groups of the repeated index key a row
 * sample would distort most (rows per key cut at least ROWS_PER_KEY_RATIO_MIN times) among those
 * whose groups fit several to a slice; else the unique key; null when the table has neither.
 */
export async function chooseSliceKey(db: Queryable, oid: number, rowsEstimate: number, fraction: number): Promise<SliceKey | null> {
  const wanted = rowsEstimate * fraction;
  const fits = (await groupCandidates(db, oid)).filter(
    (c) =>
      c.rowsPerKey / Math.max(1, c.rowsPerKey * fraction) >= ROWS_PER_KEY_RATIO_MIN &&
      c.nullFrac <= NULL_FRAC_MAX &&
      wanted >= GROUPS_PER_SLICE * c.largestGroup,
  );
  fits.sort((a, b) => b.rowsPerKey - a.rowsPerKey);
  return fits[0]?.key ?? (await uniqueSliceKey(db, oid));
}

/**
 * Places the slices, one in each equal stripe of the key's range, at a seeded pseudo-random spot
 * within the stripe (evenly spaced slices could all land on the same phase of a periodic pattern in
 * the data). Quantiles come from a block sample of the key (REPEATABLE: the same slices every
 * time), or from every key when the table is small.
 */
export async function planSlices(
  db: Queryable,
  table: { qualified: string; relpages: number; rowsEstimate: number },
  key: SliceKey,
  opts: { fraction: number; seed: number; sliceRows?: number },
): Promise<SlicePlan> {
  const wanted = Math.max(1, Math.round(table.rowsEstimate * opts.fraction));
  const count = sliceCount(wanted, key.groups ? Math.max(1, key.largestGroup ?? 1) : 1, opts.sliceRows);
  const placementKeys = Math.max(PLACEMENT_KEYS_MIN, count * PLACEMENT_KEYS_PER_SLICE);
  const pct = (100 * placementKeys) / Math.max(1, table.rowsEstimate);
  const sampled = table.relpages >= SAMPLED_PLACEMENT_MIN_PAGES && pct < 50;
  const from = `ONLY ${table.qualified}${sampled ? ` TABLESAMPLE SYSTEM (${pct.toFixed(6)}) REPEATABLE (${Math.trunc(opts.seed)})` : ''}`;
  const notNull = key.columns.map((c) => `${quoteIdent(c)} IS NOT NULL`).join(' AND ');
  // Where in its stripe each slice starts: anywhere that leaves room for the slice.
  const room = 1 - Math.min(1, opts.fraction);
  const offsets = Array.from({ length: count }, (_, g) => g + room * unitRandom(opts.seed, g));
  const r = await db.query<{ k: string[] }>(
    `with s as (select ${keyText(key)} as k, row_number() over (order by ${keyOrder(key)}) as rn, count(*) over () as n from ${from} where ${notNull})
     select k from s
      where rn in (select (floor(o * n / ${count}))::bigint + 1 from unnest($1::float8[]) o)
      order by rn`,
    [offsets],
  );
  // Key groups: several slices can start in one big group; the chaining in the copy skips repeats.
  const starts = r.rows.map((x) => x.k);
  return { key, starts, rowsPerSlice: Math.max(1, Math.ceil(wanted / Math.max(1, starts.length))) };
}

export interface SliceBounds {
  start: string[];
  /** The previous slice's last key: this slice starts after it when they would overlap. */
  after: string[] | null;
}

/**
 * The last key of a slice of `rows` rows from its start; no row when fewer remain (the slice runs
 * to the end). For a repeated key the slice then ends with that key's whole group.
 */
export function sliceEndSql(qualified: string, key: SliceKey, lower: SliceBounds, rows: number): string {
  return `SELECT ${keyText(key)} AS k FROM ONLY ${qualified} WHERE ${lowerBound(key, lower)} ORDER BY ${keyOrder(key)} OFFSET ${Math.max(0, rows - 1)} LIMIT 1`;
}

/** One slice: from its start (after the previous slice's end) to its end; no end = to the end of the table. */
export interface SliceRange {
  lower: SliceBounds;
  end: string[] | null;
}

/**
 * The rows of all slices (whole key groups: the bounds are key values) in one scan, in the
 * source's heap order across slices, so the sample's heap interleaves the slices as the source's
 * does. Measured: copying slice after slice (each in heap order) put the sample's backfill at 0.71x
 * the source's cost per row, and speeding up as it went; one heap order, 1.00x and as steady.
 */
export function slicesSelectSql(qualified: string, cols: string, key: SliceKey, ranges: SliceRange[]): string {
  const one = (r: SliceRange) => `(${lowerBound(key, r.lower)}${r.end ? ` AND ${keyRow(key)} <= ${valueRow(key, r.end)}` : ''})`;
  return `SELECT ${cols} FROM ONLY ${qualified} WHERE ${ranges.map(one).join('\n   OR ')} ORDER BY ctid`;
}

function lowerBound(key: SliceKey, lower: SliceBounds): string {
  const parts = [`${keyRow(key)} >= ${valueRow(key, lower.start)}`];
  if (lower.after) parts.push(`${keyRow(key)} > ${valueRow(key, lower.after)}`);
  return parts.join(' AND ');
}

/** A deterministic number in [0, 1) for (seed, i): the same slices on every rehearsal. */
function unitRandom(seed: number, i: number): number {
  let x = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(i + 1, 0x85ebca6b)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return ((x ^ (x >>> 16)) >>> 0) / 2 ** 32;
}

function keyRow(key: SliceKey): string {
  return `(${key.columns.map(quoteIdent).join(', ')})`;
}

function keyOrder(key: SliceKey): string {
  return key.columns.map(quoteIdent).join(', ');
}

function keyText(key: SliceKey): string {
  return `ARRAY[${key.columns.map((c) => `${quoteIdent(c)}::text`).join(', ')}]`;
}

function valueRow(key: SliceKey, values: string[]): string {
  return `(${key.types.map((t, i) => `${quoteLiteral(values[i]!)}::${t}`).join(', ')})`;
}
