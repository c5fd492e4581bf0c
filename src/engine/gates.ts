// Gates: the engine asks a port and awaits a decision. The Ink UI, the non-interactive policy
// (--yes / --allow-irreversible) and tests implement the port.
import type { GateLevel, Runbook, StepSpec } from '../runbook/model.js';

export interface Evidence {
  label: string;
  value: string | number | boolean | null;
  /** true = supports proceeding, false = argues against, undefined = informational. */
  ok?: boolean;
  detail?: string;
}

export interface GateRequest {
  /** Unique per request within a run (stepId plus a suffix for mid-step gates). */
  id: string;
  stepId: string;
  level: Exclude<GateLevel, 'none'>;
  title: string;
  /** What approving will do, in one or two sentences. */
  action: string;
  /** Strongest lock the action takes, in pg_locks names (e.g. AccessExclusiveLock). */
  lockMode?: string;
  /** For `type` gates: the text the operator must type (usually the table name). */
  expectText?: string;
  evidence: Evidence[];
  /** Optional extra choices (e.g. retry/abort when lock retries run out). Default: approve/reject. */
  choices?: string[];
  /** People other than the operator who must approve after the operator does (`pgrunbook approve`). */
  approvers?: number;
}

export interface GateDecision {
  approved: boolean;
  /** Chosen option when the request had `choices`. */
  choice?: string;
  /** Who decided: an OS user, or "--yes" for the non-interactive policy. */
  by: string;
  reason?: string;
}

/** What the operator answered to a request (the UI sends it; the rules below decide if it counts). */
export interface GateAnswer {
  approved: boolean;
  /** The chosen option when the request had `choices`. */
  choice?: string;
  reason?: string;
  /** For `type` gates: what the operator typed (checked against expectedText). */
  typed?: string;
}

/** Whether an approving answer satisfies the request (type gates need the exact text, choices a valid one). */
export function acceptable(req: GateRequest, answer: GateAnswer): boolean {
  if (req.choices?.length && (answer.choice === undefined || !req.choices.includes(answer.choice))) return false;
  if (req.level === 'type') return answer.typed !== undefined && answer.typed === expectedText(req);
  return true;
}

/** What a `type` gate wants typed: expectText (the table name), else the step id. */
export function expectedText(req: GateRequest): string {
  return req.expectText && req.expectText.length > 0 ? req.expectText : req.stepId;
}

/**
 * How many approvers a step's gate needs: the step's own `gate: { approvers: N }`, else
 * runbook-wide `settings.approvals` for irreversible steps (`type` gates). Undoing a step in the
 * rollback phase never waits for approvers: getting back to safety must not depend on a second person.
 */
export function approversFor(step: StepSpec, runbook: Runbook, level: GateLevel, undo = false): number {
  if (undo || level === 'none') return 0;
  if (step.approvers !== undefined) return step.approvers;
  return level === 'type' ? (runbook.integrations?.approvals ?? 0) : 0;
}

/** Who takes part in an approval: the OS user and host of the process, and its database login role. */
export interface Approver {
  user: string;
  host: string;
  role: string;
}

/**
 * Whether two identities are the same person for an approval. A different OS user or a different
 * database role makes another person; the same user and role on another host does not.
 */
export function sameApprover(a: Approver, b: Approver): boolean {
  return a.user === b.user && a.role === b.role;
}

export function approverText(a: Approver): string {
  return `${a.user}@${a.host} (role ${a.role})`;
}

export interface GatePort {
  request(req: GateRequest, signal: AbortSignal): Promise<GateDecision>;
}

/** Non-interactive policy: never prompts (DESIGN §4). */
export class PolicyGates implements GatePort {
  constructor(private readonly opts: { yes: boolean; allowIrreversible: boolean; user: string }) {}
  async request(req: GateRequest): Promise<GateDecision> {
    if (req.choices?.length) {
      // Mid-step questions (retry after lock timeouts...) cannot be answered unattended.
      return { approved: false, by: 'policy', reason: 'non-interactive run: no operator to answer; stopping safely' };
    }
    if (req.level === 'confirm') {
      return this.opts.yes
        ? { approved: true, by: `${this.opts.user} (--yes)` }
        : { approved: false, by: 'policy', reason: 'confirm gate in a non-interactive run: pass --yes to approve confirm gates' };
    }
    if (this.opts.yes && this.opts.allowIrreversible) return { approved: true, by: `${this.opts.user} (--yes --allow-irreversible)` };
    return {
      approved: false,
      by: 'policy',
      reason: 'irreversible step (type gate) in a non-interactive run: pass --yes --allow-irreversible to approve it',
    };
  }
}

/** Wraps a port so every question and answer goes onto the event stream (and so into the journal). */
export function journaledGates(
  port: GatePort,
  emit: (
    b:
      | { type: 'gate.requested'; request: GateRequest }
      | { type: 'gate.decided'; request: GateRequest; decision: GateDecision; metrics?: Record<string, unknown> },
  ) => void,
  metrics?: () => Record<string, unknown> | undefined,
): GatePort {
  return {
    async request(req, signal) {
      emit({ type: 'gate.requested', request: req });
      const decision = await port.request(req, signal);
      emit({ type: 'gate.decided', request: req, decision, metrics: metrics?.() });
      return decision;
    },
  };
}
