// When the second worker runs: driven with a fake clock and made-up rows/s, no server.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/util/clock.js';
import { AUTO, SecondWorkerPolicy, type WorkerSignals, type WorkersSetting } from '../../src/backfill/second-worker-policy.js';

/** A backfill doing `rate` rows/s; `tick` moves the clock one step and asks the policy. */
function drive(setting: WorkersSetting) {
  const clock = new FakeClock();
  const policy = new SecondWorkerPolicy(setting, clock);
  let rows = 0;
  const base: WorkerSignals = { rowsDone: 0, batchesLeft: 1000, throttle: null, waiters: false, hasRange: false };
  const logs: string[] = [];
  return {
    logs,
    policy,
    tick(rate: number, ms = 500, over: Partial<WorkerSignals> = {}) {
      clock.advance(ms);
      rows += (rate * ms) / 1000;
      const d = policy.decide({ ...base, ...over, rowsDone: rows });
      if (d.log) logs.push(d.log);
      return d.run;
    },
    /** Ticks until the policy's answer is `run` (or gives up after `max` ticks). */
    until(run: boolean, rate: number, over: Partial<WorkerSignals> = {}, max = 40) {
      for (let i = 0; i < max; i++) if (this.tick(rate, 500, over) === run) return i + 1;
      throw new Error(`policy never answered run=${run}`);
    },
  };
}

/** A host reading of `busyPct` on `cpus` cores against a host_cpu limit. */
const host = (busyPct: number, cpus = 2, limitPct = 85) => ({
  host: { busyPct, cpus, seconds: 60, limitPct, source: 'node_exporter at http://db1:9100/metrics' },
});

describe('SecondWorkerPolicy', () => {
  it('workers: 1 never runs a second worker', () => {
    const d = drive(1);
    for (let i = 0; i < 30; i++) expect(d.tick(1000)).toBe(false);
    expect(d.logs).toEqual([]);
  });

  it('auto: measures one worker until two windows agree, then starts the second with its figures', () => {
    const d = drive('auto');
    const ticks = d.until(true, 10_000);
    // The first tick opens the window, then two full windows of 3 s at 500 ms a tick.
    expect(ticks).toBe(1 + (2 * AUTO.windowMs) / 500);
  });

  it('auto: waits while the single rate still climbs (the tuner growing its batches), and compares with the settled rate', () => {
    const d = drive('auto');
    // Each rate for one window's worth of ticks: the rate doubles, so no two windows agree.
    for (const r of [2000, 4000, 8000]) for (let i = 0; i < AUTO.windowMs / 500; i++) expect(d.tick(r)).toBe(false);
    expect(d.logs).toEqual([]);
    // Steady at 16,000: the trial starts once two windows agree, against the settled rate.
    d.until(true, 16_000);
    expect(d.logs[0]).toMatch(/one worker did 16,000 rows\/s over the last 3s$/);
  });

  it('auto: keeps the second worker when the two together are at least 1.15x faster', () => {
    const d = drive('auto');
    d.until(true, 10_000);
    for (let i = 0; i < 6; i++) expect(d.tick(12_000)).toBe(true);
    expect(d.logs.at(-1)).toBe('second worker kept: two workers did 12,000 rows/s over 3s, one did 10,000 rows/s (1.20x), at least 1.15x');
    // Kept: it stays on.
    for (let i = 0; i < 20; i++) expect(d.tick(12_000)).toBe(true);
  });

  it('auto: says when the gain is over 2x, which a second worker alone cannot give', () => {
    const d = drive('auto');
    d.until(true, 10_000);
    d.until(true, 75_000);
    for (let i = 0; i < 6; i++) d.tick(75_000);
    expect(d.logs.at(-1)).toBe(
      "second worker kept: two workers did 75,000 rows/s over 3s, one did 10,000 rows/s (7.50x), at least 1.15x; over 2x, so one worker's window ran slower than the walk runs now and the gain is overstated",
    );
  });

  it('auto: stops a second worker that does not pay, says why, and tries again only after the cooldown', () => {
    const d = drive('auto');
    d.until(true, 10_000);
    const ticks = d.until(false, 10_500);
    expect(ticks).toBe(AUTO.windowMs / 500);
    expect(d.logs.at(-1)).toBe(
      'second worker stopped: two workers did 10,500 rows/s over 3s, one did 10,000 rows/s (1.05x), under 1.15x: not worth a second connection; not tried again for 1m00s',
    );
    // Not before the cooldown has passed, then measured again (two windows) before a new trial.
    const again = d.until(true, 10_000, {}, 200);
    expect(again * 500).toBeGreaterThanOrEqual(AUTO.cooldownMs + 2 * AUTO.windowMs);
  });

  it('auto: does not start while the WAL rate leaves no room under wal_rate for 1.15x, says so once, and starts when there is', () => {
    const d = drive('auto');
    const MB = 1024 ** 2;
    const busy = { wal: { bytesPerSec: 45 * MB, limit: 50 * MB } };
    for (let i = 0; i < 40; i++) expect(d.tick(10_000, 500, busy)).toBe(false);
    expect(d.logs).toEqual([
      'second worker not started: the server writes 45 MB/s of WAL with one worker, too close to the wal_rate limit of 50 MB/s for two to do 1.15x; measured again every 3s',
    ]);
    // Room for the pair to gain 1.15x under the limit (wal_rate then paces both at it), or wal_rate off: the trial starts.
    d.until(true, 10_000, { wal: { bytesPerSec: 40 * MB, limit: 50 * MB } });
    expect(d.logs.at(-1)).toMatch(/^second worker started on its own key range/);
    const off = drive('auto');
    off.until(true, 10_000, { wal: { bytesPerSec: 45 * MB, limit: 0 } });
  });

  it('auto without a host endpoint: does not start while other sessions are at work, says why once, and parks a kept worker', () => {
    const d = drive('auto');
    const app = { busySessions: 8 };
    // A rule active as well: the rule is the reason, and nothing is said while no worker ran.
    for (let i = 0; i < 4; i++) expect(d.tick(10_000, 500, { ...app, throttle: 'batch_time' })).toBe(false);
    for (let i = 0; i < 40; i++) expect(d.tick(10_000, 500, app)).toBe(false);
    expect(d.logs).toEqual([
      'second worker not started: 8 other sessions ran statements in the last probe window and this run has no host endpoint to show a spare core (pass --node-exporter or --prometheus, or set workers: 2)',
    ]);
    // The application goes quiet: the window measured meanwhile (one worker ran all along) closes
    // at once, the trial starts when the next agrees with it, and pays.
    expect(d.until(true, 10_000, { busySessions: 0 })).toBe(1 + AUTO.windowMs / 500);
    d.until(true, 13_000, { busySessions: 0 });
    for (let i = 0; i < 6; i++) d.tick(13_000, 500, { busySessions: 0 });
    // It comes back: the kept worker is parked until it is quiet again.
    expect(d.tick(13_000, 500, { busySessions: 1 })).toBe(false);
    expect(d.logs.at(-1)).toBe(
      'second worker parked: 1 other session ran statements in the last probe window and this run has no host endpoint to show a spare core; it comes back when that clears',
    );
    expect(d.tick(13_000, 500, { busySessions: 0 })).toBe(true);
    // Sessions at work only for a moment (the operator's query just before the step) do not restart
    // the single worker's windows: they went on meanwhile.
    const brief = drive('auto');
    expect(brief.tick(10_000, 500, app)).toBe(false);
    expect(brief.until(true, 10_000)).toBe((2 * AUTO.windowMs) / 500);
    // workers: 2 is the operator's choice: other sessions do not hold it back.
    const two = drive(2);
    expect(two.tick(1000, 500, app)).toBe(true);
  });

  it('auto with host figures: starts only when the host, plus the core a second worker takes, stays within host_cpu', () => {
    const d = drive('auto');
    // 40% of 2 cores plus one core is 90%: over 85%. Said once while it lasts; sessions at work do not matter here.
    for (let i = 0; i < 30; i++) expect(d.tick(10_000, 500, { ...host(40), busySessions: 5 })).toBe(false);
    expect(d.logs).toEqual([
      "second worker not started: the database host's CPU reached 40% busy on 2 cores in the last 3s (node_exporter at http://db1:9100/metrics, readings over 60 s); a second worker's core would take it to 90%, over the host_cpu limit of 85%; measured again every 3s",
    ]);
    // A quiet reading now and then does not start it: each window's busiest reading decides.
    for (let i = 0; i < 30; i++) expect(d.tick(10_000, 500, host(i % 4 === 0 ? 10 : 40))).toBe(false);
    // 30% plus one core is 80%: the first window with no busier reading starts the trial.
    expect(d.until(true, 10_000, host(30))).toBeLessThanOrEqual((2 * AUTO.windowMs) / 500);
    expect(d.logs).toHaveLength(2);
    expect(d.logs.at(-1)).toMatch(/^second worker started on its own key range: /);
    // With host_cpu off the limit is the host's cores: one core at 10% has none to spare, four at 50% do.
    const off = drive('auto');
    for (let i = 0; i < 20; i++) expect(off.tick(10_000, 500, host(10, 1, 100))).toBe(false);
    expect(off.logs[0]).toContain("a second worker's core would take it to 110%, more than its cores give");
    expect(off.until(true, 10_000, host(50, 4, 100))).toBeLessThanOrEqual((2 * AUTO.windowMs) / 500);
    // workers: 2 is the operator's choice.
    expect(drive(2).tick(1000, 500, host(95))).toBe(true);
  });

  it('auto with a host endpoint that gives no CPU figures falls back to the sessions at work, and says so', () => {
    const d = drive('auto');
    for (let i = 0; i < 20; i++) expect(d.tick(10_000, 500, { host: null, busySessions: 3 })).toBe(false);
    expect(d.logs).toEqual([
      'second worker not started: 3 other sessions ran statements in the last probe window and the host endpoint has given no CPU figures yet to show a spare core (the first takes two readings of it; if none comes, check the endpoint, or set workers: 2)',
    ]);
    expect(d.until(true, 10_000, { host: null, busySessions: 0 })).toBeLessThanOrEqual(AUTO.windowMs / 500 + 1);
  });

  it('auto: an endpoint that gave CPU figures and stopped is an outage, said as such', () => {
    const d = drive('auto');
    for (let i = 0; i < 4; i++) expect(d.tick(10_000, 500, host(60))).toBe(false);
    d.logs.length = 0;
    for (let i = 0; i < 20; i++) expect(d.tick(10_000, 500, { host: null, busySessions: 3 })).toBe(false);
    expect(d.logs).toEqual([
      'second worker not started: 3 other sessions ran statements in the last probe window and the host endpoint gives no CPU figures now to show a spare core (check the endpoint, or set workers: 2)',
    ]);
  });

  it('auto: does not start with too few batches left or no row estimate', () => {
    const d = drive('auto');
    for (let i = 0; i < 30; i++) expect(d.tick(10_000, 500, { batchesLeft: AUTO.minBatchesLeft - 1 })).toBe(false);
    for (let i = 0; i < 30; i++) expect(d.tick(10_000, 500, { batchesLeft: null })).toBe(false);
    expect(d.logs).toEqual([]);
    // A range already cut (a resumed run) needs no batches-left figure.
    expect(d.until(true, 10_000, { batchesLeft: null, hasRange: true })).toBeGreaterThan(0);
    expect(d.logs[0]).toMatch(/^second worker started on its own key range: a key range is already cut off/);
  });

  it('any throttle rule or a waiter parks a kept worker until it clears, and never starts one meanwhile', () => {
    const d = drive('auto');
    d.until(true, 10_000);
    d.until(true, 13_000);
    for (let i = 0; i < 6; i++) d.tick(13_000);
    expect(d.tick(13_000, 500, { throttle: 'replication_lag' })).toBe(false);
    expect(d.logs.at(-1)).toBe('second worker parked: throttle replication_lag active; it comes back when that clears');
    for (let i = 0; i < 10; i++) expect(d.tick(5000, 500, { throttle: 'replication_lag, batch_time' })).toBe(false);
    expect(d.tick(13_000)).toBe(true);
    expect(d.logs.at(-1)).toBe('second worker back: no throttle rule active (wal_rate aside: it paces both workers)');
    expect(d.tick(13_000, 500, { waiters: true })).toBe(false);
    expect(d.logs.at(-1)).toBe(
      'second worker parked: sessions waited on our rows in the last probe window; it comes back when that clears',
    );
  });

  it('a rule during a trial ends the trial: the next one starts from fresh single-worker windows', () => {
    const d = drive('auto');
    d.until(true, 10_000);
    expect(d.tick(20_000, 500, { throttle: 'wal_rate' })).toBe(false);
    expect(d.logs.at(-1)).toMatch(/^second worker parked: throttle wal_rate active/);
    // A fresh window opens, then two full ones before the next trial.
    expect(d.until(true, 10_000)).toBe(1 + (2 * AUTO.windowMs) / 500);
  });

  it('workers: 2 starts at once when there are keys to split, and is parked by a rule like auto', () => {
    const d = drive(2);
    expect(d.tick(1000, 500, { batchesLeft: 1 })).toBe(false);
    expect(d.tick(1000)).toBe(true);
    expect(d.logs).toEqual(['second worker started (workers: 2)']);
    expect(d.tick(1000, 500, { throttle: 'host_cpu' })).toBe(false);
    expect(d.tick(1000)).toBe(true);
    expect(d.logs.slice(1)).toEqual([
      'second worker parked: throttle host_cpu active; it comes back when that clears',
      'second worker back: no throttle rule active (wal_rate aside: it paces both workers)',
    ]);
  });

  it('workers: 2 without a row estimate starts (the split finds out whether there are keys to share)', () => {
    const d = drive(2);
    expect(d.tick(1000, 500, { batchesLeft: null })).toBe(true);
    expect(d.logs).toEqual(['second worker started (workers: 2)']);
  });

  it('cancel: once the range could not be cut, nothing starts again and nothing more is said', () => {
    for (const setting of [2, 'auto'] as const) {
      const d = drive(setting);
      d.until(true, 10_000);
      d.policy.cancel();
      const said = d.logs.length;
      for (let i = 0; i < 200; i++) expect(d.tick(10_000)).toBe(false);
      expect(d.tick(10_000, 500, { throttle: 'wal_rate' })).toBe(false);
      for (let i = 0; i < 10; i++) expect(d.tick(10_000)).toBe(false);
      expect(d.logs).toHaveLength(said);
    }
  });
});
