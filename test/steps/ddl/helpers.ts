// Helpers for testing one DDL step kind against a real database.
import pg from 'pg';
import type { StepKind } from '../../../src/engine/step-kind.js';
import type { GatePort } from '../../../src/engine/gates.js';
import type { StepSpec, Settings } from '../../../src/runbook/model.js';
import { makeStep, makeRunbook, makeTestStepContext, type TestStepContext } from '../../support/step-context.js';

export interface KindHarness<P> {
  step: StepSpec<P>;
  ctx: TestStepContext;
  plan: Awaited<ReturnType<StepKind<P>['plan']>>;
}

/** Parses params with the kind's schema (as the loader would) and builds a step context. */
export async function harness<P>(
  kind: StepKind<P>,
  rawParams: unknown,
  opts: { url: string; settings?: Partial<Settings>; gates?: GatePort; id?: string; state?: Record<string, unknown> },
): Promise<KindHarness<P>> {
  const params = kind.schema.parse(rawParams);
  const step = makeStep<P>(kind.kind, params, {
    ...(opts.id ? { id: opts.id } : {}),
    settings: { lockTimeoutMs: 2000, statementTimeoutMs: 0, ddlRetries: 10, ...(opts.settings ?? {}) } as Settings,
  });
  const ctx = await makeTestStepContext({
    url: opts.url,
    step: step as StepSpec,
    runbook: makeRunbook([step as StepSpec]),
    gates: opts.gates,
  });
  if (opts.state) await ctx.state.set(opts.state);
  const plan = await kind.plan(step, { db: ctx.pool, serverVersionNum: ctx.serverVersionNum, runbook: ctx.runbook });
  return { step, ctx, plan };
}

/** A second session that holds a lock until released. */
export async function holdLock(url: string, sql: string): Promise<{ release: () => Promise<void>; pid: number }> {
  const c = new pg.Client({ connectionString: url, application_name: 'test:holder' });
  await c.connect();
  await c.query('BEGIN');
  await c.query(sql);
  const pid = (await c.query('select pg_backend_pid() as p')).rows[0].p;
  return {
    pid,
    release: async () => {
      await c.query('COMMIT').catch(() => {});
      await c.end();
    },
  };
}

export async function relfilenode(pool: pg.Pool, table: string): Promise<string> {
  return (await pool.query(`select relfilenode::text as r from pg_class where oid = $1::regclass`, [table])).rows[0].r;
}

export function eventsOf(ctx: TestStepContext, type: string) {
  return ctx.events.filter((e) => e.type === type) as any[];
}
