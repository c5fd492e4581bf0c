// What other sessions do with a table or column, read from pg_stat_statements (else pg_locks and
// pg_stat_user_tables), and the snapshot of it an expand step records so that a later `unused` step
// can count every use since the expand, not only those during its quiet period. The snapshot lives
// in pgrunbook.usage_snapshots (the run state), so a resumed run still has it.
import type { StepContext } from '../../engine/step-kind.js';
import { quoteIdent, splitQualified } from '../../pg/connection.js';
import { sqlText } from '../../pg/sql-files.js';
import { loadParser, normalizeStatement, parseStatements } from '../../pg/sqlparse.js';
import type { Runbook } from '../../runbook/model.js';

const SQL = 'steps/sql';

export const usageSnapshotSql = sqlText(SQL, 'usage-snapshot-schema');

export interface UsageTarget {
  table: string;
  column?: string;
}

/** Calls so far per pg_stat_statements entry (queryid) using the target. */
/** Calls per queryid; `own`: one of the runbook's own statements (the application's calls of that shape land in it too). */
export type Calls = Map<string, { calls: number; query: string; own?: boolean }>;

export interface UsageSnapshot {
  stepId: string;
  takenAt: Date;
  /** Absent when pg_stat_statements could not be read at the time. */
  calls?: Map<string, number>;
  activity: number;
}

/** A case-insensitive whole-word pattern for a name as it may appear in statement text. */
function wordPattern(name: string): string {
  return `\\m${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\M`;
}

/** The schema-qualified view when pg_stat_statements is readable here, else why not. */
export async function pgssView(ctx: StepContext): Promise<{ view: string } | { why: string }> {
  const r = (await ctx.pool.query(sqlText(SQL, 'usage-pgss-access'))).rows[0]!;
  if (!r.loaded) return { why: 'pg_stat_statements is not in shared_preload_libraries' };
  if (r.schema === null)
    return { why: 'the pg_stat_statements extension is not installed in this database (CREATE EXTENSION pg_stat_statements)' };
  if (!r.sees_all) return { why: "this role cannot read other users' statements (grant pg_read_all_stats)" };
  return { view: `${quoteIdent(r.schema)}.pg_stat_statements` };
}

/** Views (pg_depend on their rewrite rule) and functions (their body) that use the table or column: statements may name them instead. */
export async function dependentNames(ctx: StepContext, p: UsageTarget): Promise<{ name: string; kind: string }[]> {
  const table = splitQualified(p.table).at(-1)!;
  const r = await ctx.pool.query<{ name: string; kind: string }>(sqlText(SQL, 'usage-dependent-names'), [
    p.table,
    p.column ?? null,
    wordPattern(table),
    p.column ? wordPattern(p.column) : null,
  ]);
  return r.rows;
}

/**
 * The statements of the runbook's own `sql` steps, whitespace collapsed: pg_stat_statements cannot
 * tell pgrunbook's sessions from others', so a contract step that names the table (a column's drop
 * before its table's) is recognised by its text. Each as written and with its constants as $n, as
 * pg_stat_statements keeps a statement that has any.
 */
export async function ownStatements(runbook: Runbook): Promise<string[]> {
  await loadParser();
  const texts = Object.values(runbook.phases)
    .flat()
    .flatMap((s) => (s.kind === 'sql' && typeof s.params === 'string' ? parseStatements(s.params) : []));
  const collapsed = (sql: string) => sql.trim().replace(/\s+/g, ' ');
  return [...new Set(texts.flatMap((st) => [collapsed(st.sql), collapsed(normalizeStatement(st.sql))]))];
}

/** Calls per statement using the target; entries whose text is in `own` (from ownStatements) are marked. */
export async function readCalls(ctx: StepContext, view: string, p: UsageTarget, through: string[], own: string[] = []): Promise<Calls> {
  const table = splitQualified(p.table).at(-1)!;
  const sql = sqlText(SQL, 'usage-pgss-statements').replace('{pgss}', view);
  const r = await ctx.pool.query(sql, [wordPattern(table), p.column ? wordPattern(p.column) : null, through.map(wordPattern), own]);
  return new Map(
    r.rows.map((row) => [row.queryid as string, { calls: Number(row.calls), query: row.query as string, own: row.own === true }]),
  );
}

/** PostgreSQL 14's collector: a session reports at most every 500 ms, and a reader accepts a stats file 500 ms old. */
const PG14_STATS_INTERVAL_MS = 600;

/**
 * pgrunbook's own scans (earlier steps, run through this pool) reach pg_stat_user_tables lazily: a
 * session flushes its counters up to 10 s after it goes idle. Read later, they would count as
 * somebody else's use since the baseline, so every idle session of the pool flushes them first.
 */
async function flushOwnStats(ctx: StepContext): Promise<void> {
  const clients = await Promise.all(Array.from({ length: ctx.pool.idleCount }, () => ctx.pool.connect()));
  try {
    const pg14 = ctx.serverVersionNum < 150000;
    if (pg14) await ctx.clock.sleep(PG14_STATS_INTERVAL_MS, ctx.signal);
    const sql = sqlText(SQL, 'usage-flush-own-stats', ctx.serverVersionNum);
    await Promise.all(clients.map((c) => c.query(sql)));
    if (pg14) await ctx.clock.sleep(PG14_STATS_INTERVAL_MS, ctx.signal);
  } finally {
    for (const c of clients) c.release();
  }
}

/** Scans and row changes of the table so far (pgrunbook's own included, flushed first), and other sessions locking it now. */
export async function tableActivity(ctx: StepContext, table: string): Promise<{ activity: number; lockers: number }> {
  await flushOwnStats(ctx);
  const r = (await ctx.pool.query(sqlText(SQL, 'usage-table-activity'), [table])).rows[0]!;
  return { activity: Number(r.activity), lockers: Number(r.lockers) };
}

/** Records what uses the target now, unless this run already has a snapshot of it (the earliest wins). */
export async function takeUsageSnapshot(ctx: StepContext, p: UsageTarget): Promise<void> {
  const source = await pgssView(ctx);
  let calls: Record<string, number> | null = null;
  if ('view' in source) {
    const through = (await dependentNames(ctx, p)).map((d) => d.name);
    calls = Object.fromEntries([...(await readCalls(ctx, source.view, p, through))].map(([id, c]) => [id, c.calls]));
  }
  const { activity } = await tableActivity(ctx, p.table);
  await ctx.pool.query(sqlText(SQL, 'usage-snapshot-insert'), [
    ctx.runId,
    p.table,
    p.column ?? '',
    ctx.step.id,
    new Date(ctx.clock.now()),
    calls === null ? null : JSON.stringify(calls),
    activity,
  ]);
}

export async function readUsageSnapshot(ctx: StepContext, p: UsageTarget): Promise<UsageSnapshot | undefined> {
  const r = await ctx.pool.query(sqlText(SQL, 'usage-snapshot-get'), [ctx.runId, p.table, p.column ?? '']);
  const row = r.rows[0];
  if (!row) return undefined;
  return {
    stepId: row.step_id,
    takenAt: row.taken_at,
    ...(row.calls ? { calls: new Map(Object.entries(row.calls as Record<string, number>)) } : {}),
    activity: Number(row.activity),
  };
}
