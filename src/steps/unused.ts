// unused: before a contract step, show that nothing else still uses a table or column. It reads
// pg_stat_statements twice, a quiet period apart: any top-level statement naming the table (and
// column), or a view or function that uses it (pg_depend/pg_rewrite; function bodies), whose call
// count grew in between fails the step with its text. pgrunbook runs nothing
// else meanwhile and its own probes are left out, so what grows is somebody else's. Without a
// readable pg_stat_statements it says why and falls back to pg_locks and, for a whole table,
// pg_stat_user_tables (scans and row changes over the same period).
//   unused:
//     table: public.orders
//     column: legacy_code        # optional: the whole table otherwise
//     quiet: 1m                  # how long to watch (default 1m)
import { z } from 'zod';
import { RunbookError } from '../util/runbook-error.js';
import type { Evidence } from '../engine/gates.js';
import { formatDuration, zDuration } from '../runbook/durations.js';
import { quoteIdent, splitQualified } from '../pg/connection.js';
import { sqlText } from '../pg/sql-files.js';
import type { StepContext, StepKind } from '../engine/step-kind.js';
import { rerunIsHarmless } from './lib/reconcile.js';

export interface UnusedParams {
  table: string;
  column?: string;
  quietMs: number;
}

const schema = z
  .strictObject({
    table: z.string().trim().min(1).describe('The table about to be dropped or changed (schema.table or table).'),
    column: z.string().trim().min(1).optional().describe('The column about to be dropped; the whole table when absent.'),
    quiet: zDuration({ positive: true, zeroMessage: 'quiet 0 would watch nothing' })
      .optional()
      .describe('How long to watch for statements that use it (default 1m).'),
  })
  .describe('Show that no other session uses a table or column (pg_stat_statements, else pg_locks).')
  .transform((v): UnusedParams => ({ table: v.table, ...(v.column ? { column: v.column } : {}), quietMs: v.quiet ?? 60_000 }));

const SQL = 'steps/sql';

/** A case-insensitive whole-word pattern for a name as it may appear in statement text. */
function wordPattern(name: string): string {
  return `\\m${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\M`;
}

function what(p: UnusedParams): string {
  return p.column ? `column ${p.column} of ${p.table}` : `table ${p.table}`;
}

/** The schema-qualified view when pg_stat_statements is readable here, else why not. */
async function pgssView(ctx: StepContext): Promise<{ view: string } | { why: string }> {
  const r = (await ctx.pool.query(sqlText(SQL, 'usage-pgss-access'))).rows[0]!;
  if (!r.loaded) return { why: 'pg_stat_statements is not in shared_preload_libraries' };
  if (r.schema === null)
    return { why: 'the pg_stat_statements extension is not installed in this database (CREATE EXTENSION pg_stat_statements)' };
  if (!r.sees_all) return { why: "this role cannot read other users' statements (grant pg_read_all_stats)" };
  return { view: `${quoteIdent(r.schema)}.pg_stat_statements` };
}

type Calls = Map<string, { calls: number; query: string }>;

/** Views (pg_depend on their rewrite rule) and functions (their body) that use the table or column: statements may name them instead. */
async function dependentNames(ctx: StepContext, p: UnusedParams): Promise<{ name: string; kind: string }[]> {
  const table = splitQualified(p.table).at(-1)!;
  const r = await ctx.pool.query<{ name: string; kind: string }>(sqlText(SQL, 'usage-dependent-names'), [
    p.table,
    p.column ?? null,
    wordPattern(table),
    p.column ? wordPattern(p.column) : null,
  ]);
  return r.rows;
}

async function readCalls(ctx: StepContext, view: string, p: UnusedParams, through: string[]): Promise<Calls> {
  const table = splitQualified(p.table).at(-1)!;
  const sql = sqlText(SQL, 'usage-pgss-statements').replace('{pgss}', view);
  const r = await ctx.pool.query(sql, [wordPattern(table), p.column ? wordPattern(p.column) : null, through.map(wordPattern)]);
  return new Map(r.rows.map((row) => [row.queryid as string, { calls: Number(row.calls), query: row.query as string }]));
}

async function viaStatements(ctx: StepContext, view: string, p: UnusedParams): Promise<Evidence[]> {
  const deps = await dependentNames(ctx, p);
  const through = deps.map((d) => d.name);
  const before = await readCalls(ctx, view, p, through);
  await ctx.clock.sleep(p.quietMs, ctx.signal);
  const after = await readCalls(ctx, view, p, through);
  const used = [...after].filter(([id, a]) => a.calls > (before.get(id)?.calls ?? 0));
  const period = formatDuration(p.quietMs);
  const via = deps.length ? ` (directly or through ${deps.map((d) => `${d.kind} ${d.name}`).join(', ')})` : '';
  if (used.length === 0) {
    return [{ label: `statements using ${what(p)}${via} in ${period} (pg_stat_statements)`, value: 0, ok: true }];
  }
  return used.map(([id, a]) => ({
    label: `calls in the last ${period} of a statement using ${what(p)}${via} (pg_stat_statements)`,
    value: a.calls - (before.get(id)?.calls ?? 0),
    ok: false,
    detail: a.query,
  }));
}

async function tableActivity(ctx: StepContext, table: string): Promise<{ activity: number; lockers: number }> {
  const r = (await ctx.pool.query(sqlText(SQL, 'usage-table-activity'), [table])).rows[0]!;
  return { activity: Number(r.activity), lockers: Number(r.lockers) };
}

async function viaTableStats(ctx: StepContext, p: UnusedParams, why: string): Promise<Evidence[]> {
  const before = await tableActivity(ctx, p.table);
  await ctx.clock.sleep(p.quietMs, ctx.signal);
  const after = await tableActivity(ctx, p.table);
  const evidence: Evidence[] = [
    { label: 'pg_stat_statements', value: 'not used', detail: `${why}; falling back to pg_locks and pg_stat_user_tables` },
    { label: `other sessions holding a lock on ${p.table} now (pg_locks)`, value: after.lockers, ok: after.lockers === 0 },
  ];
  if (p.column) {
    evidence.push({
      label: `use of column ${p.column}`,
      value: 'not observable',
      detail: 'only pg_stat_statements shows which statements name a column',
    });
  } else {
    const n = after.activity - before.activity;
    evidence.push({
      label: `scans and row changes of ${p.table} in ${formatDuration(p.quietMs)} (pg_stat_user_tables)`,
      value: n,
      ok: n === 0,
    });
  }
  return evidence;
}

export const unusedKind: StepKind<UnusedParams> = {
  kind: 'unused',
  schema,

  plan(step) {
    const p = step.params;
    return {
      statements: [],
      locks: [],
      reversible: true,
      notes: [`read-only; watches ${formatDuration(p.quietMs)} for statements using ${what(p)} (pg_stat_statements, else pg_locks)`],
    };
  },

  async apply(step, ctx) {
    const p = step.params;
    const source = await pgssView(ctx);
    const evidence = 'view' in source ? await viaStatements(ctx, source.view, p) : await viaTableStats(ctx, p, source.why);
    ctx.emit({ type: 'step.evidence', stepId: step.id, evidence });
    const against = evidence.filter((e) => e.ok === false);
    if (against.length > 0) {
      const first = against[0]!;
      throw new RunbookError(`${what(p)} is still in use: ${first.label}: ${first.value}${first.detail ? ` (${first.detail})` : ''}`, {
        hint: 'find and stop what still uses it (the deployed application, a job, a report), then resume the run',
      });
    }
    return { ok: true, source: 'view' in source ? 'pg_stat_statements' : 'pg_locks' };
  },

  reconcile: rerunIsHarmless,
};
