// The wal_rate and checkpoint_pressure rules on scripted counter readings (the real-server side is in
// wal-checkpoint-load.test.ts): firing with the figure, the duty cycle they ask for, and letting go.
import { describe, expect, it } from 'vitest';
import type { ServerPressureReading } from '../../src/pg/server-pressure.js';
import { WalCheckpointWatch } from '../../src/backfill/wal-checkpoint-rules.js';
import type { WalConsumers } from '../../src/pg/wal-consumers.js';
import { ThrottleGovernor } from '../../src/backfill/throttle.js';
import { batchKnobs, throttleSchema } from '../../src/backfill/params.js';
import { FakeClock } from '../../src/util/clock.js';

const MB = 1024 ** 2;

function scripted(readings: Partial<Extract<ServerPressureReading, { ok: true }>>[]) {
  let i = 0;
  let wal = 0;
  let req = 0;
  return async (): Promise<ServerPressureReading> => {
    const r = readings[i++]!;
    wal += r.walBytes ?? 0;
    req += r.checkpointsRequested ?? 0;
    return {
      ok: true,
      at: i * 1000,
      walBytes: wal,
      fullPageImages: 0,
      checkpointsTimed: 0,
      checkpointsRequested: req,
      buffersWritten: 100 * i,
      autovacuumPhase: r.autovacuumPhase ?? null,
      maxWalSize: '1GB',
    };
  };
}

describe('wal_rate', () => {
  it('does not start for a window within 5% over the limit, and never says 100% while it holds', async () => {
    // Per second: 0 (first reading), 52 MB (4% over: noise), 60 MB (starts), 50.2 MB (holds), 41.6 MB (duty 99.8%).
    const read = scripted([{}, { walBytes: 52 * MB }, { walBytes: 60 * MB }, { walBytes: 50.2 * MB }, { walBytes: 41.6 * MB }]);
    const w = new WalCheckpointWatch({ walRateBytes: 50 * MB, checkpointPressureMs: 0, explicit: false }, 'public.t', read, () => {});
    expect(await w.poll()).toEqual({});
    expect((await w.poll()).walRate).toBeNull();
    expect((await w.poll()).walRate?.detail).toMatch(/WAL written at 60 MB\/s .*: batches run 83% of the time$/);
    expect((await w.poll()).walRate?.detail).toMatch(
      /^WAL written at 50\.2 MB\/s over the last 1\.0 s, over the 50 MB\/s limit: batches run 83% of the time$/,
    );
    expect((await w.poll()).walRate?.detail).toMatch(
      /WAL written at 42 MB\/s over the last 1\.0 s, under the 50 MB\/s limit: batches run 99% of the time$/,
    );
  });

  it('fires over the limit with the rate, cuts the duty by limit/rate, and lets go once the rate allows full duty', async () => {
    const logs: string[] = [];
    // Per second: 0 (first reading), 100 MB, 50 MB, 20 MB, 0 MB.
    const read = scripted([{}, { walBytes: 100 * MB }, { walBytes: 50 * MB }, { walBytes: 20 * MB }, { walBytes: 0 }]);
    const w = new WalCheckpointWatch({ walRateBytes: 50 * MB, checkpointPressureMs: 0, explicit: false }, 'public.t', read, (_l, m) =>
      logs.push(m),
    );
    expect(await w.poll()).toEqual({});
    const first = await w.poll();
    expect(first.walRate?.detail).toMatch(
      /WAL written at 100 MB\/s over the last 1\.0 s, over the 50 MB\/s limit: batches run 50% of the time/,
    );
    expect(first.walRate?.gapFactor).toBeCloseTo(1);
    expect(first.checkpointPressure).toBeUndefined();
    // At the limit under half duty, the duty stays.
    expect((await w.poll()).walRate?.gapFactor).toBeCloseTo(1);
    // 20 MB/s at 50% duty: the duty could grow to 125%, so the rule lets go.
    expect((await w.poll()).walRate).toBeNull();
    expect((await w.poll()).walRate).toBeNull();
    expect(logs).toEqual([]);
  });

  it('grows the duty back at most 2x a window: a window that fell into the gaps does not let go at once', async () => {
    // 200 MB/s against 10 MB/s: duty 5%; then a nearly empty window, then the limit.
    const read = scripted([{}, { walBytes: 200 * MB }, { walBytes: MB / 10 }, { walBytes: 10 * MB }]);
    const w = new WalCheckpointWatch({ walRateBytes: 10 * MB, checkpointPressureMs: 0, explicit: false }, 'public.t', read, () => {});
    await w.poll();
    expect((await w.poll()).walRate?.gapFactor).toBeCloseTo(19);
    // 0.1 MB/s at 5% duty would allow 500%: 10% it is, still active.
    const quiet = await w.poll();
    expect(quiet.walRate?.detail).toMatch(/batches run 10% of the time$/);
    expect(quiet.walRate?.gapFactor).toBeCloseTo(9);
    expect((await w.poll()).walRate?.gapFactor).toBeCloseTo(9);
  });
  it('says when the duty sits at its floor and the limit is out of reach', async () => {
    // 500 MB/s against 10 MB/s would need 2% duty: the floor is 1/21.
    const read = scripted([{}, { walBytes: 500 * MB }, { walBytes: 100 * MB }]);
    const w = new WalCheckpointWatch({ walRateBytes: 10 * MB, checkpointPressureMs: 0, explicit: false }, 'public.t', read, () => {});
    await w.poll();
    const first = await w.poll();
    expect(first.walRate?.detail).toMatch(/batches run 5% of the time, the least this rule allows$/);
    expect(first.walRate?.gapFactor).toBeCloseTo(20);
    // 100 MB/s at 1/21 duty: still out of reach, still said.
    expect((await w.poll()).walRate?.detail).toMatch(/the least this rule allows$/);
  });
});

describe("wal_rate's default applies only while something takes the WAL", () => {
  const none = { standbys: 0, slots: 0, archive: false };
  const busy = (n: number) => scripted([{}, ...Array.from({ length: n }, () => ({ walBytes: 100 * MB }))]);
  /** A watch of `n` windows at 100 MB/s against the default 50 MB/s (or the runbook's own), logging into `logs`. */
  const watch = (n: number, consumers: () => Promise<WalConsumers | undefined>, logs: string[] = [], own = false): WalCheckpointWatch =>
    new WalCheckpointWatch(
      { walRateBytes: 50 * MB, checkpointPressureMs: 0, explicit: own, walRateByDefault: !own },
      'public.t',
      busy(n),
      (_l, m) => logs.push(m),
      consumers,
    );
  /** A consumers reader that always finds `c`, and counts its reads. */
  const counted = (c: WalConsumers) => {
    const reader = Object.assign(
      async () => {
        reader.reads++;
        return c;
      },
      { reads: 0 },
    );
    return reader;
  };

  it('leaves the default off with no standby, slot or archive and says so once', async () => {
    const logs: string[] = [];
    const consumers = counted(none);
    const w = watch(12, consumers, logs);
    // 100 MB/s for 10 s: no verdict while nothing takes the WAL, and no gap to leave.
    for (let i = 0; i < 10; i++) expect((await w.poll()).walRate ?? null).toBeNull();
    expect(w.walLimit).toBe(0);
    // Read again every 10 s of readings (at 11 s): still nothing, and nothing said again.
    expect(consumers.reads).toBe(1);
    expect((await w.poll()).walRate).toBeNull();
    expect(consumers.reads).toBe(2);
    expect(logs).toEqual([
      "wal_rate's default limit of 50 MB/s is not applied: no standby streams from this server and no replication slot or WAL archive (archive_mode off) takes its WAL. Set throttle.wal_rate to pace the WAL anyway",
    ]);
  });

  it('applies the default from the next window once a standby or slot appears, and says what appeared', async () => {
    const logs: string[] = [];
    let reads = 0;
    const w = watch(12, async () => (reads++ === 0 ? none : { standbys: 1, slots: 2, archive: true }), logs);
    for (let i = 0; i < 10; i++) await w.poll();
    expect(w.walLimit).toBe(0);
    const fired = await w.poll();
    expect(w.walLimit).toBe(50 * MB);
    expect(fired.walRate?.detail).toMatch(/^WAL written at 100 MB\/s .* over the 50 MB\/s limit: batches run 50% of the time$/);
    expect(logs[1]).toBe("wal_rate's default limit of 50 MB/s applies from now: 1 standby streaming, 2 replication slots, archive_mode on");
  });

  it("applies the runbook's own wal_rate without asking, and the default when the consumers cannot be read", async () => {
    const consumers = counted(none);
    const own = watch(2, consumers, [], true);
    await own.poll();
    expect((await own.poll()).walRate?.detail).toMatch(/over the 50 MB\/s limit/);
    expect(consumers.reads).toBe(0);
    const logs: string[] = [];
    const unread = watch(2, async () => undefined, logs);
    await unread.poll();
    expect((await unread.poll()).walRate?.detail).toMatch(/over the 50 MB\/s limit/);
    expect(logs).toEqual([]);
  });

  it('lets go of a rule already holding when the consumers go away', async () => {
    let reads = 0;
    const w = watch(12, async () => (reads++ === 0 ? { standbys: 1, slots: 0, archive: false } : none));
    await w.poll();
    expect((await w.poll()).walRate?.gapFactor).toBeCloseTo(1);
    for (let i = 0; i < 8; i++) await w.poll();
    expect((await w.poll()).walRate).toBeNull();
    expect(w.walLimit).toBe(0);
  });
});

describe('checkpoint_pressure', () => {
  it('fires on a requested checkpoint with its figures and holds for the quiet period', async () => {
    const read = scripted([{}, { checkpointsRequested: 2 }, {}, {}, {}]);
    const w = new WalCheckpointWatch({ walRateBytes: 0, checkpointPressureMs: 1500, explicit: false }, 'public.t', read, () => {});
    await w.poll();
    const fired = await w.poll();
    expect(fired.checkpointPressure?.detail).toMatch(/^2 checkpoint\(s\) requested \(0 timed\) in the last 1\.0 s, 100 buffers written/);
    expect(fired.checkpointPressure?.gapFactor).toBe(1);
    expect(fired.walRate).toBeUndefined();
    expect((await w.poll()).checkpointPressure).not.toBeNull(); // 1 s after: still held
    expect((await w.poll()).checkpointPressure).toBeNull(); // 2 s after: released
  });

  it('notes a missing source once (a warning when the runbook asked) and stops reading', async () => {
    const logs: [string, string][] = [];
    let reads = 0;
    const w = new WalCheckpointWatch(
      { walRateBytes: 1, checkpointPressureMs: 1, explicit: true },
      'public.t',
      async () => {
        reads++;
        return { ok: false, note: 'WAL and checkpoints are not watched: permission denied', sqlstate: '42501' };
      },
      (l, m) => logs.push([l, m]),
    );
    expect(await w.poll()).toEqual({});
    expect(await w.poll()).toEqual({});
    expect(reads).toBe(1);
    expect(logs).toEqual([['warn', 'WAL and checkpoints are not watched: permission denied']]);
  });

  it('says once that a vacuum works on the table', async () => {
    const logs: string[] = [];
    const read = scripted([{ autovacuumPhase: 'scanning heap' }, { autovacuumPhase: 'scanning heap' }, {}]);
    const w = new WalCheckpointWatch({ walRateBytes: 1, checkpointPressureMs: 1, explicit: false }, 'public.t', read, (_l, m) =>
      logs.push(m),
    );
    for (let i = 0; i < 3; i++) await w.poll();
    expect(logs).toEqual(['a VACUUM (autovacuum or manual) is working on public.t (scanning heap) while this step writes to it']);
  });
});

describe('the governor with own-file rules', () => {
  it('leaves the gap the verdict asks for, announces once with the figure, and clears', () => {
    const clock = new FakeClock();
    const cfg = batchKnobs({ throttle: throttleSchema.parse({ wal_rate: '50MB/s', checkpoint_pressure: '30s' }) }).throttle;
    expect(cfg.walRateBytes).toBe(50 * MB);
    expect(cfg.checkpointPressureMs).toBe(30_000);
    const g = new ThrottleGovernor(cfg, 100, 0, clock);
    g.observeBatch(100, 80);
    g.observeRule('wal_rate', { detail: 'WAL written at 150 MB/s', gapFactor: 2 });
    expect(g.decide().pauseMs).toBe(160);
    expect(g.changes()).toEqual([{ reason: 'wal_rate', detail: 'WAL written at 150 MB/s' }]);
    g.observeRule('wal_rate', { detail: 'WAL written at 60 MB/s', gapFactor: 1 });
    expect(g.decide().pauseMs).toBe(80);
    expect(g.changes()).toEqual([]);
    g.observeRule('wal_rate', null);
    expect(g.decide().pauseMs).toBe(0);
    expect(g.changes()).toEqual([{ reason: null }]);
  });

  it('reads checkpoint_pressure: false and wal_rate: 0 as off', () => {
    const cfg = batchKnobs({ throttle: throttleSchema.parse({ wal_rate: 0, checkpoint_pressure: false }) }).throttle;
    expect(cfg.walRateBytes).toBe(0);
    expect(cfg.checkpointPressureMs).toBe(0);
    expect(() => throttleSchema.parse({ wal_rate: 'fast' })).toThrow(/50MB\/s/);
  });
});
