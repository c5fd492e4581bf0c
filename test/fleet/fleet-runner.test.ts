// The wave runner against a fake target run: pool bounds, wave order, halt rules.
import { describe, expect, it } from 'vitest';
import { fleetRenderer } from '../../src/fleet/fleet-output.js';
import { FleetRunner, type FleetEvent, type TargetResult } from '../../src/fleet/fleet-runner.js';
import type { FleetTarget } from '../../src/fleet/fleet-targets.js';
import { planWaves, type WaveSpec } from '../../src/fleet/fleet-waves.js';

const targets = (n: number, server = (i: number) => `s${i % 2}`): FleetTarget[] =>
  Array.from({ length: n }, (_, i) => ({ name: `t${i}`, url: 'postgres://x/y', labels: { server: server(i) }, vars: {} }));

/** A fake run that takes a few event-loop turns and records how many ran at once. */
function fakeRuns(fail: Set<string> = new Set()) {
  let running = 0;
  let peak = 0;
  const perServer = new Map<string, number>();
  let peakPerServer = 0;
  const order: string[] = [];
  const run = async (t: FleetTarget): Promise<TargetResult> => {
    running++;
    peak = Math.max(peak, running);
    const s = t.labels.server!;
    perServer.set(s, (perServer.get(s) ?? 0) + 1);
    peakPerServer = Math.max(peakPerServer, perServer.get(s)!);
    order.push(t.name);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    running--;
    perServer.set(s, perServer.get(s)! - 1);
    return fail.has(t.name) ? { status: 'failed', reason: `${t.name} broke` } : { status: 'completed', runId: `r-${t.name}` };
  };
  return { run, order, peak: () => peak, peakPerServer: () => peakPerServer };
}

function fleet(
  n: number,
  specs: WaveSpec[],
  fake: ReturnType<typeof fakeRuns>,
  extra: Partial<ConstructorParameters<typeof FleetRunner>[0]> = {},
) {
  const events: FleetEvent[] = [];
  const runner = new FleetRunner({ waves: planWaves(targets(n), specs), runTarget: fake.run, emit: (e) => events.push(e), ...extra });
  return { runner, events };
}

describe('FleetRunner', () => {
  it('runs every target once, wave after wave, never more at once than the wave allows', async () => {
    const fake = fakeRuns();
    const { runner, events } = fleet(
      20,
      [
        { count: 1, parallel: 1 },
        { percent: 10, parallel: 2 },
        { percent: 100, parallel: 4 },
      ],
      fake,
    );
    const out = await runner.run();
    expect(out.status).toBe('completed');
    expect([...out.results.values()].every((r) => r.status === 'completed')).toBe(true);
    expect(fake.order).toEqual(targets(20).map((t) => t.name));
    expect(fake.peak()).toBe(4);
    const waves = events.filter((e) => e.type === 'fleet.wave.started').map((e) => (e as { targets: string[] }).targets.length);
    expect(waves).toEqual([1, 2, 17]);
    // No target of wave 3 starts before wave 2 finished.
    const finished2 = events.findIndex((e) => e.type === 'fleet.wave.finished' && e.wave === 2);
    const started3 = events.findIndex((e) => e.type === 'fleet.target.started' && e.wave === 3);
    expect(finished2).toBeLessThan(started3);
    expect(events.at(-1)?.type).toBe('fleet.completed');
  });

  it('a fleet that ends with failures under max_failures says how many failed, not "all completed"', async () => {
    const fake = fakeRuns(new Set(['t1']));
    const { runner, events } = fleet(4, [{ percent: 100, parallel: 2 }], fake, { maxFailures: { count: 2 } });
    expect((await runner.run()).status).toBe('completed');
    expect(events.at(-1)).toMatchObject({ type: 'fleet.completed', targets: 4, failed: 1 });
    const out: string[] = [];
    fleetRenderer('plain', (t) => void out.push(t))(events.at(-1)!);
    expect(out.join('')).toMatch(/3 of 4 targets completed, 1 failed \(under max_failures\)/);
    expect(out.join('')).not.toContain('all 4');
  });

  it('a wave at max_failures halts: nothing new starts, later waves never start, failures named', async () => {
    const fake = fakeRuns(new Set(['t2']));
    const { runner, events } = fleet(
      10,
      [
        { count: 1, parallel: 1 },
        { count: 3, parallel: 1, maxFailures: { count: 1 } },
        { percent: 100, parallel: 4 },
      ],
      fake,
      { maxFailures: { count: 5 } },
    );
    const out = await runner.run();
    expect(out.status).toBe('halted');
    expect(fake.order).toEqual(['t0', 't1', 't2']);
    const halted = events.find((e) => e.type === 'fleet.halted') as Extract<FleetEvent, { type: 'fleet.halted' }>;
    expect(halted.reason).toContain('wave 2: 1 of 3 targets failed');
    expect(halted.failed).toEqual([{ target: 't2', reason: 't2 broke' }]);
    expect(halted.notStarted).toEqual(['t3', 't4', 't5', 't6', 't7', 't8', 't9']);
    expect(events.some((e) => e.type === 'fleet.wave.started' && e.wave === 3)).toBe(false);
  });

  it('the fleet limit counts failures over all waves; a percent limit is a share of the wave', async () => {
    const fake = fakeRuns(new Set(['t1', 't5']));
    const { runner, events } = fleet(
      10,
      [
        { count: 2, parallel: 1, maxFailures: { percent: 60 } },
        { percent: 100, parallel: 1 },
      ],
      fake,
      {
        maxFailures: { count: 2 },
      },
    );
    const out = await runner.run();
    expect(out.status).toBe('halted');
    expect(fake.order).toEqual(['t0', 't1', 't2', 't3', 't4', 't5']);
    expect((events.find((e) => e.type === 'fleet.halted') as { reason: string }).reason).toBe(
      '2 of 10 targets failed (fleet max_failures 2)',
    );
  });

  it('running targets end as their runs end after a halt; queued ones never start', async () => {
    const fake = fakeRuns(new Set(['t0']));
    const { runner } = fleet(8, [{ percent: 100, parallel: 3 }], fake);
    const out = await runner.run();
    expect(out.status).toBe('halted');
    // t0 fails while t1 and t2 run: those finish, t3.. never start.
    expect(fake.order).toEqual(['t0', 't1', 't2']);
    expect(out.results.get('t1')?.status).toBe('completed');
    expect(out.results.has('t3')).toBe(false);
  });

  it('per-server limits bound the runs on one server across the pool', async () => {
    const fake = fakeRuns();
    const { runner } = fleet(12, [{ percent: 100, parallel: 6 }], fake, { perServer: 2, serverOf: (t) => t.labels.server! });
    expect((await runner.run()).status).toBe('completed');
    expect(fake.peakPerServer()).toBe(2);
    expect(fake.peak()).toBe(4);
  });

  it('a target run that throws counts as a failure with its message', async () => {
    const runner = new FleetRunner({
      waves: planWaves(targets(2), [{ percent: 100, parallel: 1 }]),
      runTarget: async () => {
        throw new Error('connection refused');
      },
      emit: () => {},
    });
    const out = await runner.run();
    expect(out.results.get('t0')).toEqual({ status: 'failed', reason: 'connection refused' });
  });
});
