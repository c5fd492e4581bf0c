// Which events a channel hears about, in words. The listener keeps the run's context (name,
// database), the steps that cannot be undone, and throttles that last long enough to matter.
import type { RunEvent } from '../../engine/events.js';
import type { Evidence } from '../../engine/gates.js';
import { lockSqlName } from '../../pg/lock-modes.js';
import { redact } from '../../util/secrets.js';

export type NotifyKind =
  | 'gate_waiting'
  | 'gate_decided'
  | 'approval_waiting'
  | 'approval_given'
  | 'approval_refused'
  | 'step_failed'
  | 'throttled'
  | 'point_of_no_return'
  | 'run_completed'
  | 'run_failed'
  | 'run_aborted'
  | 'run_interrupted';

export interface Notification {
  kind: NotifyKind;
  runId: string;
  runbook: string;
  database: string;
  stepId?: string;
  at: string;
  /** One line: what happened. */
  text: string;
  /** Further lines: evidence, error, reason. No links. */
  details: string[];
}

export interface FeedOptions {
  /** A backfill held back this long (continuously) is announced once. */
  throttleNoticeMs: number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

const defaultTimer = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return { cancel: () => clearTimeout(t) };
};

export function evidenceLines(evidence: Evidence[]): string[] {
  return evidence.map((e) => {
    const mark = e.ok === true ? 'ok' : e.ok === false ? 'AGAINST' : '-';
    return `${mark} ${e.label}: ${e.value === null ? 'n/a' : String(e.value)}${e.detail ? ` (${e.detail})` : ''}`;
  });
}

type Message = Omit<Notification, 'runId' | 'runbook' | 'database' | 'at'>;
type GateEvent = Extract<RunEvent, { type: 'gate.requested' | 'gate.decided' | 'approval.waiting' | 'approval.decided' }>;
type RunEndEvent = Extract<RunEvent, { type: 'run.completed' | 'run.failed' | 'run.aborted' | 'run.interrupted' }>;

/** A gate or a second person's approval: waiting, or decided and by whom. */
function gateMessage(e: GateEvent, runbook: string): Message {
  switch (e.type) {
    case 'gate.requested': {
      const r = e.request;
      const text = `${runbook}: gate waiting at step ${r.stepId}: ${r.title}`;
      return {
        kind: 'gate_waiting',
        stepId: r.stepId,
        text,
        details: [r.action, ...(r.lockMode ? [`takes ${lockSqlName(r.lockMode)}`] : []), ...evidenceLines(r.evidence)],
      };
    }
    case 'gate.decided': {
      const d = e.decision;
      const verdict = d.approved ? `approved${d.choice ? ` (${d.choice})` : ''}` : 'rejected';
      const text = `${runbook}: step ${e.request.stepId} ${verdict} by ${d.by}`;
      return { kind: 'gate_decided', stepId: e.request.stepId, text, details: d.reason ? [`reason: ${d.reason}`] : [] };
    }
    case 'approval.waiting': {
      const r = e.request;
      const op = `${e.operator.user}@${e.operator.host}`;
      return {
        kind: 'approval_waiting',
        stepId: r.stepId,
        text: `${runbook}: step ${r.stepId} waits for approval by someone other than ${op}: pgrunbook approve ${e.runId} ${r.stepId}`,
        details: [r.action, ...(r.lockMode ? [`takes ${lockSqlName(r.lockMode)}`] : []), ...evidenceLines(r.evidence)],
      };
    }
    case 'approval.decided': {
      const by = `${e.by.user}@${e.by.host} (role ${e.by.role})`;
      return {
        kind: e.approved ? 'approval_given' : 'approval_refused',
        stepId: e.stepId,
        text: `${runbook}: step ${e.stepId} ${e.approved ? 'approved' : 'refused'} by ${by}`,
        details: [
          ...(e.reason ? [`reason: ${e.reason}`] : []),
          ...(e.approved && e.missing ? [`${e.missing} more approval(s) needed`] : []),
        ],
      };
    }
  }
}

/** How the run ended. */
function runEndMessage(e: RunEndEvent, runbook: string): Message {
  switch (e.type) {
    case 'run.completed':
      return { kind: 'run_completed', text: `${runbook}: run completed in ${Math.round(e.durationMs / 1000)} s`, details: [] };
    case 'run.failed':
      return {
        kind: 'run_failed',
        stepId: e.stepId,
        text: `${runbook}: run failed${e.stepId ? ` at step ${e.stepId}` : ''}`,
        details: [e.error],
      };
    case 'run.aborted':
      return { kind: 'run_aborted', text: `${runbook}: run aborted`, details: [e.reason] };
    case 'run.interrupted':
      return { kind: 'run_interrupted', text: `${runbook}: run interrupted (resumable)`, details: [e.reason] };
  }
}

/** Turns events into notifications and hands them to `send`. */
export class NotificationFeed {
  private runbook = '';
  private database = '';
  private readonly irreversible = new Set<string>();
  private readonly throttles = new Map<string, { cancel(): void }>();
  private readonly setTimer: NonNullable<FeedOptions['setTimer']>;
  private readonly now: () => number;

  constructor(
    private readonly send: (n: Notification) => void,
    private readonly opts: FeedOptions,
  ) {
    this.setTimer = opts.setTimer ?? defaultTimer;
    this.now = opts.now ?? Date.now;
  }

  readonly listener = (e: RunEvent): void => {
    const n = this.describe(e);
    if (n)
      this.send({
        runId: e.runId,
        runbook: this.runbook,
        database: this.database,
        at: e.at,
        ...n,
        text: redact(n.text),
        details: n.details.map(redact),
      });
  };

  private describe(e: RunEvent): Message | undefined {
    switch (e.type) {
      case 'run.started':
        this.runbook = e.runbook;
        this.database = e.target.database;
        return undefined;
      case 'run.plan':
        for (const s of e.steps) if (!s.reversible && s.phase === 'deploy') this.irreversible.add(s.id);
        return undefined;
      case 'gate.requested':
      case 'gate.decided':
      case 'approval.waiting':
      case 'approval.decided':
        return gateMessage(e, this.runbook);
      case 'step.failed':
        this.stopThrottle(e.stepId);
        return {
          kind: 'step_failed',
          stepId: e.stepId,
          text: `${this.runbook}: step ${e.stepId} failed (${e.phase})`,
          details: [e.error, ...(e.hint ? [`hint: ${e.hint}`] : [])],
        };
      case 'step.throttle':
        if (e.reason) this.startThrottle(e.stepId, e.reason, e.detail, e.runId, e.at);
        else this.stopThrottle(e.stepId);
        return undefined;
      case 'step.completed':
        this.stopThrottle(e.stepId);
        if (!this.irreversible.delete(e.stepId)) return undefined;
        return {
          kind: 'point_of_no_return',
          stepId: e.stepId,
          text: `${this.runbook}: point of no return passed: step ${e.stepId} cannot be undone`,
          details: [],
        };
      case 'run.completed':
      case 'run.failed':
      case 'run.aborted':
      case 'run.interrupted':
        this.stopAll();
        return runEndMessage(e, this.runbook);
      default:
        return undefined;
    }
  }

  private startThrottle(stepId: string, reason: string, detail: string | undefined, runId: string, at: string): void {
    if (this.throttles.has(stepId)) return;
    const since = this.now();
    const minutes = Math.round(this.opts.throttleNoticeMs / 60_000);
    const timer = this.setTimer(() => {
      const text = redact(
        `${this.runbook}: step ${stepId} has been throttled for ${minutes >= 1 ? `${minutes} min` : `${Math.round((this.now() - since) / 1000)} s`}`,
      );
      this.send({
        kind: 'throttled',
        runId,
        runbook: this.runbook,
        database: this.database,
        stepId,
        at: new Date(this.now()).toISOString(),
        text,
        details: [redact(`${reason}${detail ? `: ${detail}` : ''}`), `since ${at}`],
      });
    }, this.opts.throttleNoticeMs);
    this.throttles.set(stepId, timer);
  }

  private stopThrottle(stepId: string): void {
    this.throttles.get(stepId)?.cancel();
    this.throttles.delete(stepId);
  }

  stopAll(): void {
    for (const id of [...this.throttles.keys()]) this.stopThrottle(id);
  }
}
