// The app_latency throttle rule: the governor's decisions on given windows, the watch widening its
// window until enough calls completed (fake clock), a backfill on a real server without
// pg_stat_statements (one note, and it still finishes), and one under a real pgbench load that
// fires while the application waits on the batches and releases when the application stops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_LATENCY_MAX_WINDOW_MS, AppLatencyWatch } from '../../src/backfill/app-latency-watch.js';
import { resolveConfig } from '../../src/backfill/params.js';
import { type AppLatencyWindow, ThrottleGovernor } from '../../src/backfill/throttle.js';
import type { RunEvent } from '../../src/engine/events.js';
import type { StatementStatsReading } from '../../src/pg/statement-stats.js';
import { FakeClock } from '../../src/util/clock.js';
import { useTestDatabase } from '../support/pg.js';
import { type PgbenchProgress, type PgbenchRun, startPgbench } from '../support/pgbench.js';
import { createStateSchema, runStep } from './helpers.js';

const fig = (meanMs: number, calls: number, more: Partial<AppLatencyWindow> = {}): AppLatencyWindow => ({
  meanMs,
  calls,
  callsPerSec: calls,
  statements: 2,
  windowMs: 1000,
  waited: false,
  usualCallsPerSec: null,
  ...more,
});

function governor(throttle: Record<string, unknown> = {}, clock = new FakeClock()) {
  const cfg = resolveConfig({ table: 't', set: 'a = 1', throttle }).throttle;
  return new ThrottleGovernor(cfg, 100, 0, clock);
}

describe('app_latency rule', () => {
  it('fires past the factor with the figure that caused it, shrinks the batch, and clears with hysteresis', () => {
    const g = governor({ app_latency: '1.5x' });
    const base = fig(2, 1000);
    g.observeAppLatency(fig(2.9, 500), base, 'public.orders');
    expect(g.decide().shrink).toBe(1);
    expect(g.changes()).toEqual([]);

    g.observeAppLatency(fig(4, 500), base, 'public.orders');
    expect(g.decide().shrink).toBe(0.5);
    const [c] = g.changes();
    expect(c!.reason).toBe('app_latency');
    expect(c!.detail).toMatch(/public\.orders is 4\.00 ms \(500 calls, 500 calls\/s\), 2\.0x its 2\.00 ms baseline \(limit 1\.5x\)/);

    // Under 1.5x but above half the allowed rise (2.5 ms): still slowing down.
    g.observeAppLatency(fig(2.8, 500), base, 'public.orders');
    expect(g.isActive('app_latency')).toBe(true);
    g.observeAppLatency(fig(2.3, 500), base, 'public.orders');
    g.decide();
    expect(g.changes()).toEqual([{ reason: null }]);
  });

  it('ignores sub-millisecond noise, releases when too few calls come and nobody waits on our rows, and can be turned off', () => {
    const g = governor();
    const base = fig(0.05, 1000);
    g.observeAppLatency(fig(0.2, 500), base, 't'); // 4x, but only 0.15 ms more
    expect(g.isActive('app_latency')).toBe(false);
    g.observeAppLatency(fig(0.9, 500), base, 't');
    expect(g.isActive('app_latency')).toBe(true);
    g.observeAppLatency(fig(1, 5, { windowMs: APP_LATENCY_MAX_WINDOW_MS }), base, 't');
    expect(g.isActive('app_latency')).toBe(false);
    g.observeAppLatency(fig(0.9, 500), base, 't');
    g.observeAppLatency(fig(0, 0), base, 't');
    expect(g.isActive('app_latency')).toBe(false);

    const off = governor({ app_latency: 0 });
    off.observeAppLatency(fig(50, 500), base, 't');
    off.observeAppLatency(fig(0, 0, { waited: true }), base, 't');
    expect(off.isActive('app_latency')).toBe(false);
    expect(() => resolveConfig({ table: 't', set: 'a = 1', throttle: { app_latency: '0.9x' } })).toThrow(/above 1x/);
  });

  it('counts calls that stop while sessions wait on our rows as a rise', () => {
    const g = governor({ app_latency: '1.5x' });
    const base = fig(0.3, 1000);
    g.observeAppLatency(fig(40, 3, { waited: true, windowMs: 1200 }), base, 'public.orders');
    expect(g.decide().shrink).toBe(0.5);
    const [c] = g.changes();
    expect(c).toMatchObject({ reason: 'app_latency' });
    expect(c!.detail).toBe(
      'application calls on public.orders stalled: 3 call(s) completed in 1.2 s while sessions waited on rows our batches held, baseline mean 0.30 ms',
    );
    // Calls went on, but at a third of their usual rate while sessions waited: still a stall.
    g.observeAppLatency(fig(0.4, 100, { waited: true, callsPerSec: 100, usualCallsPerSec: 300 }), base, 't');
    expect(g.isActive('app_latency')).toBe(true);
    // The same rate without waiters is judged on its mean alone (0.4 ms is under the 0.5 ms floor).
    g.observeAppLatency(fig(0.4, 100, { callsPerSec: 100, usualCallsPerSec: 300 }), base, 't');
    expect(g.isActive('app_latency')).toBe(false);
  });

  it('knows when a session last waited on our rows, even with the blocked_sessions rule off', () => {
    const clock = new FakeClock();
    const g = governor({ blocked_sessions: 0 }, clock);
    const t0 = clock.now();
    expect(g.waitersSeenSince(t0)).toBe(false);
    clock.advance(100);
    g.observeBlocked(1, 30);
    expect(g.waitersSeenSince(t0)).toBe(true);
    expect(g.isActive('blocked_sessions')).toBe(false);
    clock.advance(100);
    expect(g.waitersSeenSince(clock.now())).toBe(false);
  });
});

describe('app latency watch', () => {
  /** A watch over scripted cumulative counters: each step adds calls and time, then polls. */
  function scripted() {
    const clock = new FakeClock();
    let calls = 1000;
    let totalMs = 300; // a 0.3 ms baseline
    const logs: string[] = [];
    const read = async (): Promise<StatementStatsReading> => ({
      ok: true,
      at: clock.now(),
      stats: [{ queryid: '1', calls, totalMs, query: 'UPDATE orders', since: null }],
    });
    const watch = new AppLatencyWatch('public.orders', read, (_l, m) => logs.push(m), true);
    let waitedAt = -Infinity;
    return {
      logs,
      /** Advance `ms`, add `n` calls of `meanMs` each (and a waiter if `waited`), then poll. */
      async step(ms: number, n: number, meanMs: number, waited = false) {
        clock.advance(ms);
        calls += n;
        totalMs += n * meanMs;
        if (waited) waitedAt = clock.now();
        return watch.poll((t) => waitedAt > t);
      },
    };
  }

  it('widens the window until enough calls completed, and judges their mean against the baseline', async () => {
    const w = scripted();
    expect(await w.step(0, 0, 0)).toBeUndefined();
    expect(w.logs[0]).toMatch(/baseline on public\.orders: 0\.30 ms mean over 1000 calls/);
    // Three 200 ms polls with 8 calls each: too few until the third.
    expect(await w.step(200, 8, 5)).toBeUndefined();
    expect(await w.step(200, 8, 5)).toBeUndefined();
    const r = await w.step(200, 8, 5);
    expect(r?.now).toMatchObject({ calls: 24, windowMs: 600, waited: false });
    expect(r?.now.meanMs).toBeCloseTo(5);
    expect(r?.baseline.meanMs).toBeCloseTo(0.3);
  });

  it('hands over a few-calls window as soon as sessions waited on our rows for a second, and a quiet one at once', async () => {
    const w = scripted();
    await w.step(0, 0, 0);
    expect(await w.step(500, 1, 400, true)).toBeUndefined();
    const stall = await w.step(600, 2, 300, true);
    expect(stall?.now).toMatchObject({ calls: 3, windowMs: 1100, waited: true });
    const quiet = await w.step(200, 0, 0);
    expect(quiet?.now).toMatchObject({ calls: 0, waited: false });
  });

  it('judges a slow trickle without waiters after the longest window', async () => {
    const w = scripted();
    await w.step(0, 0, 0);
    let r: Awaited<ReturnType<typeof w.step>>;
    let polls = 0;
    do {
      r = await w.step(500, 1, 2);
      polls++;
    } while (!r && polls < 20);
    expect(r?.now).toMatchObject({ calls: polls, windowMs: APP_LATENCY_MAX_WINDOW_MS, waited: false });
  });
});

describe('backfill with the app_latency rule on a real server', () => {
  const db = useTestDatabase();
  let load: PgbenchRun | undefined;
  beforeAll(async () => {
    await createStateSchema(db.pool);
  });
  afterAll(async () => {
    await load?.stop();
  });

  it('notes a missing pg_stat_statements once and still finishes', async () => {
    await db.query('CREATE TABLE small (id int PRIMARY KEY, v int, w int)');
    await db.query('INSERT INTO small (id, v) SELECT g, g FROM generate_series(1, 500) g');
    const { ctx, error } = await runStep(db.url, { table: 'small', set: 'w = v', throttle: { app_latency: '2x' } });
    expect(error).toBeUndefined();
    const notes = ctx.events.filter((e) => e.type === 'step.log' && /pg_stat_statements cannot be read/.test(e.message));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ level: 'warn' });
    expect((notes[0] as any).message).toMatch(/CREATE EXTENSION pg_stat_statements/);
  });

  it('slows down while the application waits on the batches, and lets go when it stops', async () => {
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await db.query('CREATE TABLE orders (id int PRIMARY KEY, v int NOT NULL DEFAULT 0, w int)');
    await db.query('INSERT INTO orders (id) SELECT generate_series(1, 400000)');
    // The baseline is the application's history: not this set-up's statements.
    await db.query('SELECT pg_stat_statements_reset()');
    // Each call updates one row in every 10000-key stretch, so whichever batch is running holds a row
    // every caller needs. The calls come at a fixed rate, as requests to an application do, so a call
    // stuck behind a batch is not made up for by many quick ones in the gap.
    const ids = Array.from({ length: 20 }, (_, i) => `:a + ${i * 10000}`).join(', ');
    const script = `\\set a random(1, 10000)\nUPDATE orders SET v = v + 1 WHERE id IN (${ids});\n`;
    const measured: PgbenchProgress[] = [];
    let reportAfterStart: () => void = () => {};
    const reportedDuringStep = new Promise<void>((r) => {
      reportAfterStart = r;
    });
    let stepStart = Infinity;
    load = startPgbench(db.url, script, {
      clients: 4,
      seconds: 300,
      rate: 100,
      onProgress: (p) => {
        measured.push(p);
        if (p.at > stepStart + 1000) reportAfterStart();
      },
    });
    // pg_stat_statements has a baseline, and pgbench has reported its own latency (past its first,
    // connecting second) before the step.
    while (measured.length < 3) await new Promise((r) => setTimeout(r, 200));

    const seen: RunEvent[] = [];
    stepStart = Date.now();
    const { error, ctx } = await runStep(
      db.url,
      {
        table: 'orders',
        set: 'w = v',
        // 20000-row batches, each holding two rows every call needs, back to back: the waiters rule
        // is off, so only app_latency (with the waiter probe it still runs) slows the backfill down.
        batch_size: 20000,
        throttle: { app_latency: '1.5x', probe_interval: '200ms', batch_time_factor: 1000, blocked_sessions: 0 },
      },
      {
        onEvent: (e) => {
          if (e.type !== 'step.throttle') return;
          seen.push(e);
          // Once it fired and pgbench has measured a second of the step, the application stops:
          // nobody is left to slow down for.
          if (e.reason === 'app_latency') void reportedDuringStep.then(() => load?.stop());
        },
      },
    );
    expect(error).toBeUndefined();
    const logs = JSON.stringify(ctx.events.filter((e) => e.type === 'step.throttle' || e.type === 'step.log'));
    const fired = seen.find((e) => e.type === 'step.throttle' && e.reason === 'app_latency') as any;
    expect(fired, `an app_latency throttle event in ${logs}`).toBeDefined();
    expect(fired.detail).toMatch(
      /^application (mean latency on public\.orders is [\d.]+ ms .*x its [\d.]+ ms baseline \(limit 1\.5x\)|calls on public\.orders stalled: .* baseline mean [\d.]+ ms)$/,
    );
    // Released while batches still ran, not merely by the end of the step.
    const firedAt = ctx.events.indexOf(fired);
    const released = ctx.events.findIndex((e, i) => i > firedAt && e.type === 'step.throttle' && e.reason === null);
    const walkDone = ctx.events.findIndex((e) => e.type === 'step.log' && /key walk finished/.test(e.message));
    expect(released, logs).toBeGreaterThan(firedAt);
    expect(released, logs).toBeLessThan(walkDone);
    // What the application measured itself: a second of the step slower than every second before it.
    const before = measured.filter((p) => p.at <= stepStart).slice(1);
    const during = measured.filter((p) => p.at > stepStart + 1000);
    expect(during.length, JSON.stringify(measured)).toBeGreaterThan(0);
    const worst = (ps: PgbenchProgress[]) => Math.max(...ps.map((p) => p.latMs));
    expect(worst(during), JSON.stringify(measured)).toBeGreaterThan(1.5 * worst(before));
    expect((await db.query('SELECT count(*)::int AS n FROM orders WHERE w IS NULL'))[0].n).toBe(0);
  }, 180_000);
});
