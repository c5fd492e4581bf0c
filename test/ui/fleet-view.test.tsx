// The fleet view under ink-testing-library, fed through the fleet's own wiring (FleetWiring: each
// target a RunWiring with its own store) by runners that record what they are asked: the grid
// (state, step, progress, ETA, throttle, waves), failures first, Enter/Esc into a target's run
// screen and back, and the pause / abort keys reaching the runners.
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus, type EventBody } from '../../src/engine/events.js';
import { resolveConnection } from '../../src/pg/connection.js';
import { FleetView } from '../../src/ui/fleet-view.js';
import { FleetRunner, type TargetResult } from '../../src/fleet/fleet-runner.js';
import { planWaves } from '../../src/fleet/fleet-waves.js';
import { FakeClock } from '../../src/util/clock.js';
import { FleetWiring } from '../../src/wiring/fleet-wiring.js';
import { frame, KEYS, type Rendered, renderAt, waitFor, waitForFrame } from './support/harness.js';
import { backfillProgress, emitBackfillStarted, emitRunStart, TARGET } from './support/events.js';

/** A runner as the wiring sees it, emitting scripted events and recording the intents it gets. */
class FakeRunner {
  private now = Date.parse('2025-01-01T12:00:00Z');
  readonly bus: EventBus;
  readonly calls: string[] = [];
  paused = false;
  constructor(id: string) {
    this.bus = new EventBus(id, () => this.now);
  }
  emit(b: EventBody): void {
    this.now += 100;
    this.bus.emit(b);
  }
  pause = () => {
    this.calls.push('pause');
    this.paused = true;
    this.emit({ type: 'run.paused', reason: 'paused by the operator' });
  };
  unpause = () => {
    this.calls.push('unpause');
    this.paused = false;
    this.emit({ type: 'run.unpaused' });
  };
  setBatchSize = (n: number) => this.calls.push(`batch ${n}`);
  setPauseMs = (ms: number) => this.calls.push(`pauseMs ${ms}`);
  abort = (reason: string) => this.calls.push(`abort: ${reason}`);
  interrupt = (reason: string) => this.calls.push(`interrupt: ${reason}`);
}

const NAMES = ['tenant-a', 'tenant-b', 'tenant-c', 'tenant-d'];

function startRun(r: FakeRunner, name: string): void {
  const emit = (b: EventBody) => r.emit(b);
  emitRunStart(emit, { runbook: `tenant plan (${name})`, file: 'tenant-plan.yaml', target: { ...TARGET, database: name } });
  emitBackfillStarted(emit, { addColumnDone: true });
}

function progress(r: FakeRunner, rowsDone: number, etaSeconds: number, throttle: string | null): void {
  r.emit(backfillProgress({ rowsDone, rowsTotal: 1000, batches: 4, batchSize: 100, rate: 100, etaSeconds, lastBatchMs: 20, throttle }));
}

/** Two waves; wave 2 runs a, b, c (c failed), d is still to come in wave 3. */
async function fleetUnderWay() {
  const halts: string[] = [];
  const wiring = new FleetWiring({ mode: 'ink', policy: { yes: true, allowIrreversible: false }, halt: (r) => halts.push(r) });
  const runners = new Map<string, FakeRunner>();
  wiring.emit({
    type: 'fleet.started',
    targets: 4,
    waves: [
      { wave: 1, targets: 1, parallel: 1 },
      { wave: 2, targets: 2, parallel: 2 },
      { wave: 3, targets: 1, parallel: 1 },
    ],
  });
  wiring.emit({ type: 'fleet.wave.started', wave: 1, targets: ['tenant-a'], parallel: 1 });
  const connection = resolveConnection('postgres://deployer@127.0.0.1:1/none');
  const launch = async (name: string, wave: number) => {
    wiring.emit({ type: 'fleet.target.started', target: name, wave });
    const r = new FakeRunner(`run-${name}`);
    runners.set(name, r);
    const w = wiring.target(name);
    await wiring.attach(name, w, r, { connection });
    startRun(r, name);
    return r;
  };
  await launch('tenant-a', 1);
  progress(runners.get('tenant-a')!, 1000, 0, null);
  runners.get('tenant-a')!.emit({ type: 'step.completed', phase: 'deploy', stepId: 'backfill_amount', durationMs: 900 });
  wiring.emit({ type: 'fleet.target.finished', target: 'tenant-a', wave: 1, status: 'completed', runId: 'run-tenant-a' });
  await wiring.release('tenant-a');
  wiring.emit({ type: 'fleet.wave.finished', wave: 1, completed: 1, failed: 0, durationMs: 1200 });
  wiring.emit({ type: 'fleet.wave.started', wave: 2, targets: ['tenant-b', 'tenant-c'], parallel: 2 });
  const b = await launch('tenant-b', 2);
  progress(b, 420, 58, 'replication lag 12 MB over 8 MB');
  const c = await launch('tenant-c', 2);
  c.emit({ type: 'step.failed', phase: 'deploy', stepId: 'backfill_amount', durationMs: 50, error: 'lock timeout on accounts' });
  wiring.emit({
    type: 'fleet.target.finished',
    target: 'tenant-c',
    wave: 2,
    status: 'failed',
    runId: 'run-tenant-c',
    reason: 'lock timeout on accounts',
  });
  await wiring.release('tenant-c');
  return { wiring, runners, halts };
}

describe('the fleet view', () => {
  let inst: Rendered | undefined;
  afterEach(() => {
    inst?.unmount();
    inst = undefined;
  });

  it('shows every target with its state, step, progress, ETA and throttle, the waves, and failures first', async () => {
    const { wiring } = await fleetUnderWay();
    inst = renderAt(<FleetView store={wiring.store} intents={wiring.intents} />, { columns: 120, rows: 24 });
    const f = await waitForFrame(inst, (s) => s.includes('tenant-b') && s.includes('throttled'), 'the grid');
    expect(f).toContain('pgrunbook fleet RUNNING');
    expect(f).toContain('wave 1: 1/1 done in 1.2s');
    const lines = f.split('\n');
    const row = (n: string) => lines.find((l) => l.includes(n))!;
    expect(row('tenant-b')).toMatch(/running\s+backfill_amount\s+\S+\s+42%\s+58s\s+throttled: replication lag 12 MB over 8 MB/);
    expect(row('tenant-c')).toMatch(/failed\s+backfill_amount.*lock timeout on accounts/);
    expect(row('tenant-a')).toMatch(/completed/);
    expect(row('tenant-d')).toBeUndefined(); // wave 3 has not started: its targets are not known yet
    const order = ['tenant-c', 'tenant-b', 'tenant-a'].map((n) => lines.findIndex((l) => l.includes(n)));
    expect(order).toEqual([...order].sort((x, y) => x - y));
    // The cursor starts on the first row: the failure.
    expect(row('tenant-c')).toContain('›');
  });

  it('counts an interrupted target apart from the failed ones in the header (fleet resume goes on with it)', async () => {
    const { wiring } = await fleetUnderWay();
    wiring.emit({ type: 'fleet.target.finished', target: 'tenant-b', wave: 2, status: 'interrupted', runId: 'run-tenant-b' });
    await wiring.release('tenant-b');
    inst = renderAt(<FleetView store={wiring.store} intents={wiring.intents} />, { columns: 120, rows: 24 });
    const f = await waitForFrame(inst, (s) => s.includes('interrupted'), 'the grid');
    expect(f).toContain('4 targets: 1 done, 0 running, 1 failed, 1 interrupted, 1 to go');
  });

  it("Enter opens the selected target's run screen fed by its own store; Esc comes back to the grid", async () => {
    const { wiring } = await fleetUnderWay();
    inst = renderAt(<FleetView store={wiring.store} intents={wiring.intents} />, { columns: 120, rows: 30 });
    await waitForFrame(inst, (s) => s.includes('tenant-b'), 'the grid');
    inst.stdin.write(KEYS.down); // tenant-b, under tenant-c
    await waitFor(() => wiring.store.getState().selected === 1, 'the cursor moves');
    inst.stdin.write(KEYS.enter);
    const opened = await waitForFrame(inst, (s) => s.includes('fleet › tenant-b'), 'the target screen');
    expect(opened).toContain('tenant plan (tenant-b)');
    expect(opened).toContain('Backfill amount_cents in batches');
    expect(opened).toMatch(/42[.,%]/);
    inst.stdin.write(KEYS.escape);
    const back = await waitForFrame(inst, (s) => s.includes('pgrunbook fleet'), 'the grid again');
    expect(back).not.toContain('fleet › tenant-b');
    expect(NAMES.filter((n) => back.includes(n))).toEqual(['tenant-a', 'tenant-b', 'tenant-c']);
  });

  it('p pauses the selected target, P every running target, a + y aborts them all and halts the fleet', async () => {
    const { wiring, runners, halts } = await fleetUnderWay();
    inst = renderAt(<FleetView store={wiring.store} intents={wiring.intents} />, { columns: 120, rows: 24 });
    await waitForFrame(inst, (s) => s.includes('tenant-b'), 'the grid');
    inst.stdin.write('p'); // on tenant-c: it failed, nothing to pause
    await waitForFrame(inst, (s) => s.includes('tenant-c is not running'), 'the notice');
    inst.stdin.write(KEYS.down);
    await waitFor(() => wiring.store.getState().selected === 1, 'the cursor moves');
    inst.stdin.write('p');
    await waitFor(() => runners.get('tenant-b')!.calls.includes('pause'), 'tenant-b paused');
    expect(await waitForFrame(inst, (s) => /tenant-b\s+2\s+paused/.test(s), 'the paused row')).toBeTruthy();
    expect(runners.get('tenant-c')!.calls).toEqual([]);
    inst.stdin.write('p');
    await waitFor(() => runners.get('tenant-b')!.calls.includes('unpause'), 'tenant-b resumed');

    inst.stdin.write('P');
    await waitFor(() => runners.get('tenant-b')!.calls.filter((c) => c === 'pause').length === 2, 'everyone paused');
    expect(wiring.store.getState().pausedAll).toBe(true);
    // A target that starts while the fleet is paused starts paused.
    wiring.emit({ type: 'fleet.target.started', target: 'tenant-d', wave: 3 });
    const d = new FakeRunner('run-tenant-d');
    await wiring.attach('tenant-d', wiring.target('tenant-d'), d, { connection: resolveConnection('postgres://x@127.0.0.1:1/none') });
    expect(d.calls).toEqual(['pause']);

    inst.stdin.write('a');
    await waitForFrame(inst, (s) => s.includes('Abort the fleet?'), 'the abort question');
    expect(runners.get('tenant-b')!.calls.some((c) => c.startsWith('abort'))).toBe(false);
    inst.stdin.write('y');
    await waitFor(() => runners.get('tenant-b')!.calls.includes('abort: aborted by the operator'), 'tenant-b aborted');
    expect(d.calls).toContain('abort: aborted by the operator');
    expect(halts).toEqual(['aborted by the operator']);
    // Runs that already ended are not touched.
    expect(runners.get('tenant-a')!.calls).toEqual([]);
    expect(frame(inst)).toContain('aborting every running target');
  });
});

/** A real FleetRunner over three targets in two waves (fake runs and probes), its gate the fleet view's. */
function gatedFleet(lagSeconds: number) {
  const halts: string[] = [];
  let fleet: FleetRunner | undefined;
  const halt = (r: string) => {
    halts.push(r);
    fleet?.halt(r);
  };
  const wiring = new FleetWiring({ mode: 'ink', policy: { yes: false, allowIrreversible: false }, halt });
  const targets = ['tenant-a', 'tenant-b', 'tenant-c'].map((name) => ({
    name,
    url: `postgres://x@127.0.0.1:1/${name}`,
    labels: {},
    vars: {},
  }));
  const ran: string[] = [];
  fleet = new FleetRunner({
    waves: planWaves(targets, [
      { count: 1, parallel: 1, gate: 'confirm', health: { max_lag: 30_000 } },
      { percent: 100, parallel: 2 },
    ]),
    runTarget: async (t): Promise<TargetResult> => {
      ran.push(t.name);
      return { status: 'completed', runId: `run-${t.name}`, stats: { steps: [{ id: 'fill', ms: 900 }], throttledMs: 0 } };
    },
    emit: wiring.emit,
    between: { clock: new FakeClock(), probe: async () => ({ lagSeconds, lockWaits: 2 }), gate: wiring.waveGate },
  });
  return { wiring, fleet: fleet!, ran, halts };
}

describe('the gate between waves in the fleet view', () => {
  let inst: Rendered | undefined;
  afterEach(() => {
    inst?.unmount();
    inst = undefined;
  });

  /** The gated fleet running in the view, stopped at its gate before wave 2. */
  async function atWaveGate(lagSeconds: number) {
    const g = gatedFleet(lagSeconds);
    inst = renderAt(<FleetView store={g.wiring.store} intents={g.wiring.intents} />, { columns: 120, rows: 30 });
    const done = g.fleet.run();
    const gateFrame = await waitForFrame(inst, (s) => s.includes('GATE · confirm'), 'the wave gate');
    return { ...g, view: inst, done, gateFrame };
  }

  it("shows the finished wave's health figures as the gate's evidence; y starts the next wave", async () => {
    const { view, ran, done, gateFrame: f } = await atWaveGate(4);
    expect(f).toContain('Start wave 2? Wave 1 passed its health check');
    expect(f).toMatch(/starts wave 2 on 2 targets \(tenant-b, tenant-c\)/);
    // The evidence is the health check of wave 1 with its figures (lag 4 s of 30 s, 2 lock waits).
    expect(f).toMatch(/✓ wave 1 replication lag: at most 4\.0s \(limit 30s\)/);
    expect(f).toMatch(/✓ wave 1 lock waits: at most 2 sessions waiting \(limit 5\)/);
    expect(f).toContain('Approve? [y/N]');
    expect(f).toContain('n or Enter halts the fleet');
    expect(ran).toEqual(['tenant-a']);
    view.stdin.write('y');
    const out = await done;
    expect(out.status).toBe('completed');
    expect(ran.sort()).toEqual(['tenant-a', 'tenant-b', 'tenant-c']);
    const last = await waitForFrame(view, (s) => s.includes('COMPLETED'), 'the end');
    expect(last).not.toContain('GATE');
  });

  it('n (or Enter) declines: the fleet halts before the next wave, naming the operator, and says how to continue', async () => {
    const { view, ran, done } = await atWaveGate(1);
    view.stdin.write(KEYS.enter);
    const out = await done;
    expect(out.status).toBe('halted');
    expect(out.haltReason).toMatch(/^the gate before wave 2 was not approved \(operator \S+: declined by the operator\)$/);
    expect(ran).toEqual(['tenant-a']);
    const f = await waitForFrame(view, (s) => s.includes('HALTED'), 'the halt');
    expect(f).not.toContain('GATE · confirm');
  });

  it('Esc at the gate (pressed to leave a target it came up over) goes back to the grid and declines nothing', async () => {
    const { view, wiring, ran, done } = await atWaveGate(1);
    wiring.store.getState().open('tenant-a');
    view.stdin.write(KEYS.escape);
    await new Promise((r) => setTimeout(r, 300));
    expect(wiring.store.getState().opened).toBeUndefined();
    expect(wiring.store.getState().waveGate).toBeDefined();
    expect(frame(view)).toContain('GATE · confirm');
    expect(ran).toEqual(['tenant-a']);
    view.stdin.write('y');
    const out = await done;
    expect(out.status).toBe('completed');
    expect(ran.sort()).toEqual(['tenant-a', 'tenant-b', 'tenant-c']);
  });

  it('Ctrl+C at the gate quits: the gate is declined and the fleet halts as the operator quit', async () => {
    const { view, wiring, ran, halts, done } = await atWaveGate(1);
    view.stdin.write('p'); // the grid's keys are the gate's now: nothing is paused, no notice
    view.stdin.write(KEYS.ctrlC);
    const out = await done;
    expect(halts).toEqual(['the operator quit']);
    expect(out.status).toBe('halted');
    expect(ran).toEqual(['tenant-a']);
    expect(wiring.store.getState().notice).toBeUndefined();
  });
});
