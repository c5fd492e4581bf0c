// One zustand vanilla store per run. Run state changes ONLY through `reduce(state, event)` (pure,
// unit-tested); monitor samples, pending gates (from InkGates) and view state (overlays, freeze)
// have their own small actions. React reads it through src/ui/context.tsx.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { BackfillProgress, IndexProgress, PlannedStepDetail, Progress, RunEvent } from '../engine/events.js';
import type { Target } from '../pg/connection.js';
import type { Evidence, GateRequest } from '../engine/gates.js';
import type { MonitorSample } from '../monitor/monitor-types.js';
import { metricsSnapshot } from '../monitor/snapshot.js';
import type { PhaseName } from '../runbook/model.js';
import { eventText, type LogLevel } from '../render/event-text.js';

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';
export type RunStatus = 'starting' | 'running' | 'paused' | 'interrupted' | 'aborted' | 'completed' | 'failed';

export interface StepView {
  phase: PhaseName;
  id: string;
  kind: string;
  title: string;
  gate: string;
  reversible: boolean;
  detail: PlannedStepDetail;
  status: StepStatus;
  attempt: number;
  /** ms since epoch, from the event timestamp. */
  startedAt?: number;
  durationMs?: number;
  error?: string;
  hint?: string;
  sqlstate?: string;
  lastSql?: { sql: string; ok: boolean; durationMs: number; error?: string };
  retry?: { attempt: number; of: number; delayMs: number; reason: string };
  backfill?: BackfillProgress;
  index?: IndexProgress;
  generic?: { label: string; done: number; total: number | null };
  throttle?: { reason: string | null; detail?: string };
  evidence?: Evidence[];
  reconciled?: string;
  /** Not a runbook step: a gate of its own (the deploy plan's approval, id = the phase). Done once decided. */
  gateOnly?: boolean;
}

export interface LogLine {
  seq: number;
  at: string;
  level: LogLevel;
  stepId?: string;
  text: string;
}

export interface RunState {
  runId?: string;
  runbook?: string;
  file?: string;
  target?: Target;
  phases: PhaseName[];
  resumed: boolean;
  phase?: PhaseName;
  status: RunStatus;
  statusReason?: string;
  stepOrder: string[];
  steps: Record<string, StepView>;
  /** The step running now, else the last one that ran. */
  currentStepId?: string;
  /** Gate requests seen on the event stream and not yet decided (stepIds), for step markers. */
  gatedSteps: string[];
  log: LogLine[];
  /** Our statements that gave up at lock_timeout, newest first (the Locks panel lists the last minute's). */
  lockTimeouts: { stepId: string; at: number; waitedMs: number }[];
  lastSeq: number;
  startedAt?: number;
  endedAt?: number;
}

/** Lines kept in memory for the pager; older ones live on in the terminal's scrollback and the journal. */
export const LOG_CAP = 1000;

export function initialRunState(): RunState {
  return {
    phases: [],
    resumed: false,
    status: 'starting',
    stepOrder: [],
    steps: {},
    gatedSteps: [],
    log: [],
    lockTimeouts: [],
    lastSeq: 0,
  };
}

function ensureStep(state: RunState, stepId: string, phase?: PhaseName, kind?: string, title?: string): RunState {
  if (state.steps[stepId]) return state;
  const step: StepView = {
    phase: phase ?? state.phase ?? 'deploy',
    id: stepId,
    kind: kind ?? '?',
    title: title ?? stepId,
    gate: 'none',
    reversible: true,
    detail: {},
    status: 'pending',
    attempt: 0,
  };
  return { ...state, stepOrder: [...state.stepOrder, stepId], steps: { ...state.steps, [stepId]: step } };
}

function patchStep(state: RunState, stepId: string, patch: Partial<StepView>): RunState {
  const s = ensureStep(state, stepId);
  return { ...s, steps: { ...s.steps, [stepId]: { ...s.steps[stepId]!, ...patch } } };
}

/** The step a gate is about; a gate with no step of its own (the deploy plan) gets a gate-only row. */
function gateStep(state: RunState, req: GateRequest): RunState {
  if (state.steps[req.stepId]) return state;
  const phase = (state.phases as string[]).includes(req.stepId) ? (req.stepId as PhaseName) : undefined;
  const s = ensureStep(state, req.stepId, phase, 'gate', req.title);
  return patchStep(s, req.stepId, { gateOnly: true, gate: req.level });
}

function applyProgress(p: Progress): Partial<StepView> {
  if (p.kind === 'backfill') {
    const { kind: _k, ...rest } = p;
    return { backfill: rest };
  }
  if (p.kind === 'index') {
    const { kind: _k, ...rest } = p;
    return { index: rest };
  }
  return { generic: { label: p.label, done: p.done, total: p.total } };
}

function appendLog(state: RunState, e: RunEvent): RunState {
  // Progress ticks feed the gauges, not the log (several a second would push everything else out).
  if (e.type === 'step.progress') return state;
  const t = eventText(e);
  if (!t) return state;
  const line: LogLine = { seq: e.seq, at: e.at, level: t.level, text: t.text, ...(t.stepId ? { stepId: t.stepId } : {}) };
  // An approval's evidence goes in too (the plan's detail has its own panel), above its line so the
  // command to run stays the newest line of a short log; fractional seqs keep keys unique and ordered.
  const detail = e.type === 'approval.waiting' ? (t.more ?? []) : [];
  const more = detail.map((text, i): LogLine => ({ ...line, seq: e.seq - 1 + (i + 1) / 1000, text: `  ${text}` }));
  const all = [...state.log, ...more, line];
  return { ...state, log: all.length > LOG_CAP ? all.slice(all.length - LOG_CAP) : all };
}

/** The run and its phases: start, plan, pause, end. */
function reduceRunEvent(s: RunState, e: RunEvent, at: number): RunState | undefined {
  let r = s;
  switch (e.type) {
    case 'run.started':
      r = {
        ...r,
        runbook: e.runbook,
        file: e.file,
        target: e.target,
        phases: e.phases,
        resumed: e.resumed,
        status: 'running',
        startedAt: at,
      };
      break;
    case 'run.plan': {
      const steps = { ...r.steps };
      const order = [...r.stepOrder];
      for (const p of e.steps) {
        const old = steps[p.id];
        if (!old) order.push(p.id);
        steps[p.id] = {
          ...(old ?? { status: 'pending' as const, attempt: 0 }),
          phase: p.phase,
          id: p.id,
          kind: p.kind,
          title: p.title,
          gate: p.gate,
          reversible: p.reversible,
          detail: p.detail ?? old?.detail ?? {},
        };
      }
      r = { ...r, steps, stepOrder: order };
      break;
    }
    case 'phase.started':
      r = { ...r, phase: e.phase };
      break;
    case 'phase.completed':
      break;
    case 'run.paused':
      r = { ...r, status: 'paused', statusReason: e.reason };
      break;
    case 'run.unpaused':
      r = { ...r, status: 'running', statusReason: undefined };
      break;
    case 'run.interrupted':
      r = { ...r, status: 'interrupted', statusReason: e.reason, endedAt: at };
      break;
    case 'run.aborted':
      r = { ...r, status: 'aborted', statusReason: e.reason, endedAt: at };
      break;
    case 'run.completed':
      r = { ...r, status: 'completed', statusReason: undefined, endedAt: at };
      break;
    case 'run.failed':
      r = { ...r, status: 'failed', statusReason: e.error, endedAt: at };
      break;
    default:
      return undefined;
  }
  return r;
}

/** One step's life: start, SQL, retries, progress, throttle, evidence, outcome. */
function reduceStepEvent(s: RunState, e: RunEvent, at: number): RunState | undefined {
  let r = s;
  switch (e.type) {
    case 'step.started':
      r = ensureStep(r, e.stepId, e.phase, e.kind, e.title);
      r = patchStep(r, e.stepId, {
        status: 'running',
        attempt: e.attempt,
        startedAt: at,
        error: undefined,
        hint: undefined,
        sqlstate: undefined,
        retry: undefined,
        throttle: undefined,
      });
      r = { ...r, currentStepId: e.stepId, phase: e.phase };
      break;
    case 'step.reconciled':
      r = patchStep(r, e.stepId, { reconciled: `${e.found}: ${e.detail}`, ...(e.found === 'done' ? { status: 'done' as const } : {}) });
      break;
    case 'step.sql':
      r = patchStep(r, e.stepId, { lastSql: { sql: e.sql, ok: e.ok, durationMs: e.durationMs, ...(e.error ? { error: e.error } : {}) } });
      // 55P03: lock_timeout expired while waiting for a lock. Kept even when no poll saw the wait.
      if (!e.ok && e.sqlstate === '55P03')
        r = { ...r, lockTimeouts: [{ stepId: e.stepId, at, waitedMs: e.durationMs }, ...(r.lockTimeouts ?? [])].slice(0, 20) };
      break;
    case 'step.retry':
      r = patchStep(r, e.stepId, { retry: { attempt: e.attempt, of: e.of, delayMs: e.delayMs, reason: e.reason } });
      break;
    case 'step.progress':
      r = patchStep(r, e.stepId, applyProgress(e.progress));
      break;
    case 'step.throttle':
      r = patchStep(r, e.stepId, { throttle: { reason: e.reason, ...(e.detail ? { detail: e.detail } : {}) } });
      break;
    case 'step.evidence':
      r = patchStep(r, e.stepId, { evidence: e.evidence });
      break;
    case 'step.completed':
      r = patchStep(r, e.stepId, { status: 'done', durationMs: e.durationMs, retry: undefined });
      break;
    case 'step.failed':
      r = patchStep(r, e.stepId, { status: 'failed', durationMs: e.durationMs, error: e.error, hint: e.hint, sqlstate: e.sqlstate });
      break;
    case 'step.skipped':
      r = patchStep(r, e.stepId, { status: 'skipped', error: e.reason });
      break;
    default:
      return undefined;
  }
  return r;
}

/** Gates and approvals. */
function reduceGateEvent(s: RunState, e: RunEvent): RunState | undefined {
  let r = s;
  switch (e.type) {
    case 'gate.requested':
      r = gateStep(r, e.request);
      if (!r.gatedSteps.includes(e.request.stepId)) r = { ...r, gatedSteps: [...r.gatedSteps, e.request.stepId] };
      break;
    case 'gate.decided':
      r = { ...r, gatedSteps: r.gatedSteps.filter((id) => id !== e.request.stepId) };
      if (r.steps[e.request.stepId]?.gateOnly)
        r = patchStep(r, e.request.stepId, e.decision.approved ? { status: 'done' } : { status: 'failed', error: e.decision.reason });
      break;
    case 'approval.waiting':
      // The evidence the approver will see stays on the step while the run waits.
      r = patchStep(ensureStep(r, e.request.stepId), e.request.stepId, { evidence: e.request.evidence });
      break;
    default:
      return undefined;
  }
  return r;
}

/** The pure reducer: RunState × RunEvent → RunState. Never reads the clock; times come from events. */
export function reduce(prev: RunState, e: RunEvent): RunState {
  // Replays (resume, duplicated listeners) must not double-apply.
  if (e.seq <= prev.lastSeq) return prev;
  const s: RunState = { ...prev, lastSeq: e.seq, runId: prev.runId ?? e.runId };
  const at = Date.parse(e.at);
  const next = reduceStepEvent(s, e, at) ?? reduceRunEvent(s, e, at) ?? reduceGateEvent(s, e) ?? s;
  return appendLog(next, e);
}

// ---- selectors (pure) ----

export function runningStep(s: RunState): StepView | undefined {
  const cur = s.currentStepId ? s.steps[s.currentStepId] : undefined;
  return cur?.status === 'running' ? cur : undefined;
}

/**
 * The step the detail pane is about: the gated one, the running one, the one that just failed,
 * else the next pending one in the phase, else the last one that ran.
 */
export function focusStep(s: RunState, gate?: GateRequest): StepView | undefined {
  if (gate && s.steps[gate.stepId]) return s.steps[gate.stepId];
  const run = runningStep(s);
  if (run) return run;
  const cur = s.currentStepId ? s.steps[s.currentStepId] : undefined;
  if (cur?.status === 'failed' || (cur && isFinished(s))) return cur;
  const inPhase = s.stepOrder.map((id) => s.steps[id]!).filter((st) => !s.phase || st.phase === s.phase);
  return inPhase.find((st) => st.status === 'pending') ?? cur;
}

/** Latest backfill progress of the focus step (or of whichever backfill ran last). */
export function activeBackfill(s: RunState): { step: StepView; progress: BackfillProgress } | undefined {
  const cur = runningStep(s);
  if (cur?.backfill) return { step: cur, progress: cur.backfill };
  for (let i = s.stepOrder.length - 1; i >= 0; i--) {
    const st = s.steps[s.stepOrder[i]!]!;
    if (st.backfill) return { step: st, progress: st.backfill };
  }
  return undefined;
}

export function isFinished(s: RunState): boolean {
  return s.status === 'completed' || s.status === 'failed' || s.status === 'aborted' || s.status === 'interrupted';
}

// ---- the store ----

export type Overlay = 'none' | 'help' | 'log' | 'confirm-abort' | 'confirm-quit';

export interface UiState {
  run: RunState;
  /** Latest monitor sample. */
  sample?: MonitorSample;
  /** Space freezes the panels: they keep showing `frozenSample` while `sample` moves on. */
  frozen: boolean;
  frozenSample?: MonitorSample;
  /** Requests from InkGates waiting for the operator, oldest first. */
  gates: GateRequest[];
  overlay: Overlay;
  /** A short acknowledgement of the last key (e.g. "batch size → 7,500 from the next batch"). */
  notice?: string;
  /** Start-up status shown before the run emits anything (e.g. "seeding orders: 400k/1M"). */
  status?: string;

  dispatch(e: RunEvent): void;
  pushSample(s: MonitorSample): void;
  openGate(req: GateRequest): void;
  closeGate(id: string): void;
  toggleFreeze(): void;
  setOverlay(o: Overlay): void;
  setNotice(text: string | undefined): void;
  setStatus(text: string | undefined): void;
}

export type UiStore = StoreApi<UiState>;

export function createUiStore(init: { run?: RunState; status?: string } = {}): UiStore {
  return createStore<UiState>()((set, get) => ({
    run: init.run ?? initialRunState(),
    gates: [],
    overlay: 'none',
    frozen: false,
    ...(init.status ? { status: init.status } : {}),
    dispatch: (e) => {
      const prev = get().run;
      const next = reduce(prev, e);
      if (next !== prev) set({ run: next });
    },
    pushSample: (sample) => set({ sample }),
    openGate: (req) => {
      if (get().gates.some((g) => g.id === req.id)) return;
      set({ gates: [...get().gates, req] });
    },
    closeGate: (id) => set({ gates: get().gates.filter((g) => g.id !== id) }),
    toggleFreeze: () =>
      get().frozen ? set({ frozen: false, frozenSample: undefined }) : set({ frozen: true, frozenSample: get().sample }),
    setOverlay: (overlay) => set({ overlay }),
    setNotice: (notice) => set({ notice }),
    setStatus: (status) => set({ status }),
  }));
}

/** What the panels show right now (the frozen sample while frozen). */
export function shownSample(s: UiState): MonitorSample | undefined {
  return s.frozen ? s.frozenSample : s.sample;
}

/** The live metrics next to a gate decision (journaled by the runner through RunnerOptions.metrics). */
export function snapshotMetrics(s: UiState): Record<string, unknown> {
  const bf = activeBackfill(s.run);
  return {
    ...(s.sample ? metricsSnapshot(s.sample) : {}),
    ...(bf
      ? {
          backfill: {
            stepId: bf.step.id,
            rowsDone: bf.progress.rowsDone,
            rowsTotal: bf.progress.rowsTotal,
            rate: bf.progress.rate,
            batchSize: bf.progress.batchSize,
          },
        }
      : {}),
  };
}
