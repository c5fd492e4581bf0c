// Shared set-up for the backfill tests: the state tables, and running the step kind on a context.
import type pg from 'pg';
import { backfillSchemaSql } from '../../src/backfill/cursor-store.js';
import { backfill } from '../../src/steps/backfill.js';
import type { BackfillParams } from '../../src/backfill/params.js';
import type { RunEvent } from '../../src/engine/events.js';
import { makeStep, makeTestStepContext, type TestStepContext } from '../support/step-context.js';

export async function createStateSchema(q: { query: pg.Pool['query'] }): Promise<void> {
  await q.query('CREATE SCHEMA IF NOT EXISTS pgrunbook');
  await q.query(backfillSchemaSql);
}

export async function runStep(
  url: string,
  params: BackfillParams,
  opts: {
    runId?: string;
    stepId?: string;
    onEvent?: (e: RunEvent, ctx: TestStepContext) => void;
    before?: (ctx: TestStepContext) => void;
  } = {},
): Promise<{ ctx: TestStepContext; result?: any; error?: any }> {
  const step = makeStep('backfill', params, { id: opts.stepId ?? 'fill' });
  const ctx = await makeTestStepContext({ url, step, runId: opts.runId ?? `run-${Math.random().toString(36).slice(2, 8)}` });
  if (opts.onEvent) {
    const events = ctx.events;
    // Observe events as they are pushed (the test context collects them in an array).
    const push = events.push.bind(events);
    events.push = (...items: RunEvent[]) => {
      const n = push(...items);
      for (const e of items) opts.onEvent!(e, ctx);
      return n;
    };
  }
  opts.before?.(ctx);
  try {
    const result = await backfill.apply(step, ctx);
    return { ctx, result };
  } catch (error) {
    return { ctx, error };
  } finally {
    await ctx.close();
  }
}

export function progressEvents(events: RunEvent[]) {
  return events.flatMap((e) => (e.type === 'step.progress' && e.progress.kind === 'backfill' ? [e.progress] : []));
}

export async function counterHistogram(db: { query: (sql: string) => Promise<any[]> }, table: string): Promise<Record<string, number>> {
  const rows = await db.query(`select counter, count(*)::int as n from ${table} group by counter order by counter`);
  return Object.fromEntries(rows.map((r: any) => [String(r.counter), r.n]));
}
