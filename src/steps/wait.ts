// wait: let time pass, or poll a read-only query until its condition holds.
//   wait: 5m                                   (same as wait: { for: 5m })
//   wait:
//     until: { query: "SELECT count(*) FROM pg_stat_replication WHERE replay_lag > interval '5s'", expect: "= 0" }
//     timeout: 30m                             # give up (fail) after this long
//     interval: 10s                            # poll every (default 5s)
// Time comes from ctx.clock (FakeClock in engine tests); an abort ends the wait at once.
import { z } from 'zod';
import { AbortedError, RunbookError } from '../util/runbook-error.js';
import { formatDuration, zDuration } from '../runbook/durations.js';
import { evaluate, showValue, zCondition, type QueryCondition } from './lib/condition.js';
import { queryProblems } from './lib/query-checks.js';
import { readOnlyQuery } from './lib/read-query.js';
import { runRollbackSql } from './lib/rollback-sql.js';
import type { StepContext, StepKind } from '../engine/step-kind.js';
import type { Problem } from '../runbook/model.js';
import { rerunIsHarmless } from './lib/reconcile.js';

export const DEFAULT_INTERVAL_MS = 5000;

export type WaitParams = { for: number } | { until: QueryCondition; timeout?: number; interval: number };

const waitObject = z
  .strictObject({
    for: zDuration().optional().describe('Just wait this long.'),
    until: zCondition.optional().describe('Poll this query until its condition holds.'),
    timeout: zDuration({ positive: true, zeroMessage: 'timeout 0 would fail at once' })
      .optional()
      .describe('With until: fail when the condition has not held after this long.'),
    interval: zDuration({ positive: true, zeroMessage: 'interval 0 would poll without pause' })
      .optional()
      .describe('With until: time between polls (default 5s).'),
  })
  .superRefine((v, ctx) => {
    if ((v.for === undefined) === (v.until === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give either for: DURATION or until: {query, expect}, not both or neither' });
    }
    if (v.for !== undefined && (v.timeout !== undefined || v.interval !== undefined)) {
      ctx.addIssue({ code: 'custom', message: 'timeout and interval apply only to until:' });
    }
  });

const schema = z
  .union([waitObject, zDuration()])
  .describe('A duration (wait: 5m), or {for} / {until, timeout, interval}.')
  .transform((v): WaitParams => {
    if (typeof v === 'number') return { for: v };
    if (v.until)
      return { until: v.until, ...(v.timeout !== undefined ? { timeout: v.timeout } : {}), interval: v.interval ?? DEFAULT_INTERVAL_MS };
    return { for: v.for! };
  });

function stopped(): never {
  throw new AbortedError('wait cancelled');
}

async function sleep(ctx: StepContext, ms: number): Promise<void> {
  try {
    await ctx.clock.sleep(ms, ctx.signal);
  } catch (err) {
    if (ctx.signal.aborted) stopped();
    throw err;
  }
}

export const waitKind: StepKind<WaitParams> = {
  kind: 'wait',
  schema,
  sqlFields: ['until.query'],

  async validate(step) {
    const p = step.params;
    if (!('until' in p)) return [];
    const problems: Problem[] = await queryProblems(p.until.query, step, 'wait.until.query');
    if (p.timeout === undefined && step.timeoutMs === undefined) {
      problems.push({
        pos: step.pos,
        severity: 'error',
        message: `step "${step.id}": wait.until has no timeout: add timeout: (e.g. 30m) so the wait cannot hang forever`,
      });
    }
    return problems;
  },

  plan(step) {
    const p = step.params;
    const note =
      'for' in p
        ? `waits ${formatDuration(p.for)}`
        : `polls every ${formatDuration(p.interval)} until ${[p.until.expect ? `first value ${p.until.expect.text}` : '', p.until.rows ? `rows ${p.until.rows.text}` : ''].filter(Boolean).join(' and ')}${p.timeout ? `, for at most ${formatDuration(p.timeout)}` : ''}`;
    return {
      statements: 'until' in p ? [{ sql: p.until.query, transactional: true, description: 'wait condition' }] : [],
      locks: [],
      reversible: true,
      notes: [note],
    };
  },

  async apply(step, ctx) {
    const p = step.params;
    const start = ctx.clock.now();
    if ('for' in p) {
      ctx.emit({ type: 'step.log', stepId: step.id, level: 'info', message: `waiting ${formatDuration(p.for)}` });
      ctx.emit({ type: 'step.progress', stepId: step.id, progress: { kind: 'generic', label: 'waiting', done: 0, total: p.for } });
      await sleep(ctx, p.for);
      ctx.emit({ type: 'step.progress', stepId: step.id, progress: { kind: 'generic', label: 'waiting', done: p.for, total: p.for } });
      return { waitedMs: ctx.clock.now() - start };
    }
    const deadline = p.timeout !== undefined ? start + p.timeout : undefined;
    let polls = 0;
    let lastShown: string | undefined;
    for (;;) {
      await ctx.control.waitWhilePaused(ctx.signal).catch(() => stopped());
      const out = evaluate(p.until, await readOnlyQuery(ctx, p.until.query));
      polls++;
      const elapsed = ctx.clock.now() - start;
      if (out.ok) {
        ctx.emit({ type: 'step.evidence', stepId: step.id, evidence: out.evidence });
        ctx.emit({
          type: 'step.log',
          stepId: step.id,
          level: 'info',
          message: `condition met after ${formatDuration(elapsed)}: ${out.summary}`,
        });
        return { waitedMs: elapsed, polls, value: out.value ?? null };
      }
      const shown = `${showValue(out.value)}/${out.rows}`;
      if (shown !== lastShown) {
        ctx.emit({ type: 'step.log', stepId: step.id, level: 'info', message: `not yet: ${out.summary}` });
        lastShown = shown;
      }
      ctx.emit({
        type: 'step.progress',
        stepId: step.id,
        progress: { kind: 'generic', label: 'waiting for the condition', done: elapsed, total: p.timeout ?? null },
      });
      if (deadline !== undefined && ctx.clock.now() >= deadline) {
        ctx.emit({ type: 'step.evidence', stepId: step.id, evidence: out.evidence });
        throw new RunbookError(`condition not met within ${formatDuration(p.timeout!)} (${polls} polls): ${out.summary}`, {
          hint: 'find out why the condition does not hold; raise wait.timeout if it just needs longer, then resume',
        });
      }
      await sleep(ctx, deadline !== undefined ? Math.max(1, Math.min(p.interval, deadline - ctx.clock.now())) : p.interval);
    }
  },

  async verify(step, ctx) {
    const p = step.params;
    if (!('until' in p)) return [];
    return evaluate(p.until, await readOnlyQuery(ctx, p.until.query)).evidence;
  },

  rollback: runRollbackSql,
  reconcile: rerunIsHarmless,
};
