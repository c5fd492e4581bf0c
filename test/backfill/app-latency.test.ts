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

describe('app_latency: an application falling behind (calls/s against the rate without our batches)', () => {
  const ref = { calls: 1000, ms: 1000 };
  const win = (calls: number, more: Partial<AppLatencyWindow> = {}) => fig(0.3, calls, { reference: ref, ...more });
  const base = fig(0.3, 5000);

  it('fires on a deficit past 4 standard deviations of the counts, with the figures, and lets go once the calls are back', () => {
    const g = governor({ app_latency: '1.5x' });
    // 900 of 1000: 100 fewer is 2.2 standard deviations (sqrt(1000 + 1000) = 44.7): noise.
    g.observeAppLatency(win(900), base, 'public.orders');
    expect(g.isActive('app_latency')).toBe(false);
    g.observeAppLatency(win(700), base, 'public.orders');
    expect(g.decide().shrink).toBe(0.5);
    expect(g.changes()).toEqual([
      {
        reason: 'app_latency',
        detail:
          'application calls on public.orders fell behind: 700 calls/s over 1.0 s while batches ran, against 1000 calls/s without them (30% fewer, 6.7 standard deviations of the counts)',
      },
    ]);
    // At the lower duty the application is back within 2 standard deviations of its rate: caught up.
    g.observeAppLatency(win(950), base, 'public.orders');
    g.decide();
    expect(g.changes()).toEqual([{ reason: null }]);
    expect(g.takeNotes()).toEqual([]);
  });

  it('keeps slowing down while slowing down helps, and moves the reference when it does not (not our batches)', () => {
    const g = governor({ app_latency: '1.5x' });
    g.observeAppLatency(win(700), base, 'public.orders');
    expect(g.decide().shrink).toBe(0.5);
    // Better than the window before (700 + 2 x 44.7) but not back at 1000: halve again.
    g.observeAppLatency(win(850), base, 'public.orders');
    expect(g.decide().shrink).toBe(0.5);
    expect(g.isActive('app_latency')).toBe(true);
    // A short window while holding says nothing: it holds, without halving again.
    g.observeAppLatency(win(300, { windowMs: 300, callsPerSec: 1000 }), base, 'public.orders');
    expect(g.isActive('app_latency')).toBe(true);
    expect(g.decide().shrink).toBe(1);
    // No better than the window before although the batches slowed down once more: the application's
    // own traffic fell. The reference moves and the rule lets go.
    g.observeAppLatency(win(860), base, 'public.orders');
    expect(g.isActive('app_latency')).toBe(false);
    expect(g.takeNotes()).toEqual([
      "application calls on public.orders stayed at 860 calls/s after our batches slowed down further (850 calls/s the window before): not our batches' doing, so 860 calls/s is the rate judged against from now on",
    ]);
    // Judged against 860 calls/s from now on: 840 is noise.
    g.observeAppLatency(win(840), base, 'public.orders');
    expect(g.isActive('app_latency')).toBe(false);
  });

  it('does not fire on a steady workload counted with noise, nor without a reference, nor on a window with too few calls', () => {
    const g = governor({ app_latency: '1.5x' });
    // Poisson counts of a steady 1000 calls/s stay within about 3 standard deviations (95 calls).
    for (const calls of [1000, 968, 1031, 955, 1012, 990, 1044, 977, 1003, 961]) g.observeAppLatency(win(calls), base, 't');
    expect(g.isActive('app_latency')).toBe(false);
    // Windows of other lengths are scaled: 1400 calls in 1.5 s against 1500 expected is 1.8 sd.
    g.observeAppLatency(win(1400, { windowMs: 1500, callsPerSec: 933 }), base, 't');
    expect(g.isActive('app_latency')).toBe(false);
    // An application that stopped sending is not one that fell behind.
    g.observeAppLatency(win(5), base, 't');
    expect(g.isActive('app_latency')).toBe(false);
    // A window much shorter than the reference's is too bursty to judge: 150 calls in 0.3 s (300
    // expected) is not acted on.
    g.observeAppLatency(win(150, { windowMs: 300, callsPerSec: 500 }), base, 't');
    expect(g.isActive('app_latency')).toBe(false);
    const noRef = governor({ app_latency: '1.5x' });
    noRef.observeAppLatency(fig(0.3, 100, { reference: null }), base, 't');
    expect(noRef.isActive('app_latency')).toBe(false);
    // A low rate has wide counting noise: 60 of 100 is exactly 2.8 sd (sqrt(200) = 14.1), not judged behind.
    const low = governor({ app_latency: '1.5x' });
    low.observeAppLatency(fig(0.3, 60, { reference: { calls: 100, ms: 1000 } }), base, 't');
    expect(low.isActive('app_latency')).toBe(false);
    const off = governor({ app_latency: 0 });
    off.observeAppLatency(win(100), base, 't');
    expect(off.isActive('app_latency')).toBe(false);
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

  it('measures the rate before the first batch over one more window, and hands it with each window', async () => {
    const clock = new FakeClock();
    let calls = 1000;
    let totalMs = 300;
    const logs: string[] = [];
    const read = async (): Promise<StatementStatsReading> => ({
      ok: true,
      at: clock.now(),
      stats: [{ queryid: '1', calls, totalMs, query: 'UPDATE orders', since: null }],
    });
    const slept: number[] = [];
    // While the watch waits, the application makes 600 calls of 0.3 ms in the second.
    const sleep = async (ms: number) => {
      slept.push(ms);
      clock.advance(ms);
      calls += 600;
      totalMs += 180;
    };
    const w = new AppLatencyWatch('public.orders', read, (_l, m) => logs.push(m), true, { ms: 1000, sleep });
    expect(await w.poll(() => false)).toBeUndefined();
    expect(slept).toEqual([1000]);
    expect(logs[1]).toBe(
      'application rate on public.orders before the first batch: 600 calls/s over 1.0 s (calls falling well under it while batches run count as the application falling behind)',
    );
    clock.advance(1000);
    calls += 400;
    totalMs += 120;
    const r = await w.poll(() => false);
    expect(r?.now).toMatchObject({ calls: 400, windowMs: 1000, reference: { calls: 600, ms: 1000 } });
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
    // Keys past 200000 are rows no call touches: the walk goes on there after the application
    // stopped waiting, so the release is seen before the walk ends.
    await db.query('INSERT INTO orders (id) SELECT generate_series(1, 800000)');
    // Past the application's keys, each batch also takes 10 µs a row (about 6 s in all): the walk
    // still runs when the release comes, however fast the machine does the UPDATEs themselves.
    await db.query(`CREATE FUNCTION slow_tail() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF (SELECT min(id) FROM moved) > 200000 THEN PERFORM pg_sleep((SELECT count(*) FROM moved) * 0.00001); END IF;
        RETURN NULL;
      END $$`);
    await db.query(
      'CREATE TRIGGER slow_tail AFTER UPDATE ON orders REFERENCING NEW TABLE AS moved FOR EACH STATEMENT EXECUTE FUNCTION slow_tail()',
    );
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
    // When the first batch had finished: the step first measures the application's rate for a
    // probe interval, so a second of the step with batches starts later than the step itself.
    let batchesFrom = Infinity;
    load = startPgbench(db.url, script, {
      clients: 4,
      seconds: 300,
      rate: 100,
      onProgress: (p) => {
        measured.push(p);
        if (p.at > batchesFrom + 1000) reportAfterStart();
      },
    });
    // pg_stat_statements has a baseline, and pgbench has reported its own latency (past its first,
    // connecting second) before the step.
    while (measured.length < 3) await new Promise((r) => setTimeout(r, 200));

    const seen: RunEvent[] = [];
    const { error, ctx } = await runStep(
      db.url,
      {
        table: 'orders',
        set: 'w = v',
        // 20000-row batches, each holding two rows every call needs, back to back: the waiters, WAL
        // and checkpoint rules are off, so only app_latency (with the waiter probe it still runs)
        // slows the backfill down. On a loaded CI machine the 800000-row walk requested checkpoints,
        // and checkpoint_pressure held the throttle past the walk's end.
        batch_size: 20000,
        throttle: {
          app_latency: '1.5x',
          probe_interval: '200ms',
          batch_time_factor: 1000,
          blocked_sessions: 0,
          wal_rate: 0,
          checkpoint_pressure: false,
        },
      },
      {
        onEvent: (e) => {
          if (e.type === 'step.progress' && e.progress.kind === 'backfill' && e.progress.batches > 0)
            batchesFrom = Math.min(batchesFrom, Date.now());
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
      /^application (mean latency on public\.orders is [\d.]+ ms .*x its [\d.]+ ms baseline \(limit 1\.5x\)|calls on public\.orders stalled: .* baseline mean [\d.]+ ms|calls on public\.orders fell behind: \d+ calls\/s over [\d.]+ s while batches ran, against \d+ calls\/s without them \(\d+% fewer, [\d.]+ standard deviations of the counts\))$/,
    );
    // Released while batches still ran, not merely by the end of the step.
    const firedAt = ctx.events.indexOf(fired);
    const released = ctx.events.findIndex((e, i) => i > firedAt && e.type === 'step.throttle' && e.reason === null);
    const walkDone = ctx.events.findIndex((e) => e.type === 'step.log' && /key walk finished/.test(e.message));
    expect(released, logs).toBeGreaterThan(firedAt);
    expect(released, logs).toBeLessThan(walkDone);
    // The rule's own figure (asserted above) is the evidence that the application slowed down. pgbench's
    // per-second latency is not asserted: on a loaded machine the seconds before the step can be as slow
    // as the first second of batches, and the rule halves the batches within it (bench/ measures that).
    expect((await db.query('SELECT count(*)::int AS n FROM orders WHERE w IS NULL'))[0].n).toBe(0);
  }, 180_000);
});
