// The typed event stream. The engine emits; the UI store, plain/JSON renderers, the journal,
// reports and the Prometheus exporter listen. Nothing here knows about any listener.
import type { Approver, GateDecision, GateRequest, Evidence } from './gates.js';
import type { Target } from '../pg/connection.js';
import type { ExecutorEvent } from '../pg/executor.js';
import type { PhaseName } from '../runbook/model.js';

export interface BackfillProgress {
  rowsDone: number;
  /** Estimated total from reltuples / the key range; null when unknown. */
  rowsTotal: number | null;
  batches: number;
  batchSize: number;
  pauseMs: number;
  /** Rows per second over a recent window. */
  rate: number;
  etaSeconds: number | null;
  lastBatchMs: number;
  pass: 'main' | 'catch-up' | 'retry';
  paused: boolean;
  throttle: string | null;
  /**
   * Once the main pass was cut in two key ranges: how many workers run now, and the batches and
   * rows each range committed (first worker's, second worker's).
   */
  workers?: { running: number; batches: number[]; rows: number[] };
}

export interface IndexProgress {
  index: string;
  phase: string;
  blocksDone: number;
  blocksTotal: number;
  tuplesDone: number;
  tuplesTotal: number;
  lockersDone: number;
  lockersTotal: number;
  currentLockerPid: number | null;
}

/** What the operator sees about a step before it runs (from the runbook and the kind's plan). */
export interface PlannedStepDetail {
  why?: string;
  /** SQL the step will run, from StepPlan.statements. */
  statements?: string[];
  /** Locks from StepPlan.locks (mode in pg_locks names). */
  locks?: { relation: string; mode: string }[];
  notes?: string[];
}

export type Progress =
  | ({ kind: 'backfill' } & BackfillProgress)
  | ({ kind: 'index' } & IndexProgress)
  | { kind: 'generic'; label: string; done: number; total: number | null };

export type EventBody =
  | {
      type: 'run.started';
      runbook: string;
      file: string;
      target: Target;
      phases: PhaseName[];
      resumed: boolean;
      user: string;
      host: string;
      pid: number;
    }
  | {
      type: 'run.resumed';
      previousStatus: string;
      previousUser: string | null;
      previousHost: string | null;
      previousPid: number | null;
      lastEventAt: string | null;
      note: string;
    }
  | {
      /** `resume --var`: corrected variables for the steps not started yet (values redacted). */
      type: 'run.vars_changed';
      changes: { name: string; old: string; new: string }[];
    }
  | {
      type: 'run.plan';
      steps: { phase: PhaseName; id: string; kind: string; title: string; gate: string; reversible: boolean; detail?: PlannedStepDetail }[];
    }
  | { type: 'phase.started'; phase: PhaseName }
  | { type: 'phase.plan'; phase: PhaseName; summary: string; lines: string[] }
  | { type: 'phase.completed'; phase: PhaseName }
  | { type: 'step.started'; phase: PhaseName; stepId: string; kind: string; title: string; attempt: number }
  | { type: 'step.reconciled'; phase: PhaseName; stepId: string; found: 'done' | 'not-done' | 'unknown'; detail: string }
  // ExecutorEvent carries step.sql, step.retry, step.lock_wait and step.log.
  | ExecutorEvent
  | { type: 'step.progress'; stepId: string; progress: Progress }
  | { type: 'step.throttle'; stepId: string; reason: string | null; detail?: string }
  | { type: 'step.evidence'; stepId: string; evidence: Evidence[] }
  | { type: 'step.completed'; phase: PhaseName; stepId: string; durationMs: number; result?: unknown }
  | { type: 'step.failed'; phase: PhaseName; stepId: string; durationMs: number; error: string; sqlstate?: string; hint?: string }
  | { type: 'step.skipped'; phase: PhaseName; stepId: string; reason: string }
  | { type: 'gate.requested'; request: GateRequest }
  | { type: 'gate.decided'; request: GateRequest; decision: GateDecision; metrics?: Record<string, unknown> }
  | { type: 'approval.waiting'; request: GateRequest; requestId: string; needed: number; operator: Approver }
  | {
      type: 'approval.decided';
      stepId: string;
      gateId: string;
      requestId: string;
      approved: boolean;
      by: Approver;
      reason?: string;
      decidedAt: string;
      /** How the run learnt of it: a NOTIFY, the slow poll, or already on record when the wait began. */
      seenBy: 'notify' | 'poll' | 'record';
      /** Approvals still missing after this one. */
      missing: number;
    }
  | { type: 'run.paused'; reason: string }
  | { type: 'run.unpaused' }
  | { type: 'run.interrupted'; reason: string }
  | { type: 'run.aborted'; reason: string }
  | { type: 'run.completed'; durationMs: number }
  | { type: 'run.failed'; error: string; stepId?: string }
  | {
      type: 'rehearsal.drill';
      fault: 'blocking-transaction' | 'long-transaction' | 'write-burst';
      action: 'injected' | 'released';
      stepId: string;
      detail: string;
    }
  | { type: 'rehearsal.projection'; projection: RehearsalProjection; report?: Record<string, unknown> };

/** The projected deploy on the source's size (`pgrunbook rehearse --json`, last event). */
export interface RehearsalProjection {
  total_seconds: number;
  /** Relative uncertainty of the total (0.2 = ±20%); with an asymmetric band, its wider (upper) side. */
  uncertainty: number;
  /** The total's band, when the projection gives one (it can be asymmetric). */
  low_seconds?: number;
  high_seconds?: number;
  steps: {
    id: string;
    seconds: number;
    low_seconds: number;
    high_seconds: number;
    locks: { relation: string; mode: string }[];
    rewrite: boolean;
    basis: string;
  }[];
}

export type EventType = EventBody['type'];
export type RunEvent = EventBody & { seq: number; at: string; runId: string };
export type EventOf<T extends EventType> = Extract<RunEvent, { type: T }>;
export type Listener = (e: RunEvent) => void;

/** Synchronous fan-out. A throwing listener is isolated so it cannot stop the run. */
export class EventBus {
  private listeners = new Set<Listener>();
  private seq = 0;
  constructor(
    public runId: string,
    private readonly now: () => number = Date.now,
  ) {}

  on(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Continue numbering after events already journaled (resume). */
  startSeqAt(seq: number): void {
    this.seq = seq;
  }

  emit(body: EventBody): RunEvent {
    const e = { ...body, seq: ++this.seq, at: new Date(this.now()).toISOString(), runId: this.runId } as RunEvent;
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        process.emitWarning(`pgrunbook listener failed on ${e.type}: ${(err as Error).message}`);
      }
    }
    return e;
  }
}
