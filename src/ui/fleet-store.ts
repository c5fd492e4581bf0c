// The fleet view's store: the fleet's own events go through a pure reducer (targets, waves, halt);
// each target that started brings its run's UiStore and intents (from its RunWiring), and the grid
// reads a row from that store, so a target's step, progress, ETA and throttle are what its own run
// screen shows. View state (selection, the opened target, overlays) has its own small actions.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { GateRequest } from '../engine/gates.js';
import type { FleetEvent, TargetStatus } from '../fleet/fleet-runner.js';
import type { Intents } from './intents.js';
import { activeBackfill, runningStep, type UiStore } from './store.js';

export type TargetState = 'pending' | 'running' | 'skipped' | TargetStatus;

export interface FleetTargetView {
  name: string;
  wave: number;
  state: TargetState;
  runId?: string;
  reason?: string;
  /** The target's run store and intents, once its run started in this process; `watch` polls its panels. */
  run?: { store: UiStore; intents: Intents; watch?(on: boolean): void };
}

export interface FleetWaveView {
  wave: number;
  size: number;
  parallel: number;
  state: 'pending' | 'running' | 'done';
  completed: number;
  failed: number;
  durationMs?: number;
}

export interface FleetCore {
  status: 'starting' | 'running' | 'completed' | 'halted';
  haltReason?: string;
  durationMs?: number;
  /** Targets in the order of the targets file. */
  order: string[];
  targets: Record<string, FleetTargetView>;
  waves: FleetWaveView[];
}

export type FleetOverlay = 'none' | 'help' | 'confirm-abort' | 'confirm-quit';

export interface FleetViewState extends FleetCore {
  /** Row of the grid under the cursor (an index into the grid's order). */
  selected: number;
  /** The target whose run screen is shown instead of the grid. */
  opened?: string;
  overlay: FleetOverlay;
  notice?: string;
  /** p on the grid paused every running target; new targets start paused too. */
  pausedAll: boolean;
  /** The gate before the next wave, waiting for the operator (it owns the keys while it shows). */
  waveGate?: GateRequest;
  dispatch(e: FleetEvent): void;
  attachRun(name: string, run: NonNullable<FleetTargetView['run']>): void;
  select(index: number): void;
  open(name: string | undefined): void;
  setOverlay(o: FleetOverlay): void;
  setNotice(text: string | undefined): void;
  setPausedAll(on: boolean): void;
  setWaveGate(req: GateRequest | undefined): void;
}

export type FleetStore = StoreApi<FleetViewState>;

export function initialFleet(): FleetCore {
  return { status: 'starting', order: [], targets: {}, waves: [] };
}

function setTarget(s: FleetCore, name: string, patch: Partial<FleetTargetView>): FleetCore {
  const prev = s.targets[name] ?? { name, wave: patch.wave ?? 0, state: 'pending' as const };
  return { ...s, targets: { ...s.targets, [name]: { ...prev, ...patch } } };
}

function setWave(s: FleetCore, wave: number, patch: Partial<FleetWaveView>): FleetCore {
  return { ...s, waves: s.waves.map((w) => (w.wave === wave ? { ...w, ...patch } : w)) };
}

/** The pure reducer of fleet events. */
export function reduceFleet(s: FleetCore, e: FleetEvent): FleetCore {
  switch (e.type) {
    case 'fleet.started':
      return {
        ...s,
        status: 'running',
        waves: e.waves.map((w) => ({ wave: w.wave, size: w.targets, parallel: w.parallel, state: 'pending', completed: 0, failed: 0 })),
      };
    case 'fleet.wave.started': {
      let next = setWave(s, e.wave, { state: 'running' });
      for (const name of e.targets) if (!next.targets[name]) next = setTarget(next, name, { wave: e.wave, state: 'pending' });
      const known = new Set(next.order);
      return { ...next, order: [...next.order, ...e.targets.filter((n) => !known.has(n))] };
    }
    case 'fleet.target.started':
      return setTarget(s, e.target, { wave: e.wave, state: 'running', reason: undefined });
    case 'fleet.target.skipped':
      return setTarget(s, e.target, { wave: e.wave, state: 'skipped', runId: e.runId });
    case 'fleet.target.finished':
      return setTarget(s, e.target, { wave: e.wave, state: e.status, runId: e.runId, reason: e.reason });
    case 'fleet.wave.finished':
      return setWave(s, e.wave, { state: 'done', completed: e.completed, failed: e.failed, durationMs: e.durationMs });
    case 'fleet.halted':
      return { ...s, status: 'halted', haltReason: e.reason };
    case 'fleet.completed':
      return { ...s, status: 'completed', durationMs: e.durationMs };
    default:
      // Events another part of the fleet adds (gates, health) change no row here.
      return s;
  }
}

/** One row of the grid, read from the target's own run store when it has one. */
export interface FleetRow {
  name: string;
  wave: number;
  state: TargetState | 'paused' | 'gate';
  step?: string;
  /** Steps done of all steps, and the running backfill's share when there is one. */
  stepsDone: number;
  steps: number;
  fraction?: number;
  etaSeconds?: number | null;
  throttle?: string;
  reason?: string;
}

export function fleetRow(t: FleetTargetView): FleetRow {
  const row: FleetRow = { name: t.name, wave: t.wave, state: t.state, stepsDone: 0, steps: 0, reason: t.reason };
  const ui = t.run?.store.getState();
  if (!ui) return row;
  const run = ui.run;
  const steps = run.stepOrder.map((id) => run.steps[id]!).filter((st) => !st.gateOnly);
  row.steps = steps.length;
  row.stepsDone = steps.filter((st) => st.status === 'done' || st.status === 'skipped').length;
  const cur = runningStep(run) ?? (run.currentStepId ? run.steps[run.currentStepId] : undefined);
  row.step = cur?.id;
  const bf = activeBackfill(run);
  if (bf && bf.step.status === 'running') {
    const { rowsDone, rowsTotal, etaSeconds, throttle } = bf.progress;
    if (rowsTotal) row.fraction = Math.min(1, rowsDone / rowsTotal);
    row.etaSeconds = etaSeconds;
    row.throttle = throttle ?? undefined;
  } else if (cur?.throttle?.reason) row.throttle = cur.throttle.reason;
  if (t.state === 'running') {
    if (ui.gates.length > 0) {
      row.state = 'gate';
      // The grid has no prompt of its own: say where the answer is given.
      row.reason ??= `Enter answers its ${ui.gates[0]!.level} gate: ${ui.gates[0]!.title}`;
    } else if (run.status === 'paused') row.state = 'paused';
  }
  if (!row.reason && (t.state === 'failed' || t.state === 'aborted') && cur?.error) row.reason = cur.error;
  return row;
}

const RANK: Record<FleetRow['state'], number> = {
  failed: 0,
  locked: 0,
  aborted: 0,
  interrupted: 1,
  gate: 2,
  paused: 3,
  running: 3,
  pending: 4,
  completed: 5,
  skipped: 5,
};

/** The grid's order: failures first, then targets waiting for an answer, running, pending, done; file order within. */
export function gridRows(s: FleetCore): FleetRow[] {
  const rows = s.order.map((n) => fleetRow(s.targets[n]!));
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => RANK[a.r.state] - RANK[b.r.state] || a.i - b.i)
    .map((x) => x.r);
}

export function createFleetStore(): FleetStore {
  return createStore<FleetViewState>()((set, get) => ({
    ...initialFleet(),
    selected: 0,
    overlay: 'none',
    pausedAll: false,
    dispatch: (e) => {
      const prev = get();
      const next = reduceFleet(prev, e);
      // When the fleet ends, its last frame is the grid with the outcome, not one target's screen.
      if (next !== prev) set(next.status === 'completed' || next.status === 'halted' ? { ...next, opened: undefined } : next);
    },
    attachRun: (name, run) => {
      const t = get().targets[name] ?? { name, wave: 0, state: 'running' as const };
      set({ targets: { ...get().targets, [name]: { ...t, run } } });
    },
    select: (index) => set({ selected: Math.max(0, Math.min(index, get().order.length - 1)) }),
    open: (opened) => set({ opened }),
    setOverlay: (overlay) => set({ overlay }),
    setNotice: (notice) => set({ notice }),
    setPausedAll: (pausedAll) => set({ pausedAll }),
    setWaveGate: (waveGate) => set({ waveGate }),
  }));
}
