// The app_latency throttle rule: the governor's decisions on given figures, and a backfill on a real
// server without pg_stat_statements (one note, and it still finishes).
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/backfill/params.js';
import { ThrottleGovernor } from '../../src/backfill/throttle.js';
import { FakeClock } from '../../src/util/clock.js';
import { useTestDatabase } from '../support/pg.js';
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

describe('backfill with the app_latency rule on a real server', () => {
  const db = useTestDatabase();
  beforeAll(async () => {
    await createStateSchema(db.pool);
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
});
