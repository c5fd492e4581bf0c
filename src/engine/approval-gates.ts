// Second-person approval as a gate port: after the operator's own answer, a gate that needs
// approvers waits until enough other people approve with `pgrunbook approve` (or one rejects). The
// run wakes on the NOTIFY that commits with each decision; a slow poll covers a lost LISTEN session.
// `--yes` answers only the operator's part: nothing here can be satisfied by the run itself.
import type pg from 'pg';
import type { Clock } from '../util/clock.js';
import { formatMs } from '../util/units.js';
import type { Queryable } from '../pg/queryable.js';
import { APPROVAL_CHANNEL, approvalDecisions, closeApprovalRequest, openApprovalRequest, type DecisionRow } from './approval-store.js';
import type { EventBody } from './events.js';
import { approverText, sameApprover, type Approver, type GateDecision, type GatePort, type GateRequest } from './gates.js';
import type { Identity } from './operator-identity.js';

/** The safety net when no NOTIFY arrives (lost LISTEN session): how often the run reads the decisions. */
export const APPROVAL_POLL_MS = 15_000;

export interface ApprovalDeps {
  /** The run's pool (open by the time a gate is asked). */
  db: () => Queryable;
  /** A new, unconnected session for LISTEN. */
  listenClient: () => pg.Client;
  runId: string;
  operator: Identity;
  emit: (b: EventBody) => void;
  clock: Clock;
  /** settings.approval_timeout; none = wait until someone decides or the operator stops the run. */
  timeoutMs?: number;
  pollMs?: number;
}

export function approvalGates(inner: GatePort, deps: ApprovalDeps): GatePort {
  return {
    async request(req, signal) {
      const own = await inner.request(req, signal);
      if (!own.approved || !req.approvers) return own;
      return new ApprovalWait(deps, req, own, signal).run();
    },
  };
}

class ApprovalWait {
  private listener?: pg.Client;
  private listening = false;
  private lostReported = false;
  private closing = false;
  /** A NOTIFY that arrived while the run was reading the decisions. */
  private notified = false;
  private wake?: () => void;
  private readonly seen = new Set<string>();
  private operator!: Approver;
  private requestId!: string;

  constructor(
    private readonly deps: ApprovalDeps,
    private readonly req: GateRequest,
    private readonly own: GateDecision,
    private readonly signal: AbortSignal,
  ) {}

  async run(): Promise<GateDecision> {
    const { deps, req } = this;
    const needed = req.approvers!;
    const opened = await openApprovalRequest(deps.db(), deps.runId, req, needed, deps.operator);
    this.requestId = opened.requestId;
    this.operator = { user: deps.operator.user, host: deps.operator.host, role: opened.role };
    await this.listen();
    deps.emit({ type: 'approval.waiting', request: req, requestId: this.requestId, needed, operator: this.operator });
    const deadline = deps.timeoutMs !== undefined ? deps.clock.now() + deps.timeoutMs : undefined;
    try {
      let seenBy: 'record' | 'notify' | 'poll' = 'record';
      for (;;) {
        const verdict = await this.check(needed, seenBy);
        if (verdict) return verdict;
        const left = deadline === undefined ? Number.POSITIVE_INFINITY : deadline - deps.clock.now();
        if (left <= 0) return await this.timedOut();
        if (!this.listening) await this.listen();
        seenBy = await this.sleep(Math.min(deps.pollMs ?? APPROVAL_POLL_MS, left));
      }
    } finally {
      this.wake = undefined;
      this.closing = true;
      await this.listener?.end().catch(() => {});
    }
  }

  /** Reads the decisions; emits each new one; returns the verdict once there is one. */
  private async check(needed: number, seenBy: 'record' | 'notify' | 'poll'): Promise<GateDecision | undefined> {
    const rows = (await approvalDecisions(this.deps.db(), this.requestId)).filter((d) => !sameApprover(this.operator, who(d)));
    const approvals = rows.filter((d) => d.approved);
    for (const d of rows) {
      if (this.seen.has(d.decision_id)) continue;
      this.seen.add(d.decision_id);
      const before = approvals.filter((a) => Number(a.decision_id) <= Number(d.decision_id)).length;
      this.deps.emit({
        type: 'approval.decided',
        stepId: this.req.stepId,
        gateId: this.req.id,
        requestId: this.requestId,
        approved: d.approved,
        by: who(d),
        ...(d.reason ? { reason: d.reason } : {}),
        decidedAt: d.decided_at,
        seenBy,
        missing: Math.max(0, needed - before),
      });
    }
    const rejection = rows.find((d) => !d.approved);
    if (rejection) {
      await closeApprovalRequest(this.deps.db(), this.requestId, 'rejected');
      const by = approverText(who(rejection));
      return { approved: false, by, reason: `rejected by ${by}${rejection.reason ? `: ${rejection.reason}` : ''}` };
    }
    if (approvals.length < needed) return undefined;
    await closeApprovalRequest(this.deps.db(), this.requestId, 'approved');
    return { approved: true, by: `${this.own.by}; approved by ${approvals.map((a) => approverText(who(a))).join(', ')}` };
  }

  private async timedOut(): Promise<GateDecision> {
    await closeApprovalRequest(this.deps.db(), this.requestId, 'timed out');
    return {
      approved: false,
      by: 'policy',
      reason: `no approval within settings.approval_timeout (${formatMs(this.deps.timeoutMs!)}); resume the run to ask again`,
    };
  }

  /** Waits for a NOTIFY for this run or the poll interval; rejects when the run is stopped. */
  private sleep(ms: number): Promise<'notify' | 'poll'> {
    if (this.notified) {
      this.notified = false;
      return Promise.resolve('notify');
    }
    const stop = new AbortController();
    return new Promise((resolve, reject) => {
      this.wake = () => {
        stop.abort();
        resolve('notify');
      };
      this.deps.clock.sleep(ms, AbortSignal.any([stop.signal, this.signal])).then(
        () => resolve('poll'),
        (err) => (this.signal.aborted ? reject(this.signal.reason ?? err) : undefined),
      );
    }).finally(() => {
      this.wake = undefined;
      this.notified = false;
    }) as Promise<'notify' | 'poll'>;
  }

  private async listen(): Promise<void> {
    await this.listener?.end().catch(() => {});
    const client = this.deps.listenClient();
    this.listener = client;
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (n) => {
      if (n.channel !== APPROVAL_CHANNEL || n.payload !== this.deps.runId) return;
      if (this.wake) this.wake();
      else this.notified = true;
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${APPROVAL_CHANNEL}`);
      this.listening = true;
    } catch {
      this.lost(client);
    }
  }

  private lost(client: pg.Client): void {
    if (client !== this.listener || this.closing) return;
    this.listening = false;
    if (this.lostReported) return;
    this.lostReported = true;
    const every = formatMs(this.deps.pollMs ?? APPROVAL_POLL_MS);
    this.deps.emit({
      type: 'step.log',
      stepId: this.req.stepId,
      level: 'warn',
      message: `lost the session that listens for approvals; reading decisions every ${every} until it is back`,
    });
  }
}

function who(d: DecisionRow): Approver {
  return { user: d.os_user, host: d.host, role: d.db_role };
}
