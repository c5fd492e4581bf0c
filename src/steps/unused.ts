// unused: before a contract step, show that nothing else still uses a table or column. It reads
// pg_stat_statements twice, a quiet period apart: any top-level statement naming the table (and
// column), or a view or function that uses it (pg_depend/pg_rewrite; function bodies), whose call
// count grew in between fails the step with its text. When an expand step of the same run recorded
// a snapshot (change_column's expand, or an `unused` step with stage: baseline), a call count that
// grew since that snapshot fails it too: a nightly job that ran once since the expand is not quiet
// during one minute by chance. pgrunbook runs nothing else during the quiet period, so what grows
// there is somebody else's; since the snapshot, the runbook's own statements are left out. Without a readable pg_stat_statements it says why and falls
// back to pg_locks and, for a whole table, pg_stat_user_tables (scans and row changes). After a
// failure only the baseline caught, the resumed step asks the operator to accept those uses (a gate).
//   unused:
//     table: public.orders
//     column: legacy_code        # optional: the whole table otherwise
//     quiet: 1m                  # how long to watch (default 1m)
//     stage: baseline            # optional: only record the snapshot a later check compares with
import { z } from 'zod';
import { RunbookError } from '../util/runbook-error.js';
import type { Evidence } from '../engine/gates.js';
import { formatDuration, zDuration } from '../runbook/durations.js';
import type { StepContext, StepKind } from '../engine/step-kind.js';
import { rerunIsHarmless } from './lib/reconcile.js';
import {
  type Calls,
  dependentNames,
  ownStatements,
  pgssView,
  readCalls,
  readUsageSnapshot,
  tableActivity,
  takeUsageSnapshot,
  type UsageSnapshot,
  usageSnapshotSql,
} from './lib/expand-snapshot.js';

export interface UnusedParams {
  table: string;
  column?: string;
  quietMs: number;
  stage?: 'baseline';
}

const schema = z
  .strictObject({
    table: z.string().trim().min(1).describe('The table about to be dropped or changed (schema.table or table).'),
    column: z.string().trim().min(1).optional().describe('The column about to be dropped; the whole table when absent.'),
    quiet: zDuration({ positive: true, zeroMessage: 'quiet 0 would watch nothing' })
      .optional()
      .describe('How long to watch for statements that use it (default 1m).'),
    stage: z
      .enum(['baseline', 'check'])
      .optional()
      .describe('baseline: only record what uses it now, for a later check of this run to count every use since (default check).'),
  })
  .describe('Show that no other session uses a table or column (pg_stat_statements, else pg_locks).')
  .transform(
    (v): UnusedParams => ({
      table: v.table,
      ...(v.column ? { column: v.column } : {}),
      quietMs: v.quiet ?? 60_000,
      ...(v.stage === 'baseline' ? { stage: 'baseline' as const } : {}),
    }),
  );

/**
 * After a failure that only the expand baseline caught: the counts then (accepted once the operator
 * approves at the resumed step's gate), what the failure listed, when, and who accepted them.
 */
interface UnusedState {
  accepted?: Record<string, number>;
  acceptedActivity?: number;
  listed?: Evidence[];
  failedAt?: string;
  acceptedBy?: string;
}

interface Baseline {
  snap?: UsageSnapshot;
  accepted: UnusedState;
}

function what(p: UnusedParams): string {
  return p.column ? `column ${p.column} of ${p.table}` : `table ${p.table}`;
}

function sinceText(s: UsageSnapshot): string {
  return `since the expand step ${s.stepId} at ${s.takenAt.toISOString().slice(11, 16)} UTC`;
}

/** Said when only the quiet period can be watched: no snapshot, or one taken without pg_stat_statements. */
function quietOnly(p: UnusedParams, b: Baseline, statements: boolean): Evidence | undefined {
  const how = 'change_column expand and `unused` with stage: baseline record one';
  if (!b.snap)
    return {
      label: 'baseline',
      value: 'quiet period only',
      detail: `this run recorded no snapshot of ${what(p)} at an expand step (${how}): uses before the last ${formatDuration(p.quietMs)} are not seen`,
    };
  if (statements && !b.snap.calls)
    return {
      label: 'baseline',
      value: 'quiet period only',
      detail: `pg_stat_statements was not readable at the expand step ${b.snap.stepId}: its snapshot has no statements to compare with`,
    };
  return undefined;
}

/** Uses since the snapshot (beyond those already accepted) of statements that were quiet during the watch. */
function sinceSnapshot(after: Calls, inQuiet: Set<string>, b: Baseline): [string, number, string][] {
  const base = b.snap?.calls;
  if (!base) return [];
  return [...after].flatMap(([id, a]) => {
    const n = a.calls - Math.max(base.get(id) ?? 0, b.accepted.accepted?.[id] ?? 0);
    return !inQuiet.has(id) && n > 0 ? [[id, n, a.query] as [string, number, string]] : [];
  });
}

async function viaStatements(
  ctx: StepContext,
  view: string,
  p: UnusedParams,
  b: Baseline,
): Promise<{ evidence: Evidence[]; calls: Calls }> {
  const deps = await dependentNames(ctx, p);
  const through = deps.map((d) => d.name);
  const own = await ownStatements(ctx.runbook);
  const before = await readCalls(ctx, view, p, through, own);
  await ctx.clock.sleep(p.quietMs, ctx.signal);
  const after = await readCalls(ctx, view, p, through, own);
  const used = [...after].filter(([id, a]) => a.calls > (before.get(id)?.calls ?? 0));
  const period = formatDuration(p.quietMs);
  const via = deps.length ? ` (directly or through ${deps.map((d) => `${d.kind} ${d.name}`).join(', ')})` : '';
  // Since the snapshot the runbook's own statements ran too: their entries are left out there. In the
  // quiet period pgrunbook runs nothing, so every call counted above is somebody else's, own-shaped or not.
  const notOwn = new Map([...after].filter(([, a]) => !a.own));
  const since = sinceSnapshot(notOwn, new Set(used.map(([id]) => id)), b);
  const note = quietOnly(p, b, true);
  const evidence: Evidence[] = note ? [note] : [];
  if (used.length === 0 && since.length === 0) {
    const window = b.snap?.calls ? `${sinceText(b.snap)} and in the last ${period}` : `in ${period}`;
    evidence.push({ label: `statements using ${what(p)}${via} ${window} (pg_stat_statements)`, value: 0, ok: true });
    return { evidence, calls: after };
  }
  for (const [id, a] of used)
    evidence.push({
      label: `calls in the last ${period} of a statement using ${what(p)}${via} (pg_stat_statements)`,
      value: a.calls - (before.get(id)?.calls ?? 0),
      ok: false,
      detail: a.query,
    });
  for (const [, n, query] of since)
    evidence.push({
      label: `calls ${sinceText(b.snap!)}, none in the last ${period}, of a statement using ${what(p)}${via} (pg_stat_statements)`,
      value: n,
      ok: false,
      detail: query,
    });
  return { evidence, calls: after };
}

async function viaTableStats(
  ctx: StepContext,
  p: UnusedParams,
  why: string,
  b: Baseline,
): Promise<{ evidence: Evidence[]; activity: number }> {
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
    return { evidence, activity: after.activity };
  }
  const note = quietOnly(p, b, false);
  if (note) evidence.push(note);
  const n = after.activity - before.activity;
  evidence.push({
    label: `scans and row changes of ${p.table} in ${formatDuration(p.quietMs)} (pg_stat_user_tables)`,
    value: n,
    ok: n === 0,
  });
  if (b.snap && n === 0) {
    const since = after.activity - Math.max(b.snap.activity, b.accepted.acceptedActivity ?? 0);
    evidence.push({
      label: `scans and row changes of ${p.table} ${sinceText(b.snap)} (pg_stat_user_tables)`,
      value: since,
      ok: since <= 0,
    });
  }
  return { evidence, activity: after.activity };
}

/** Fails the step with the first use found; when only the expand baseline caught them, resuming accepts those. */
async function refuse(ctx: StepContext, p: UnusedParams, evidence: Evidence[], seen: UnusedState): Promise<never> {
  const against = evidence.filter((e) => e.ok === false);
  const first = against[0]!;
  const onlySince = against.every((e) => /since the expand step/.test(e.label));
  if (onlySince) await ctx.state.set({ ...seen, listed: against, failedAt: new Date(ctx.clock.now()).toISOString() });
  throw new RunbookError(`${what(p)} is still in use: ${first.label}: ${first.value}${first.detail ? ` (${first.detail})` : ''}`, {
    hint: onlySince
      ? 'find what ran it (a job, a report, the previous application version); if it was the previous version before it was retired, resume the run and accept these uses at the prompt (--yes in a non-interactive run): any new one still fails the check'
      : 'find and stop what still uses it (the deployed application, a job, a report), then resume the run',
  });
}

function failedAtText(seen: UnusedState): string {
  return `${seen.failedAt?.slice(11, 16) ?? '?'} UTC`;
}

/** A resumed check after a failure only the baseline caught: the operator accepts those uses at a gate, or it fails again. */
async function acceptListed(ctx: StepContext, p: UnusedParams, seen: UnusedState): Promise<UnusedState> {
  const req = {
    id: `${ctx.step.id}:accept-uses`,
    stepId: ctx.step.id,
    level: 'confirm' as const,
    title: `Accept the uses of ${what(p)} the check found at ${failedAtText(seen)}?`,
    action: `Counts the uses listed (since the expand step, none during its quiet period) as the retired version's and checks only for newer ones.`,
    evidence: (seen.listed ?? []).map((e) => ({ ...e, ok: undefined })),
  };
  const decision = await ctx.gates.request(req, ctx.signal);
  if (!decision.approved)
    throw new RunbookError(
      `the uses of ${what(p)} found at ${failedAtText(seen)} were not accepted${decision.reason ? `: ${decision.reason}` : ''}`,
      {
        hint: 'find and stop what used it, then resume the run and accept them at the prompt (--yes in a non-interactive run)',
      },
    );
  const accepted = { ...seen, acceptedBy: decision.by };
  await ctx.state.set({ ...accepted });
  return accepted;
}

/** Said on every later check: some uses since the baseline were accepted, by whom. */
function acceptedNote(p: UnusedParams, seen: UnusedState): Evidence[] {
  if (!seen.acceptedBy) return [];
  return [
    {
      label: `uses of ${what(p)} since the expand step accepted by ${seen.acceptedBy} (found at ${failedAtText(seen)})`,
      value: (seen.listed ?? []).reduce((n, e) => n + (typeof e.value === 'number' ? e.value : 0), 0),
      detail: (seen.listed ?? []).map((e) => e.detail ?? e.label).join('; '),
    },
  ];
}

export const unusedKind: StepKind<UnusedParams> = {
  kind: 'unused',
  schema,
  // The snapshots expand steps record (change_column declares the same table).
  stateSql: usageSnapshotSql,

  plan(step) {
    const p = step.params;
    const notes =
      p.stage === 'baseline'
        ? [`read-only; records what uses ${what(p)} now, so a later unused check of this run counts every use since`]
        : [`read-only; watches ${formatDuration(p.quietMs)} for statements using ${what(p)} (pg_stat_statements, else pg_locks)`];
    return { statements: [], locks: [], reversible: true, notes };
  },

  async apply(step, ctx) {
    const p = step.params;
    if (p.stage === 'baseline') {
      await takeUsageSnapshot(ctx, p);
      const snap = await readUsageSnapshot(ctx, p);
      ctx.emit({
        type: 'step.evidence',
        stepId: step.id,
        evidence: [
          { label: `use of ${what(p)} recorded`, value: snap ? sinceText(snap).replace('since ', '') : 'not recorded', ok: !!snap },
        ],
      });
      return { baseline: snap?.takenAt.toISOString() };
    }
    let earlier = (await ctx.state.get<UnusedState>()) ?? {};
    if (earlier.listed && !earlier.acceptedBy) earlier = await acceptListed(ctx, p, earlier);
    const b: Baseline = { snap: await readUsageSnapshot(ctx, p), accepted: earlier };
    const source = await pgssView(ctx);
    let evidence: Evidence[];
    let seen: UnusedState;
    if ('view' in source) {
      const r = await viaStatements(ctx, source.view, p, b);
      evidence = r.evidence;
      seen = { accepted: Object.fromEntries([...r.calls].map(([id, c]) => [id, c.calls])) };
    } else {
      const r = await viaTableStats(ctx, p, source.why, b);
      evidence = r.evidence;
      seen = { acceptedActivity: r.activity };
    }
    evidence = [...acceptedNote(p, earlier), ...evidence];
    ctx.emit({ type: 'step.evidence', stepId: step.id, evidence });
    if (evidence.some((e) => e.ok === false)) await refuse(ctx, p, evidence, seen);
    return {
      ok: true,
      source: 'view' in source ? 'pg_stat_statements' : 'pg_locks',
      baseline: b.snap ? b.snap.stepId : 'quiet period only',
    };
  },

  reconcile: rerunIsHarmless,
};
