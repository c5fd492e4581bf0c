// watch: monitor the database for a while after a change, with alert thresholds.
//   watch: 5m                                  (observe only)
//   watch:
//     for: 5m
//     interval: 1s                             # poll every (default 1s)
//     max_replication_lag: 10MB                # any standby further behind, in bytes
//     max_replay_lag: 30s                      # any standby's replay_lag
//     max_lock_wait: 5s                        # any session waiting for a lock this long
//     max_long_query: 60s                      # any statement running this long
//     max_transaction_age: 10m                 # any transaction (idle in transaction included) open this long
//     grace: 10s                               # a limit must stay exceeded this long to count (default 0)
//     on_breach: fail                          # fail (default): the step fails with the reason
//                                              # warn: log a warning once per episode and keep watching
// It uses the monitor (its own read-only sessions with short timeouts) and ctx.clock for time. A limit
// the monitor cannot check (probe switched off for lack of privileges) is reported once as a warning.
import { z } from 'zod';
import { AbortedError, RunbookError } from '../util/runbook-error.js';
import type { Evidence } from '../engine/gates.js';
import { formatDuration, zDuration } from '../runbook/durations.js';
import { explainConnectionError, resolveConnection } from '../pg/connection.js';
import { Monitor, DEFAULT_LONG_QUERY_SECONDS } from '../monitor/monitor-poller.js';
import { checkThresholds, uncheckable, type LimitName, type WatchLimits } from '../monitor/thresholds.js';
import { parseBytes } from '../monitor/units.js';
import { formatBytes, formatSeconds } from '../util/units.js';
import type { MonitorSample } from '../monitor/monitor-types.js';
import type { StepContext, StepKind } from '../engine/step-kind.js';

export interface WatchParams {
  forMs: number;
  intervalMs: number;
  graceMs: number;
  onBreach: 'fail' | 'warn';
  limits: WatchLimits;
}

export interface WatchResult extends Record<string, unknown> {
  watchedMs: number;
  polls: number;
  /** Highest value seen per metric (seconds or bytes), whether or not it has a limit. */
  peaks: Partial<Record<LimitName, number>>;
  warnings: string[];
  /** Set when the step failed on a breach. */
  breach?: string;
}

const zBytes = z
  .union([
    z.number().nonnegative(),
    z.string().regex(/^\s*\d+(\.\d+)?\s*([kKmMgGtT]i?[bB]|[bB])?\s*$/, 'write a size like 512kB, 10MB or 1GB'),
  ])
  .transform((v) => parseBytes(v));

const watchObject = z.strictObject({
  for: zDuration({ positive: true, zeroMessage: 'for: 0 would watch nothing' }).describe('How long to watch.'),
  interval: zDuration({ positive: true, zeroMessage: 'interval 0 would poll without pause' })
    .optional()
    .describe('Time between polls (default 1s).'),
  max_replication_lag: zBytes.optional().describe('Breach when any standby replays more than this many bytes behind (e.g. 10MB).'),
  max_replay_lag: zDuration().optional().describe("Breach when any standby's replay_lag exceeds this."),
  max_lock_wait: zDuration().optional().describe('Breach when any session has waited this long for a lock.'),
  max_long_query: zDuration().optional().describe('Breach when any statement has run this long.'),
  max_transaction_age: zDuration()
    .optional()
    .describe('Breach when any transaction (idle in transaction included) has been open this long.'),
  grace: zDuration().optional().describe('A limit must stay exceeded this long before it counts (default 0: the first sample).'),
  on_breach: z
    .enum(['fail', 'warn'])
    .optional()
    .describe('fail (default): fail the step with the reason; warn: log a warning and keep watching.'),
});

// `watch: 5m` is short for `watch: {for: 5m}`; one object schema keeps error messages specific.
const schema = z
  .preprocess((v) => (typeof v === 'string' || typeof v === 'number' ? { for: v } : v), watchObject)
  .describe(
    'A duration (watch: 5m), or {for, interval, max_replication_lag, max_replay_lag, max_lock_wait, max_long_query, max_transaction_age, grace, on_breach}.',
  )
  .transform((v): WatchParams => {
    const s = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
    const limits: WatchLimits = {
      maxReplicationLagBytes: v.max_replication_lag,
      maxReplayLagSeconds: s(v.max_replay_lag),
      maxLockWaitSeconds: s(v.max_lock_wait),
      maxLongQuerySeconds: s(v.max_long_query),
      maxTransactionAgeSeconds: s(v.max_transaction_age),
    };
    for (const k of Object.keys(limits) as LimitName[]) if (limits[k] === undefined) delete limits[k];
    return { forMs: v.for, intervalMs: v.interval ?? 1000, graceMs: v.grace ?? 0, onBreach: v.on_breach ?? 'fail', limits };
  });

const LIMIT_TEXT: Record<LimitName, { key: string; label: string; show: (n: number) => string }> = {
  maxReplicationLagBytes: { key: 'max_replication_lag', label: 'replication lag', show: formatBytes },
  maxReplayLagSeconds: { key: 'max_replay_lag', label: 'replay lag', show: formatSeconds },
  maxLockWaitSeconds: { key: 'max_lock_wait', label: 'lock wait', show: formatSeconds },
  maxLongQuerySeconds: { key: 'max_long_query', label: 'longest statement', show: formatSeconds },
  maxTransactionAgeSeconds: { key: 'max_transaction_age', label: 'oldest transaction', show: formatSeconds },
};

export function describeLimits(p: WatchParams): string {
  const parts = (Object.keys(p.limits) as LimitName[]).map((k) => `${LIMIT_TEXT[k].key} ${LIMIT_TEXT[k].show(p.limits[k]!)}`);
  return parts.length ? parts.join(', ') : 'no thresholds (observe only)';
}

/** What each metric measured in this sample (for peaks and evidence). */
export function observed(s: MonitorSample): Partial<Record<LimitName, number>> {
  const max = (xs: (number | null | undefined)[]) => {
    const v = xs.filter((x): x is number => typeof x === 'number');
    return v.length ? Math.max(...v) : undefined;
  };
  const out: Partial<Record<LimitName, number>> = {
    maxReplicationLagBytes: max(s.standbys.map((x) => x.lagBytes)),
    maxReplayLagSeconds: max(s.standbys.map((x) => x.replayLagSeconds)),
    maxLockWaitSeconds: max(s.locks.filter((l) => l.blockedBy.length > 0).map((l) => l.waitingSeconds)),
    maxLongQuerySeconds: max(s.longQueries.filter((q) => q.state === 'active').map((q) => q.durationSeconds)),
    maxTransactionAgeSeconds: max(s.longQueries.map((q) => q.xactAgeSeconds)),
  };
  for (const k of Object.keys(out) as LimitName[]) if (out[k] === undefined) delete out[k];
  return out;
}

function evidenceOf(p: WatchParams, r: WatchResult): Evidence[] {
  const ev: Evidence[] = [{ label: 'watched', value: formatDuration(r.watchedMs), detail: `${r.polls} samples` }];
  for (const k of Object.keys(LIMIT_TEXT) as LimitName[]) {
    const limit = p.limits[k];
    const peak = r.peaks[k];
    if (limit === undefined && peak === undefined) continue;
    const t = LIMIT_TEXT[k];
    ev.push({
      label: `peak ${t.label}`,
      value: peak === undefined ? null : t.show(peak),
      ...(limit !== undefined ? { ok: peak === undefined || peak <= limit, detail: `${t.key} ${t.show(limit)}` } : {}),
    });
  }
  if (r.warnings.length) ev.push({ label: 'warnings', value: r.warnings.length, ok: false, detail: r.warnings.join('; ') });
  return ev;
}

async function sleep(ctx: StepContext, ms: number): Promise<void> {
  try {
    await ctx.clock.sleep(ms, ctx.signal);
  } catch (err) {
    if (ctx.signal.aborted) throw new AbortedError('watch cancelled');
    throw err;
  }
}

/** One watch in progress: what it has seen, and since when each limit has been over. */
interface WatchRun {
  p: WatchParams;
  stepId: string;
  ctx: StepContext;
  start: number;
  result: WatchResult;
  firstOver: Map<LimitName, number>;
  warned: Set<LimitName>;
  cannotCheck: Set<LimitName>;
  failures: number;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

function startWatch(p: WatchParams, stepId: string, ctx: StepContext): WatchRun {
  return {
    p,
    stepId,
    ctx,
    start: ctx.clock.now(),
    result: { watchedMs: 0, polls: 0, peaks: {}, warnings: [] },
    firstOver: new Map(),
    warned: new Set(),
    cannotCheck: new Set(),
    failures: 0,
    log: (level, message) => ctx.emit({ type: 'step.log', stepId, level, message }),
  };
}

/** One poll; a failed one is a warning, and three in a row fail the step. */
async function pollOrCount(
  run: WatchRun,
  poll: () => Promise<MonitorSample>,
  explain: (err: unknown) => string,
): Promise<MonitorSample | undefined> {
  try {
    const sample = await poll();
    run.failures = 0;
    return sample;
  } catch (err) {
    run.failures++;
    const msg = explain(err);
    if (run.failures >= 3) {
      throw new RunbookError(`watch ${run.stepId}: lost the database for 3 polls in a row: ${msg}`, {
        hint: 'nothing was changed by the watch; once the database is reachable, resume the run to watch again',
      });
    }
    run.log('warn', `poll failed (${run.failures}/3): ${msg}`);
    return undefined;
  }
}

/** Peaks, limits the monitor cannot check (said once each), then the limits this sample is over. */
async function recordSample(run: WatchRun, sample: MonitorSample): Promise<void> {
  const { result } = run;
  result.polls++;
  for (const [k, v] of Object.entries(observed(sample)) as [LimitName, number][]) {
    result.peaks[k] = Math.max(result.peaks[k] ?? v, v);
  }
  for (const k of uncheckable(sample, run.p.limits)) {
    if (run.cannotCheck.has(k)) continue;
    run.cannotCheck.add(k);
    const why = sample.notes.find((n) => /replication|sessions|hidden/.test(n)) ?? 'its probe is off';
    const msg = `cannot check ${LIMIT_TEXT[k].key}: ${why}`;
    result.warnings.push(msg);
    run.log('warn', msg);
  }
  await judgeBreaches(run, sample);
}

/** A limit over for longer than the grace fails the step (on_breach: fail) or warns once per episode. */
async function judgeBreaches(run: WatchRun, sample: MonitorSample): Promise<void> {
  const { p, result, firstOver, warned, ctx } = run;
  const now = ctx.clock.now();
  const breaches = checkThresholds(sample, p.limits);
  const over = new Set(breaches.map((b) => b.limit));
  for (const k of [...firstOver.keys()]) {
    if (!over.has(k)) {
      firstOver.delete(k);
      warned.delete(k);
    }
  }
  for (const b of breaches) {
    const since = firstOver.get(b.limit) ?? now;
    firstOver.set(b.limit, since);
    if (now - since < p.graceMs) continue;
    const reason = p.graceMs ? `${b.reason}, for ${formatDuration(now - since)}` : b.reason;
    if (p.onBreach === 'fail') {
      result.breach = reason;
      result.watchedMs = now - run.start;
      await ctx.state.set(result);
      run.log('error', `threshold breached: ${reason}`);
      throw new RunbookError(`watch ${run.stepId}: ${reason}`, {
        hint: 'the change itself is in place; look at the session named above, then resume to watch again or run the rollback phase',
      });
    }
    if (!warned.has(b.limit)) {
      warned.add(b.limit);
      result.warnings.push(reason);
      run.log('warn', `threshold crossed: ${reason}`);
    }
  }
}

export const watchKind: StepKind<WatchParams> = {
  kind: 'watch',
  schema,

  validate(step) {
    if (Object.keys(step.params.limits).length > 0) return [];
    return [
      {
        pos: step.pos,
        severity: 'warning',
        message: `step "${step.id}": watch has no thresholds, so it can only observe; add e.g. max_lock_wait: 5s or max_replication_lag: 10MB`,
      },
    ];
  },

  defaultGate: () => 'none',

  plan(step) {
    const p = step.params;
    return {
      statements: [],
      locks: [],
      reversible: true,
      notes: [
        `watches for ${formatDuration(p.forMs)}, every ${formatDuration(p.intervalMs)}: ${describeLimits(p)}` +
          (p.graceMs ? `; a limit counts after ${formatDuration(p.graceMs)} over it` : '') +
          `; on breach: ${p.onBreach === 'fail' ? 'the step fails' : 'a warning, and the watch goes on'}`,
        'read-only: its own sessions (pgrunbook:monitor) with statement_timeout 500ms and lock_timeout 100ms',
      ],
    };
  },

  async apply(step, ctx) {
    const p = step.params;
    const spec = resolveConnection(ctx.connectionString);
    const limitSeconds = [p.limits.maxLongQuerySeconds, p.limits.maxTransactionAgeSeconds].filter((x): x is number => x !== undefined);
    const monitor = Monitor.connect(spec, {
      intervalMs: p.intervalMs,
      clock: ctx.clock,
      // Low enough that every session over a limit is in the sample.
      longQuerySeconds: Math.min(DEFAULT_LONG_QUERY_SECONDS, ...limitSeconds),
    });
    const run = startWatch(p, step.id, ctx);
    run.log('info', `watching for ${formatDuration(p.forMs)}: ${describeLimits(p)}`);
    try {
      for (;;) {
        if (ctx.signal.aborted) throw new AbortedError('watch cancelled');
        const sample = await pollOrCount(
          run,
          () => monitor.poll(),
          (err) => explainConnectionError(err, spec),
        );
        if (sample) await recordSample(run, sample);
        const elapsed = ctx.clock.now() - run.start;
        ctx.emit({
          type: 'step.progress',
          stepId: step.id,
          progress: { kind: 'generic', label: 'watching', done: Math.min(elapsed, p.forMs), total: p.forMs },
        });
        if (elapsed >= p.forMs) break;
        await sleep(ctx, Math.min(p.intervalMs, p.forMs - elapsed));
      }
    } finally {
      await monitor.stop();
    }
    const { result } = run;
    result.watchedMs = ctx.clock.now() - run.start;
    await ctx.state.set(result);
    ctx.emit({ type: 'step.evidence', stepId: step.id, evidence: evidenceOf(p, result) });
    run.log(
      'info',
      `watched ${formatDuration(result.watchedMs)} (${result.polls} samples)${result.warnings.length ? `, ${result.warnings.length} warning(s)` : ', all within limits'}`,
    );
    return result;
  },

  async verify(step, ctx) {
    const r = await ctx.state.get<WatchResult>();
    return r ? evidenceOf(step.params, r) : [];
  },

  async reconcile() {
    return { found: 'not-done', detail: 'a watch leaves nothing in the database; it runs again' };
  },
};
