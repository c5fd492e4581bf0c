// The host_cpu and io_wait rules on scripted host figures and a fake clock: host_cpu's duty follows
// how far over (or under) its limit the host is and lets go at full duty; io_wait holds half duty
// until the figure is under 80% of its limit; each decision is announced with its figure, and an
// endpoint that stops answering is one note (never a crash) and lets go of the rules.
import { describe, expect, it } from 'vitest';
import type { HostFigures, HostReading, HostSignals } from '../../src/engine/ports.js';
import { HOST_CPU_MIN_DUTY, HostRulesWatch, nextCpuDuty } from '../../src/backfill/host-rules.js';
import { ThrottleGovernor } from '../../src/backfill/throttle.js';
import { batchKnobs, throttleSchema } from '../../src/backfill/params.js';
import { FakeClock } from '../../src/util/clock.js';

const figures = (cpuBusyPct: number, ioWaitPct: number): HostFigures => ({
  seconds: 1,
  cpuBusyPct,
  cpus: 4,
  ioWaitPct,
  diskQueueDepth: 2.5,
  diskAwaitMs: 12,
  memAvailableBytes: 1e9,
  memTotalBytes: 4e9,
});

function scripted(readings: HostReading[]): HostSignals {
  let i = 0;
  return { source: 'node_exporter at http://db1:9100/metrics', read: async () => readings[Math.min(i++, readings.length - 1)]! };
}

const ok = (cpu: number, io: number): HostReading => ({ ok: true, figures: figures(cpu, io) });

describe('host_cpu and io_wait', () => {
  it('default to 85% and 20%, and parse percentages from the runbook', () => {
    const d = batchKnobs({}).throttle;
    expect([d.hostCpuPct, d.ioWaitPct, d.hostExplicit]).toEqual([85, 20, false]);
    const t = batchKnobs({ throttle: throttleSchema.parse({ host_cpu: '70%', io_wait: 0 }) }).throttle;
    expect([t.hostCpuPct, t.ioWaitPct, t.hostExplicit]).toEqual([70, 0, true]);
    expect(() => throttleSchema.parse({ host_cpu: '120%' })).toThrow(/at most 100%/);
    expect(() => throttleSchema.parse({ io_wait: 'lots' })).toThrow(/a percentage such as 85%/);
  });

  /** One poll of the watch into the governor, then a batch of 80 ms and a decision a second later. */
  function rounds(w: HostRulesWatch, g: ThrottleGovernor, clock: FakeClock) {
    return async () => {
      const v = await w.poll();
      if (v.hostCpu !== undefined) g.observeRule('host_cpu', v.hostCpu);
      if (v.ioWait !== undefined) g.observeRule('io_wait', v.ioWait);
      g.observeBatch(1000, 80);
      clock.advance(1000);
      const d = g.decide();
      return { d, changes: g.changes(), summary: g.summary };
    };
  }

  it('host_cpu: the duty follows how far over the limit the host is, grows back under it, and each step is announced with its figure', async () => {
    const clock = new FakeClock();
    const cfg = batchKnobs({ throttle: throttleSchema.parse({ host_cpu: '85%', io_wait: 0 }) }).throttle;
    const g = new ThrottleGovernor(cfg, 100, 0, clock);
    const logs: string[] = [];
    // First scrape: no figures. Then 90% (10 of the 15 points of headroom left: duty 67%), 100% (a
    // quarter of that: 17%), 80% (20/15: 22%), 60% (twice: 44%), 84% (16/15: 47%, the same step, no
    // event), 60% (twice: 95%), 60% (100%: lets go).
    const w = new HostRulesWatch(
      { hostCpuPct: cfg.hostCpuPct, ioWaitPct: 0, explicit: true },
      scripted([{ ok: true, figures: null }, ok(90, 0), ok(100, 0), ok(80, 0), ok(60, 0), ok(84, 0), ok(60, 0), ok(60, 0)]),
      (_l, m) => logs.push(m),
    );
    const round = rounds(w, g, clock);
    expect(await round()).toEqual({ d: { holdMs: 0, pauseMs: 0, shrink: 1 }, changes: [], summary: null });
    const src = '(node_exporter at http://db1:9100/metrics)';
    const fired = await round();
    expect(fired.d.pauseMs).toBe(40); // duty 2/3: a gap of half the 80 ms batch
    expect(fired.changes).toEqual([
      {
        reason: 'host_cpu',
        detail: `CPU busy 90% on the database host over the last 1 s, over the 85% limit ${src}: batches run 67% of the time`,
      },
    ]);
    const saturated = await round();
    expect(saturated.d.pauseMs).toBe(400); // duty 1/6: five times the batch
    expect(saturated.changes).toEqual([
      {
        reason: 'host_cpu',
        detail: `CPU busy 100% on the database host over the last 1 s, over the 85% limit ${src}: batches run 17% of the time`,
      },
    ]);
    const under = await round();
    expect(under.changes).toEqual([
      {
        reason: 'host_cpu',
        detail: `CPU busy 80% on the database host over the last 1 s, under the 85% limit ${src}: batches run 22% of the time`,
      },
    ]);
    expect((await round()).changes.map((c) => c.detail)).toEqual([
      `CPU busy 60% on the database host over the last 1 s, under the 85% limit ${src}: batches run 44% of the time`,
    ]);
    const sameStep = await round();
    expect(sameStep.changes).toEqual([]);
    expect(sameStep.summary).toBe('host_cpu');
    expect((await round()).changes.map((c) => c.detail)).toEqual([
      `CPU busy 60% on the database host over the last 1 s, under the 85% limit ${src}: batches run 95% of the time`,
    ]);
    const released = await round();
    expect(released.changes).toEqual([{ reason: null }]);
    expect(released.d).toEqual({ holdMs: 0, pauseMs: 0, shrink: 1 });
    expect(logs).toEqual([]);
  });

  it('host_cpu: never under 1/21 duty, and unchanged at exactly the limit', () => {
    let duty = 1;
    for (let i = 0; i < 10; i++) duty = nextCpuDuty(duty, 100, 85);
    expect(duty).toBeCloseTo(HOST_CPU_MIN_DUTY);
    expect(nextCpuDuty(0.5, 85, 85)).toBe(0.5);
    expect(nextCpuDuty(0.5, 0, 85)).toBe(1);
    // A limit of 100% leaves one point of headroom: 98% doubles, 99% keeps, 100% quarters.
    expect(nextCpuDuty(0.5, 98, 100)).toBe(1);
    expect(nextCpuDuty(0.5, 99, 100)).toBe(0.5);
    expect(nextCpuDuty(0.5, 100, 100)).toBe(0.125);
  });

  it('io_wait: fires with the disk figures at half duty, holds above 80% of the limit and lets go under it', async () => {
    const clock = new FakeClock();
    const cfg = batchKnobs({ throttle: throttleSchema.parse({ host_cpu: 0, io_wait: '20%' }) }).throttle;
    const g = new ThrottleGovernor(cfg, 100, 0, clock);
    const w = new HostRulesWatch(
      { hostCpuPct: 0, ioWaitPct: cfg.ioWaitPct, explicit: true },
      scripted([{ ok: true, figures: null }, ok(40, 25), ok(40, 17), ok(40, 10)]),
      () => {},
    );
    const round = rounds(w, g, clock);
    await round();
    const fired = await round();
    expect(fired.d.pauseMs).toBe(80);
    expect(fired.changes).toEqual([
      {
        reason: 'io_wait',
        detail:
          'CPU time in I/O wait 25% on the database host over the last 1 s, busiest disk queue 2.5, await 12.0 ms, over the 20% limit (node_exporter at http://db1:9100/metrics): batches run half the time',
      },
    ]);
    expect((await round()).summary).toBe('io_wait');
    expect((await round()).changes).toEqual([{ reason: null }]);
  });

  it('say once that the endpoint is down, let go meanwhile, and say when it is back', async () => {
    const down: HostReading = {
      ok: false,
      note: 'host figures unavailable from node_exporter at http://db1:9100/metrics: connection refused (check that node_exporter runs there and that the URL ends in /metrics)',
    };
    const logs: [string, string][] = [];
    const w = new HostRulesWatch({ hostCpuPct: 50, ioWaitPct: 20, explicit: false }, scripted([ok(90, 0), down, down, ok(90, 0)]), (l, m) =>
      logs.push([l, m]),
    );
    expect((await w.poll()).hostCpu?.gapFactor).toBe(3); // 90% against 50%: a quarter duty
    expect(await w.poll()).toEqual({ hostCpu: null, ioWait: null, figures: null });
    expect(await w.poll()).toEqual({ hostCpu: null, ioWait: null, figures: null });
    expect((await w.poll()).hostCpu?.gapFactor).toBe(3); // the duty started again from full
    expect(logs).toEqual([
      ['info', `${down.note}; host_cpu and io_wait do not hold batches meanwhile`],
      ['info', 'host figures from node_exporter at http://db1:9100/metrics are back'],
    ]);
  });

  it('a source that throws is a note too, a warning when the runbook set the rule', async () => {
    const logs: [string, string][] = [];
    const broken: HostSignals = { source: 'Prometheus at http://prom:9090/', read: () => Promise.reject(new TypeError('boom')) };
    const w = new HostRulesWatch({ hostCpuPct: 85, ioWaitPct: 0, explicit: true }, broken, (l, m) => logs.push([l, m]));
    expect(await w.poll()).toEqual({ hostCpu: null, ioWait: null, figures: null });
    expect(logs).toEqual([
      [
        'warn',
        'host figures unavailable from Prometheus at http://prom:9090/: TypeError; host_cpu and io_wait do not hold batches meanwhile',
      ],
    ]);
  });
});
