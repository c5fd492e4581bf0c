// Wave control with fakes and a FakeClock: the runbook's fleet: section, waves by label, flags over
// the runbook, the health verdict, and soak / health check / gate between waves in FleetRunner.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { STEP_KINDS } from '../../src/cli/composition-root.js';
import { policyWaveGate, terminalAsk, type WaveGatePort } from '../../src/fleet/fleet-gate.js';
import { judgeWave, runStatsListener, type TargetProbe } from '../../src/fleet/fleet-health.js';
import { type FleetEvent, FleetRunner, type TargetResult } from '../../src/fleet/fleet-runner.js';
import type { FleetTarget } from '../../src/fleet/fleet-targets.js';
import { planWaves, resolveWaves, type WaveSpec } from '../../src/fleet/fleet-waves.js';
import { loadRunbookText } from '../../src/runbook/load.js';
import { formatProblem } from '../../src/runbook/model.js';
import { FakeClock } from '../../src/util/clock.js';

const runbook = (fleet: string) => `version: 1
name: n
fleet:
${fleet}
phases:
  deploy:
    - id: a
      sql: select 1
`;

const target = (name: string, region: string): FleetTarget => ({ name, url: 'postgres://h/x', labels: { region }, vars: {} });
const eight = ['eu', 'us', 'eu', 'us', 'ap', 'eu', 'us', 'ap'].map((r, i) => target(`t${i}`, r));

describe('the runbook fleet: section', () => {
  it('reads waves by count, percent and label, limits, soak, health and gate', async () => {
    const { runbook: rb, problems } = await loadRunbookText(
      runbook(`  waves:
    - { count: 1 }
    - { match: { region: [eu, uk] }, parallel: 4, max_failures: 1, soak: 2m }
    - { percent: 100, parallel: 8, max_failures: "10%", gate: none }
  max_failures: "5%"
  per_server: 2
  soak: 30s
  gate: confirm
  health: { check: "select count(*) = 0 from pg_class where false", max_lag: 10s, max_lock_waits: 0, slow_factor: 2 }`),
      'r.yaml',
      { kinds: STEP_KINDS },
    );
    expect(problems.map(formatProblem)).toEqual([]);
    expect(rb!.fleet).toEqual({
      waves: [
        { count: 1, parallel: 1 },
        { match: { region: ['eu', 'uk'] }, parallel: 4, max_failures: { count: 1 }, soak: 120_000 },
        { percent: 100, parallel: 8, max_failures: { percent: 10 }, gate: 'none' },
      ],
      max_failures: { percent: 5 },
      per_server: 2,
      soak: 30_000,
      gate: 'confirm',
      health: { check: 'select count(*) = 0 from pg_class where false', max_lag: 10_000, max_lock_waits: 0, slow_factor: 2 },
    });
  });

  it('points at each problem with FILE:LINE:COL', async () => {
    const { problems } = await loadRunbookText(
      runbook(`  waves:
    - { count: 1, match: { region: eu } }
    - { percent: 100, max_failures: lots }
  soak: soon
  gates: none
  health: { check: "selec 1" }`),
      'r.yaml',
      { kinds: STEP_KINDS },
    );
    expect(problems.map(formatProblem)).toEqual([
      'r.yaml:5:7: fleet.waves[0]: give exactly one of count, percent or match',
      expect.stringMatching(/^r\.yaml:6:37: fleet\.waves\[1\]\.max_failures: bad limit "lots"/),
      expect.stringMatching(/^r\.yaml:7:9: fleet\.soak: bad duration "soon"/),
      expect.stringMatching(/^r\.yaml:8:3: fleet: unknown key "gates" \(did you mean "gate"\?\)/),
      expect.stringMatching(/^r\.yaml:9:\d+: .*syntax error/),
    ]);
  });
});

describe('waves by label and flags over the runbook', () => {
  it('a label wave takes every remaining match in order; count and percent take the rest in order', () => {
    const waves = planWaves(eight, [
      { count: 1, parallel: 1 },
      { match: { region: ['eu'] }, parallel: 2 },
      { match: { region: ['us', 'ap'] }, parallel: 2 },
    ]);
    expect(waves.map((w) => w.targets.map((t) => t.name))).toEqual([['t0'], ['t2', 't5'], ['t1', 't3', 't4', 't6', 't7']]);
    expect(waves.map((w) => w.label)).toEqual(['1 targets', 'region=eu', 'region=us|ap']);
    const mixed = planWaves(eight, [
      { match: { region: ['ap'] }, parallel: 1 },
      { percent: 25, parallel: 1 },
      { percent: 100, parallel: 1 },
    ]);
    expect(mixed.map((w) => w.targets.map((t) => t.name))).toEqual([
      ['t4', 't7'],
      ['t0', 't1'],
      ['t2', 't3', 't5', 't6'],
    ]);
  });

  it('a label wave that matches nothing, or waves that leave targets out, are refused before anything runs', () => {
    expect(() => planWaves(eight, [{ match: { region: ['mars'] }, parallel: 1 }])).toThrow(
      /wave 1 \(region=mars\) matches none of the 8 targets left for it/,
    );
    expect(() => planWaves(eight, [{ match: { region: ['eu'] }, parallel: 1 }])).toThrow(/the waves cover 3 of 8 targets/);
  });

  it('flags override the runbook, the runbook overrides the defaults', () => {
    const section = {
      waves: [
        { match: { region: ['eu'] }, parallel: 2, soak: 1000 },
        { percent: 100, parallel: 4 },
      ],
      max_failures: { percent: 10 },
      per_server: 3,
      soak: 60_000,
      gate: 'none' as const,
      health: { check: 'select true', max_lag: 5000 },
    };
    const fromRunbook = resolveWaves(section, {});
    expect(fromRunbook.maxFailures).toEqual({ percent: 10 });
    expect(fromRunbook.perServer).toBe(3);
    expect(fromRunbook.waves.map((w) => [w.soakMs, w.gate, w.health])).toEqual([
      [1000, 'none', { max_lag: 5000 }],
      [60_000, 'none', { max_lag: 5000 }],
    ]);
    const flags = resolveWaves(section, { waves: [{ percent: 100, parallel: 9 }], maxFailures: { count: 2 }, soakMs: 0, gate: 'confirm' });
    expect(flags.waves).toEqual([{ percent: 100, parallel: 9, soakMs: 0, gate: 'confirm', health: { max_lag: 5000 } }]);
    expect(flags.maxFailures).toEqual({ count: 2 });
    expect(resolveWaves(undefined, {})).toEqual({
      waves: [
        { count: 1, parallel: 1, soakMs: 0, gate: 'confirm', health: {} },
        { percent: 100, parallel: 4, soakMs: 0, gate: 'confirm', health: {} },
      ],
      maxFailures: { count: 1 },
    });
  });
});

const healthy: TargetProbe = { lagSeconds: null, lockWaits: 0 };

describe('the health verdict', () => {
  const base = { wave: 2, targets: ['a', 'b'], failed: [], stats: new Map(), probes: new Map(), projected: new Map() };

  it('passes a quiet wave and says the first wave has no projection', () => {
    const r = judgeWave(
      {
        ...base,
        probes: new Map([
          ['a', healthy],
          ['b', { ...healthy, check: { ok: true, detail: 'true' } }],
        ]),
      },
      {},
    );
    expect(r.ok).toBe(true);
    expect(r.items.find((i) => i.name === 'slow steps')!.detail).toMatch(/no projection yet/);
    expect(r.items.find((i) => i.name === 'check')!.detail).toBe('true on all 1');
  });

  it('fails on lag, lock waits, a false check, an unreachable target, slow steps and throttle time over the limits', () => {
    const r = judgeWave(
      {
        ...base,
        stats: new Map([
          ['a', { steps: [{ id: 'fill', ms: 40_000 }], throttledMs: 90_000 }],
          ['b', { steps: [{ id: 'fill', ms: 9000 }], throttledMs: 0 }],
        ]),
        probes: new Map<string, TargetProbe>([
          ['a', { lagSeconds: 12.5, lockWaits: 7, check: { ok: false, detail: 'returned false, expected true' } }],
          ['b', { lagSeconds: null, lockWaits: null, error: 'cannot connect to b: connection refused' }],
        ]),
        projected: new Map([['fill', 10_000]]),
      },
      { max_lag: 10_000, max_lock_waits: 5, max_throttled: 60_000 },
    );
    expect(r.ok).toBe(false);
    const bad = Object.fromEntries(r.items.filter((i) => !i.ok).map((i) => [i.name, i.targets]));
    expect(bad).toEqual({
      'slow steps': ['a'],
      'throttle time': ['a'],
      'replication lag': ['a'],
      'lock waits': ['a'],
      check: ['a'],
      probe: ['b'],
    });
    expect(r.items.find((i) => i.name === 'slow steps')!.detail).toContain('a fill 40s (projected 10s)');
  });

  it('counts a run’s throttled time from its throttle events', () => {
    const clock = new FakeClock();
    const { stats, listener } = runStatsListener(() => clock.now());
    listener({ type: 'step.throttle', stepId: 'fill', reason: 'lag' } as never);
    clock.advance(4000);
    listener({ type: 'step.throttle', stepId: 'fill', reason: 'waiters' } as never);
    clock.advance(1000);
    listener({ type: 'step.throttle', stepId: 'fill', reason: null } as never);
    listener({ type: 'step.completed', stepId: 'fill', durationMs: 9000 } as never);
    expect(stats).toEqual({ steps: [{ id: 'fill', ms: 9000 }], throttledMs: 5000 });
  });
});

/** A fleet of `targets` over `specs` with fake runs, probes and gate; records events and order. */
function fleet(specs: WaveSpec[], opts: { probe?: (t: FleetTarget) => TargetProbe; gate?: WaveGatePort; done?: string[] } = {}) {
  const clock = new FakeClock();
  const events: FleetEvent[] = [];
  const ran: string[] = [];
  const gates: number[] = [];
  const runner = new FleetRunner({
    waves: planWaves(eight, specs),
    maxFailures: { count: 3 },
    runTarget: async (t): Promise<TargetResult> => {
      ran.push(t.name);
      await new Promise((r) => setImmediate(r));
      return { status: 'completed', runId: `r-${t.name}`, stats: { steps: [{ id: 'fill', ms: 2000 }], throttledMs: 0 } };
    },
    done: new Map((opts.done ?? []).map((n) => [n, { status: 'completed' as const }])),
    emit: (e) => events.push(e),
    between: {
      clock,
      probe: async (t) => opts.probe?.(t) ?? healthy,
      gate:
        opts.gate ??
        (async (req) => {
          gates.push(req.nextWave);
          return { approved: true, by: 'test' };
        }),
    },
  });
  return { runner, clock, events, ran, gates };
}

const threeWaves = (over: Partial<WaveSpec> = {}): WaveSpec[] => [
  { count: 1, parallel: 1, soakMs: 60_000, gate: 'confirm', ...over },
  { match: { region: ['eu'] }, parallel: 2, soakMs: 60_000, gate: 'confirm', ...over },
  { percent: 100, parallel: 4, ...over },
];

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

describe('between waves in FleetRunner', () => {
  it('soaks on the clock, then checks health, then asks the gate; the next wave starts only after', async () => {
    const f = fleet(threeWaves());
    const done = f.runner.run();
    await until(() => f.events.some((e) => e.type === 'fleet.soak.started'));
    expect(f.events.some((e) => e.type === 'fleet.health.started')).toBe(false);
    f.clock.advance(59_999);
    await new Promise((r) => setImmediate(r));
    expect(f.events.some((e) => e.type === 'fleet.health.started')).toBe(false);
    f.clock.advance(1);
    await until(() => f.events.filter((e) => e.type === 'fleet.soak.started').length === 2);
    expect(f.ran).toEqual(['t0', 't2', 't5']);
    f.clock.advance(60_000);
    const out = await done;
    expect(out.status).toBe('completed');
    expect(f.gates).toEqual([2, 3]);
    const types = f.events.map((e) => e.type).filter((t) => !t.startsWith('fleet.target'));
    expect(types).toEqual([
      'fleet.started',
      'fleet.wave.started',
      'fleet.wave.finished',
      'fleet.soak.started',
      'fleet.health.started',
      'fleet.health.checked',
      'fleet.gate.requested',
      'fleet.gate.decided',
      'fleet.wave.started',
      'fleet.wave.finished',
      'fleet.soak.started',
      'fleet.health.started',
      'fleet.health.checked',
      'fleet.gate.requested',
      'fleet.gate.decided',
      'fleet.wave.started',
      'fleet.wave.finished',
      'fleet.completed',
    ]);
  });

  it('a failing check halts without asking anyone: later waves never start, the targets and why are named', async () => {
    const f = fleet(threeWaves({ soakMs: 0 }), {
      probe: (t) => (t.name === 't5' ? { ...healthy, check: { ok: false, detail: 'returned false, expected true' } } : healthy),
    });
    const out = await f.runner.run();
    expect(out.status).toBe('halted');
    expect(out.haltReason).toBe("wave 2's health check failed: check (t5)");
    expect(f.ran).toEqual(['t0', 't2', 't5']);
    expect(f.gates).toEqual([2]);
    const halted = f.events.find((e) => e.type === 'fleet.halted') as Extract<FleetEvent, { type: 'fleet.halted' }>;
    expect(halted.notStarted).toEqual(['t1', 't3', 't4', 't6', 't7']);
    const checked = f.events.filter((e) => e.type === 'fleet.health.checked') as Extract<FleetEvent, { type: 'fleet.health.checked' }>[];
    expect(checked.map((c) => c.ok)).toEqual([true, false]);
  });

  it('gate decisions: a refusal halts before the next wave; gate none goes on without asking', async () => {
    const refused = fleet(threeWaves({ soakMs: 0 }), {
      gate: async (req) => (req.nextWave === 2 ? { approved: true, by: 'alice' } : { approved: false, by: 'bob', reason: 'lag on eu' }),
    });
    const out = await refused.runner.run();
    expect(out.haltReason).toBe('the gate before wave 3 was not approved (bob: lag on eu)');
    expect(refused.ran).toEqual(['t0', 't2', 't5']);
    const none = fleet(threeWaves({ soakMs: 0, gate: 'none' }));
    expect((await none.runner.run()).status).toBe('completed');
    expect(none.gates).toEqual([]);
    expect(none.events.filter((e) => e.type === 'fleet.gate.decided').map((e) => (e as { by: string }).by)).toEqual([
      'gate: none',
      'gate: none',
    ]);
  });

  it('on resume a wave done before is not soaked again; its gate is asked again only if the next wave had not begun', async () => {
    // Halted at the gate after wave 2: waves 1 and 2 done; the gate before wave 3 is asked again, the one before 2 is not.
    const f = fleet(threeWaves(), { done: ['t0', 't2', 't5'] });
    const out = await f.runner.run();
    expect(out.status).toBe('completed');
    expect(f.gates).toEqual([3]);
    expect(f.events.some((e) => e.type === 'fleet.soak.started')).toBe(false);
    expect(f.ran).toEqual(['t1', 't3', 't4', 't6', 't7']);
  });

  it('a halt during the soak ends the wait at once, and the next wave never starts', async () => {
    const f = fleet(threeWaves());
    const done = f.runner.run();
    await until(() => f.events.some((e) => e.type === 'fleet.soak.started'));
    f.runner.halt('interrupted by Ctrl+C');
    const out = await done;
    expect(out.haltReason).toBe('interrupted by Ctrl+C');
    expect(f.ran).toEqual(['t0']);
    expect(f.events.some((e) => e.type === 'fleet.health.started')).toBe(false);
  });

  it('the overall limit as a percent of the fleet halts across waves', async () => {
    const events: FleetEvent[] = [];
    const runner = new FleetRunner({
      waves: planWaves(eight, [
        { count: 4, parallel: 1 },
        { percent: 100, parallel: 1 },
      ]),
      maxFailures: { percent: 25 },
      runTarget: async (t) => (['t1', 't5'].includes(t.name) ? { status: 'failed', reason: 'boom' } : { status: 'completed' }),
      emit: (e) => events.push(e),
    });
    const out = await runner.run();
    expect(out.haltReason).toBe('2 of 8 targets failed (fleet max_failures 25%)');
    expect([...out.results.keys()]).toEqual(['t0', 't1', 't2', 't3', 't4', 't5']);
  });
});

describe('the gate without the fleet view', () => {
  const req = { wave: 1, nextWave: 2, nextTargets: ['a', 'b'], health: { wave: 1, ok: true, items: [] } };

  it('--yes approves; no terminal and no --yes refuses and says how to go on', async () => {
    expect(await policyWaveGate({ yes: true })(req)).toEqual({ approved: true, by: '--yes' });
    const no = await policyWaveGate({ yes: false })(req);
    expect(no.approved).toBe(false);
    expect(no.reason).toMatch(/pgrunbook fleet resume --yes/);
  });

  it('at a terminal, y approves and anything else refuses', async () => {
    for (const [answer, approved] of [
      ['y\n', true],
      ['n\n', false],
      ['\n', false],
    ] as const) {
      const input = new PassThrough();
      const output = new PassThrough();
      let shown = '';
      output.on('data', (b) => (shown += b));
      const decision = policyWaveGate({ yes: false, ask: terminalAsk(input, output) })(req);
      input.write(answer);
      expect((await decision).approved).toBe(approved);
      expect(shown).toContain('start wave 2 (2 targets)? [y/N]');
    }
  });
});
