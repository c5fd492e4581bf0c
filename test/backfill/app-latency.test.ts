// The app_latency throttle rule: the governor's decisions on given figures, and the backfill under a
// real pgbench load slowing down when the application's latency rises and letting go when it stops.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/backfill/params.js';
import { ThrottleGovernor } from '../../src/backfill/throttle.js';
import type { RunEvent } from '../../src/engine/events.js';
import { FakeClock } from '../../src/util/clock.js';
import { useTestDatabase } from '../support/pg.js';
import { startPgbench, type PgbenchRun } from '../support/pgbench.js';
import { createStateSchema, runStep } from './helpers.js';

const fig = (meanMs: number, calls: number) => ({ meanMs, calls, callsPerSec: calls, statements: 2 });

function governor(throttle: Record<string, unknown> = {}) {
  const cfg = resolveConfig({ table: 't', set: 'a = 1', throttle }).throttle;
  return new ThrottleGovernor(cfg, 100, 0, new FakeClock());
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
    // Too few calls to judge: the state stays.
    g.observeAppLatency(fig(1, 5), base, 'public.orders');
    expect(g.isActive('app_latency')).toBe(true);
    g.observeAppLatency(fig(2.3, 500), base, 'public.orders');
    g.decide();
    expect(g.changes()).toEqual([{ reason: null }]);
  });

  it('ignores sub-millisecond noise, releases when the application goes quiet, and can be turned off', () => {
    const g = governor();
    const base = fig(0.05, 1000);
    g.observeAppLatency(fig(0.2, 500), base, 't'); // 4x, but only 0.15 ms more
    expect(g.isActive('app_latency')).toBe(false);
    g.observeAppLatency(fig(0.9, 500), base, 't');
    expect(g.isActive('app_latency')).toBe(true);
    g.observeAppLatency(fig(0, 0), base, 't');
    expect(g.isActive('app_latency')).toBe(false);

    const off = governor({ app_latency: 0 });
    off.observeAppLatency(fig(50, 500), base, 't');
    expect(off.isActive('app_latency')).toBe(false);
    expect(() => resolveConfig({ table: 't', set: 'a = 1', throttle: { app_latency: '0.9x' } })).toThrow(/above 1x/);
  });
});

describe('backfill with the app_latency rule under pgbench', () => {
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
    await db.query('CREATE EXTENSION pg_stat_statements');
    await db.query('CREATE TABLE orders (id int PRIMARY KEY, v int NOT NULL DEFAULT 0, w int)');
    await db.query('INSERT INTO orders (id) SELECT generate_series(1, 100000)');
    // Each call updates one row in every 10000-key stretch, so whichever batch is running holds a row
    // every caller needs: the application waits on every batch, on any major and however fast the
    // server is. (One random row per call waited on only a tenth of the batches, and on a fast PG 14
    // the mean rose by less than the rule's 0.5 ms floor.)
    const ids = Array.from({ length: 10 }, (_, i) => `:a + ${i * 10000}`).join(', ');
    const script = `\\set a random(1, 10000)\nUPDATE orders SET v = v + 1 WHERE id IN (${ids});\n`;
    load = startPgbench(db.url, script, { clients: 4, seconds: 120 });
    await new Promise((r) => setTimeout(r, 1500)); // a baseline recorded before the step

    const seen: RunEvent[] = [];
    const { error, ctx } = await runStep(
      db.url,
      {
        table: 'orders',
        set: 'w = v',
        batch_size: 10000,
        throttle: { app_latency: '1.5x', probe_interval: '200ms', batch_time_factor: 1000 },
      },
      {
        onEvent: (e) => {
          if (e.type !== 'step.throttle') return;
          seen.push(e);
          // Once it fired, the application stops: nobody is left to slow down for.
          if (e.reason === 'app_latency') void load?.stop();
        },
      },
    );
    expect(error).toBeUndefined();
    const fired = seen.find((e) => e.type === 'step.throttle' && e.reason === 'app_latency') as any;
    const logs = JSON.stringify(ctx.events.filter((e) => e.type === 'step.throttle' || e.type === 'step.log'));
    expect(fired, `an app_latency throttle event in ${logs}`).toBeDefined();
    expect(fired.detail).toMatch(/application mean latency on public\.orders is [\d.]+ ms .*x its [\d.]+ ms baseline \(limit 1\.5x\)/);
    // Released while batches still ran, not merely by the end of the step.
    const released = ctx.events.findIndex((e, i) => i > ctx.events.indexOf(fired) && e.type === 'step.throttle' && e.reason === null);
    const walkDone = ctx.events.findIndex((e) => e.type === 'step.log' && /key walk finished/.test(e.message));
    expect(released).toBeGreaterThan(0);
    expect(released, logs).toBeLessThan(walkDone);
    expect((await db.query('SELECT count(*)::int AS n FROM orders WHERE w IS NULL'))[0].n).toBe(0);
  }, 120_000);
});
