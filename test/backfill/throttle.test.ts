// Throttle decisions with a fake clock: which signal starts which reason, what it asks the loop
// to do, and when it clears.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/util/clock.js';
import { ThrottleGovernor } from '../../src/backfill/throttle.js';
import { resolveConfig } from '../../src/backfill/params.js';

function governor(over: Record<string, unknown> = {}, minThroughput = 0.1) {
  const clock = new FakeClock();
  const cfg = resolveConfig({ table: 't', set: 'a = 1', throttle: over }).throttle;
  return { clock, g: new ThrottleGovernor(cfg, 100, minThroughput, clock) };
}

describe('ThrottleGovernor', () => {
  it('holds batches while a standby lags in bytes or time, with hysteresis, per standby', () => {
    const { g } = governor({ replication_lag_bytes: '64MB', replication_lag: '5s', probe_interval: '1s' });
    g.observeReplication([{ name: 'replica1', lagBytes: 1024, lagMs: null }]);
    expect(g.decide().holdMs).toBe(0);
    expect(g.changes()).toEqual([]);

    g.observeReplication([
      { name: 'replica1', lagBytes: 1024, lagMs: 100 },
      { name: 'replica2', lagBytes: 80 * 1024 ** 2, lagMs: null },
    ]);
    expect(g.decide().holdMs).toBe(1000);
    const [started] = g.changes();
    expect(started!.reason).toBe('replication_lag');
    expect(started!.detail).toMatch(/replica2 80 MB \/ \? s behind/);
    expect(started!.detail).not.toMatch(/replica1/);

    // Time lag alone also counts (replay_lag; bytes unknown without privileges).
    g.observeReplication([{ name: 'replica1', lagBytes: null, lagMs: 6000 }]);
    expect(g.decide().holdMs).toBe(1000);
    // Under the limit but above 80% of it: still holding.
    g.observeReplication([{ name: 'replica2', lagBytes: 60 * 1024 ** 2, lagMs: null }]);
    expect(g.decide().holdMs).toBe(1000);
    expect(g.changes()).toEqual([]);
    g.observeReplication([{ name: 'replica2', lagBytes: 10 * 1024 ** 2, lagMs: 200 }]);
    expect(g.decide().holdMs).toBe(0);
    expect(g.changes()).toEqual([{ reason: null }]);
    expect(g.summary).toBeNull();
  });

  it('halves the batch and leaves a gap when sessions wait on our locks; expires without new sightings', () => {
    const { clock, g } = governor({ probe_interval: '1s' });
    g.observeBatch(1000, 80);
    g.observeBlocked(2, 40);
    const d = g.decide();
    expect(d.shrink).toBe(0.5);
    expect(d.pauseMs).toBe(80);
    expect(g.changes()).toEqual([{ reason: 'blocked_sessions', detail: expect.stringMatching(/2 session\(s\) waited/) }]);
    // The shrink is asked for once per sighting.
    expect(g.decide().shrink).toBe(1);
    clock.advance(1500);
    expect(g.decide().pauseMs).toBe(80);
    clock.advance(1000);
    expect(g.decide().pauseMs).toBe(0);
    expect(g.changes()).toEqual([{ reason: null }]);
  });

  it('ignores blocked sessions when blocked_sessions is 0, and everything when throttle is off', () => {
    const { g } = governor({ blocked_sessions: 0 });
    g.observeBlocked(5, 10);
    expect(g.decide()).toEqual({ holdMs: 0, pauseMs: 0, shrink: 1 });
    const clock = new FakeClock();
    const off = new ThrottleGovernor(resolveConfig({ table: 't', set: 'a = 1', throttle: false }).throttle, 100, 0.1, clock);
    off.observeBatch(1000, 5000);
    off.observeReplication([{ name: 'r', lagBytes: 1e12, lagMs: 1e9 }]);
    off.observeBlocked(9, 9);
    expect(off.decide()).toEqual({ holdMs: 0, pauseMs: 0, shrink: 1 });
    expect(off.changes()).toEqual([]);
  });

  it('leaves a gap as long as the batch when a batch runs far over target', () => {
    const { g } = governor({ batch_time_factor: 3 });
    g.observeBatch(1000, 250);
    expect(g.decide().pauseMs).toBe(0);
    g.observeBatch(1000, 450);
    expect(g.decide().pauseMs).toBe(450);
    expect(g.changes()[0]).toMatchObject({ reason: 'batch_time', detail: expect.stringMatching(/450 ms, over 3x the 100 ms target/) });
    g.observeBatch(1000, 90);
    expect(g.decide().pauseMs).toBe(0);
    expect(g.changes()).toEqual([{ reason: null }]);
  });

  it('backs off with a growing gap when throughput falls under the min_throughput share, after warm-up', () => {
    const { clock, g } = governor({}, 0.1);
    // Warm-up: 10 batches of 10k keys in 100 ms (100 keys/ms) over 2.5 s.
    for (let i = 0; i < 10; i++) {
      clock.advance(250);
      g.observeBatch(10_000, 100);
    }
    expect(g.decide().pauseMs).toBe(0);
    // A sudden collapse to 2 keys/ms: under 10% of the 100 keys/ms seen, within a few batches.
    let batches = 0;
    while (!g.isActive('low_throughput') && batches < 10) {
      g.observeBatch(200, 100);
      batches++;
    }
    expect(batches).toBeLessThanOrEqual(5);
    expect(g.decide().pauseMs).toBe(1000);
    expect(g.changes()[0]).toMatchObject({ reason: 'low_throughput', detail: expect.stringMatching(/under 10% of the/) });
    g.observeBatch(200, 100);
    expect(g.decide().pauseMs).toBe(2000);
    for (let i = 0; i < 10; i++) g.observeBatch(200, 100);
    expect(g.decide().pauseMs).toBe(10_000);
    // Recovery clears it.
    for (let i = 0; i < 4; i++) g.observeBatch(10_000, 100);
    expect(g.decide().pauseMs).toBe(0);
    expect(g.changes()).toEqual([{ reason: null }]);
  });

  it('judges throughput after the fixed cost per batch, so smaller batches alone do not read as a fall', () => {
    const { clock, g } = governor({}, 0.1);
    // Warmed up on 3000-key batches: 40 ms fixed + 0.01 ms/key = 70 ms.
    for (let i = 0; i < 10; i++) {
      clock.advance(250);
      g.observeBatch(3000, 70, 40);
    }
    // The size drops to 300 keys (43 ms): 7 rows/ms of batch time against 43 before, but the same
    // 100 rows/ms after the fixed cost. Batches that are nearly all fixed cost are not judged either.
    for (let i = 0; i < 10; i++) {
      clock.advance(100);
      g.observeBatch(300, 43, 40);
      g.observeBatch(20, 40.2, 40);
    }
    expect(g.isActive('low_throughput')).toBe(false);
    expect(g.decide().pauseMs).toBe(0);
    // A real fall of the per-key rate still counts: 300 keys now take 40 + 60 ms.
    let batches = 0;
    while (!g.isActive('low_throughput') && batches < 10) {
      g.observeBatch(300, 100, 40);
      batches++;
    }
    expect(batches).toBeLessThanOrEqual(5);
    expect(g.decide().pauseMs).toBe(1000);
    expect(g.changes()[0]).toMatchObject({
      reason: 'low_throughput',
      detail: expect.stringMatching(/rows\/s of per-row batch time \(after 40 ms fixed cost per batch\), under 10% of the 100000 rows\/s/),
    });
  });

  it('compares a batch with batches that wrote a like share of their keys: a where: whose first ranges match nothing does not read as a fall', () => {
    const { clock, g } = governor({}, 0.1);
    // First ranges: the where: matches none of 10k keys, 20 ms each (500 keys/ms), for 3 s.
    for (let i = 0; i < 12; i++) {
      clock.advance(250);
      g.observeBatch(10_000, 20, 0, 0);
    }
    // Then every key matches: 1000 keys in 40 ms (25 keys/ms, 5% of the sparse rate) for 3 s.
    for (let i = 0; i < 60; i++) {
      clock.advance(50);
      g.observeBatch(1000, 40, 0, 1000);
    }
    expect(g.isActive('low_throughput')).toBe(false);
    expect(g.changes()).toEqual([]);
    // A real fall among the dense batches still fires, and the detail names the band.
    let batches = 0;
    while (!g.isActive('low_throughput') && batches < 10) {
      g.observeBatch(1000, 800, 0, 1000);
      batches++;
    }
    expect(batches).toBeLessThanOrEqual(5);
    const low = () => g.changes().find((c) => c.reason === 'low_throughput');
    expect(low()).toMatchObject({
      detail: expect.stringMatching(
        /under 10% of the 25000 rows\/s seen earlier in batches that wrote at least 50% of the rows they walked$/,
      ),
    });
    // So does one among the sparse batches, judged against theirs.
    for (let i = 0; i < 4; i++) g.observeBatch(1000, 40, 0, 1000);
    expect(g.changes()).toEqual([{ reason: null }]);
    batches = 0;
    while (!g.isActive('low_throughput') && batches < 10) {
      g.observeBatch(10_000, 400, 0, 0);
      batches++;
    }
    expect(batches).toBeLessThanOrEqual(5);
    expect(low()).toMatchObject({ detail: expect.stringMatching(/500000 rows\/s seen earlier in batches that wrote under 10% of/) });
  });

  it('does not judge throughput before warm-up, nor when min_throughput is 0', () => {
    const { g } = governor({}, 0.1);
    g.observeBatch(10_000, 100);
    g.observeBatch(10, 100);
    expect(g.decide().pauseMs).toBe(0);
    const { clock, g: off } = governor({}, 0);
    for (let i = 0; i < 10; i++) {
      clock.advance(500);
      off.observeBatch(10_000, 100);
    }
    off.observeBatch(1, 100);
    off.observeBatch(1, 100);
    expect(off.decide().pauseMs).toBe(0);
  });

  it('holds while a tracked standby is missing or not yet reporting, and re-announces when another goes', () => {
    const { g } = governor({ replication_lag_bytes: '64MB', replication_lag: '5s', probe_interval: '1s' });
    const ok = (name: string, trackAbsence = true) => ({ name, lagBytes: 0, lagMs: 0, trackAbsence });
    g.observeReplication([ok('s1'), ok('s2'), ok('logical', false)]);
    expect(g.decide().holdMs).toBe(0);

    // s1 leaves pg_stat_replication: hold, naming it.
    g.observeReplication([ok('s2'), ok('logical', false)]);
    expect(g.decide().holdMs).toBe(1000);
    const [first] = g.changes();
    expect(first).toMatchObject({ reason: 'replication_lag' });
    expect(first!.detail).toMatch(/^s1 disconnected/);
    // Back, but not reporting a position yet: still held, not announced again.
    g.observeReplication([{ name: 's1', lagBytes: null, lagMs: null, trackAbsence: true }, ok('s2')]);
    expect(g.decide().holdMs).toBe(1000);
    expect(g.changes()).toEqual([]);
    // s2 goes as well: same reason, announced again with both names.
    g.observeReplication([]);
    g.decide();
    const [second] = g.changes();
    expect(second!.detail).toMatch(/^s1, s2 disconnected/);
    // Both stream again; the untracked logical walsender never held anything.
    g.observeReplication([ok('s1'), ok('s2')]);
    expect(g.decide().holdMs).toBe(0);
    expect(g.changes()).toEqual([{ reason: null }]);
  });

  it('does not track a walsender that is not a named physical standby', () => {
    const { g } = governor({ probe_interval: '1s' });
    g.observeReplication([{ name: 'pid 42', lagBytes: 0, lagMs: 0, trackAbsence: false }]);
    g.observeReplication([]);
    expect(g.decide().holdMs).toBe(0);
    expect(g.changes()).toEqual([]);
  });

  it('reports several active reasons together and announces each once', () => {
    const { g } = governor({});
    g.observeBatch(1000, 900);
    g.observeReplication([{ name: 'r', lagBytes: 1e12, lagMs: null }]);
    g.decide();
    expect(
      g
        .changes()
        .map((c) => c.reason)
        .sort(),
    ).toEqual(['batch_time', 'replication_lag']);
    expect(g.summary).toBe('batch_time, replication_lag');
    g.decide();
    expect(g.changes()).toEqual([]);
  });
});
