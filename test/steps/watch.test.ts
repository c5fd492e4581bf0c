// watch: thresholds over real monitor samples; time from ctx.clock (FakeClock where the test
// drives the duration and the grace period).
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/pg.js';
import { makeStep, makeTestStepContext, type TestStepContext } from '../support/step-context.js';
import { FakeClock } from '../../src/util/clock.js';
import { watchKind, type WatchParams, type WatchResult } from '../../src/steps/watch.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';
import { createTable, lockQueue, longTransaction } from '../monitor/support/scenarios.js';

const db = useTestDatabase();

const params = (raw: unknown): WatchParams => watchKind.schema.parse(raw);

/** Advances a FakeClock whenever the step sleeps on it, until `done` settles. */
async function drive(clock: FakeClock, done: Promise<unknown>, stepMs: number): Promise<number> {
  let settled = false;
  void done.then(
    () => (settled = true),
    () => (settled = true),
  );
  let advances = 0;
  while (!settled) {
    if (clock.pendingSleeps > 0) {
      clock.advance(stepMs);
      advances++;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return advances;
}

describe('watch: parameters and plan', () => {
  it('is registered and parses durations and sizes', () => {
    expect(STEP_KINDS.get('watch')).toBe(watchKind);
    expect(params({ for: '5m', max_replication_lag: '10MB', max_lock_wait: '5s', max_long_query: '60s' })).toEqual({
      forMs: 300_000,
      intervalMs: 1000,
      graceMs: 0,
      onBreach: 'fail',
      limits: { maxReplicationLagBytes: 10 * 1024 * 1024, maxLockWaitSeconds: 5, maxLongQuerySeconds: 60 },
    });
    expect(params('2m')).toMatchObject({ forMs: 120_000, limits: {} });
    expect(
      params({ for: '1m', on_breach: 'warn', grace: '10s', interval: '500ms', max_transaction_age: '10m', max_replay_lag: '30s' }),
    ).toMatchObject({
      onBreach: 'warn',
      graceMs: 10_000,
      intervalMs: 500,
      limits: { maxTransactionAgeSeconds: 600, maxReplayLagSeconds: 30 },
    });
  });

  it('rejects bad input with messages that say what to write', () => {
    const bad = (raw: unknown) => {
      const r = watchKind.schema.safeParse(raw);
      expect(r.success).toBe(false);
      return r.success ? '' : r.error.issues.map((i) => i.message).join('\n');
    };
    expect(bad({ for: '5m', max_replication_lag: 'ten megs' })).toMatch(/size like 512kB, 10MB/);
    expect(bad({ for: '5m', max_lag: '10MB' })).toMatch(/max_lag|Unrecognized/i);
    expect(bad({ for: '5m', on_breach: 'panic' })).toBeTruthy();
    expect(bad({ max_lock_wait: '5s' })).toBeTruthy();
    expect(bad({ for: 0 })).toMatch(/watch nothing/);
  });

  it('plans no SQL and no locks, and warns about a watch without thresholds', async () => {
    const step = makeStep('watch', params({ for: '5m', max_lock_wait: '5s', max_replication_lag: '10MB' }));
    const plan = await watchKind.plan(step, { runbook: {} as never });
    expect(plan).toMatchObject({ statements: [], locks: [], reversible: true });
    expect(plan.notes[0]).toBe('watches for 5m, every 1s: max_replication_lag 10.0 MB, max_lock_wait 5s; on breach: the step fails');
    expect(watchKind.validate!(step, { runbook: {} as never, step })).toEqual([]);
    const bare = makeStep('watch', params('5m'));
    expect(watchKind.validate!(bare, { runbook: {} as never, step: bare })).toEqual([
      expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/no thresholds/) }),
    ]);
  });
});

describe('watch on a real database', () => {
  beforeAll(async () => {
    await createTable(db.pool, 'orders');
  });

  async function ctxFor(p: WatchParams, clock?: FakeClock): Promise<TestStepContext> {
    return makeTestStepContext({ url: db.url, step: makeStep('watch', p, { id: 'watch_after' }), clock });
  }

  it('watches for its duration on ctx.clock and passes when everything stays within limits', async () => {
    const clock = new FakeClock();
    const p = params({ for: '10s', interval: '1s', max_lock_wait: '5s', max_long_query: '60s', max_replication_lag: '10MB' });
    const ctx = await ctxFor(p, clock);
    try {
      const run = watchKind.apply(ctx.step as never, ctx) as Promise<WatchResult>;
      const advances = await drive(clock, run, 1000);
      const r = await run;
      expect(advances).toBe(10);
      expect(r).toMatchObject({ watchedMs: 10_000, polls: 11, warnings: [] });
      const progress = ctx.events.filter((e) => e.type === 'step.progress');
      expect(progress.at(-1)).toMatchObject({ progress: { kind: 'generic', label: 'watching', done: 10_000, total: 10_000 } });
      const evidence = await watchKind.verify!(ctx.step as never, ctx);
      expect(evidence[0]).toMatchObject({ label: 'watched', value: '10s', detail: '11 samples' });
      expect(evidence.find((e) => e.label === 'peak lock wait')).toMatchObject({ ok: true, detail: 'max_lock_wait 5s' });
    } finally {
      await ctx.close();
    }
  });

  it('fails on a breached threshold with the reason: a DDL waiting too long for its lock', async () => {
    const q = await lockQueue(db.url, db.pool, 'orders', 1);
    const ctx = await ctxFor(params({ for: '30s', interval: '200ms', max_lock_wait: '100ms' }));
    try {
      await new Promise((r) => setTimeout(r, 150));
      const t0 = Date.now();
      const err = await (watchKind.apply(ctx.step as never, ctx) as Promise<unknown>).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(err?.message).toMatch(
        new RegExp(
          `^watch watch_after: pid ${q.ddl.pid} has waited \\S+ for AccessExclusiveLock on orders, blocked by ${q.holder.pid} \\(max_lock_wait 100ms\\)`,
        ),
      );
      expect((err as { hint?: string }).hint).toMatch(/resume/);
      expect(ctx.events.some((e) => e.type === 'step.log' && e.level === 'error' && /threshold breached/.test(e.message))).toBe(true);
      expect(await ctx.state.get()).toMatchObject({ breach: expect.stringMatching(/AccessExclusiveLock/) });
    } finally {
      await q.cleanup();
      await ctx.close();
    }
  });

  it('with on_breach: warn, logs the breach once and keeps watching', async () => {
    const lt = await longTransaction(db.url, db.pool, 'orders');
    const ctx = await ctxFor(params({ for: '700ms', interval: '100ms', max_transaction_age: '10ms', on_breach: 'warn' }));
    try {
      await new Promise((r) => setTimeout(r, 50));
      const r = (await watchKind.apply(ctx.step as never, ctx)) as WatchResult;
      expect(r.polls).toBeGreaterThanOrEqual(3);
      expect(r.warnings).toHaveLength(1);
      expect(r.warnings[0]).toMatch(/has a transaction open for/);
      const warns = ctx.events.filter((e) => e.type === 'step.log' && e.level === 'warn');
      expect(warns).toHaveLength(1);
      expect(r.peaks.maxTransactionAgeSeconds).toBeGreaterThan(0.01);
      const ev = ctx.events.find((e) => e.type === 'step.evidence');
      expect(ev).toBeDefined();
    } finally {
      await lt.cleanup();
      await ctx.close();
    }
  });

  it('waits out the grace period on ctx.clock before a breach counts', async () => {
    const lt = await longTransaction(db.url, db.pool, 'orders');
    const clock = new FakeClock();
    const ctx = await ctxFor(params({ for: '1h', interval: '1s', grace: '5s', max_long_query: '10ms' }), clock);
    try {
      await new Promise((r) => setTimeout(r, 50));
      const run = watchKind.apply(ctx.step as never, ctx) as Promise<unknown>;
      const advances = await drive(clock, run, 1000);
      const err = await run.then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err?.message).toMatch(/has run one statement for .*\(max_long_query 10ms\): select pg_sleep\(60\).*, for 5s$/);
      expect(advances).toBe(5);
    } finally {
      await lt.cleanup();
      await ctx.close();
    }
  });

  it('stops at once when the run is aborted', async () => {
    const clock = new FakeClock();
    const ctx = await ctxFor(params({ for: '1h' }), clock);
    try {
      const run = watchKind.apply(ctx.step as never, ctx) as Promise<unknown>;
      while (clock.pendingSleeps === 0) await new Promise((r) => setTimeout(r, 2));
      ctx.abort.abort();
      await expect(run).rejects.toThrow(/watch cancelled/);
    } finally {
      await ctx.close();
    }
  });
});
