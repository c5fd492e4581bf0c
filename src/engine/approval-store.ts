// Approval requests and decisions in pgrunbook.approval_*: the waiting run opens and closes
// requests; `pgrunbook approve|reject` and `status` read them and add decisions. A decision commits
// together with a NOTIFY on APPROVAL_CHANNEL, which is what wakes the waiting run.
import type pg from 'pg';
import type { Queryable } from '../pg/queryable.js';
import { sqlText } from '../pg/sql-files.js';
import type { Approver, GateRequest } from './gates.js';

export const APPROVAL_CHANNEL = 'pgrunbook_approvals';
const sql = (name: string): string => sqlText('engine/sql', name);

export interface DecisionRow {
  decision_id: string;
  approved: boolean;
  reason: string | null;
  os_user: string;
  host: string;
  db_role: string;
  decided_at: string;
}

export interface PendingApproval {
  request_id: string;
  run_id: string;
  step_id: string;
  gate_id: string;
  needed: number;
  request: GateRequest;
  operator_user: string;
  operator_host: string;
  operator_role: string;
  requested_at: Date;
  decisions: { approved: boolean; user: string; host: string; role: string; reason: string | null }[];
}

/** The gate's open request (made now, or left open by a previous process of this run) and the operator's login role. */
export async function openApprovalRequest(
  db: Queryable,
  runId: string,
  req: GateRequest,
  needed: number,
  operator: { user: string; host: string },
): Promise<{ requestId: string; role: string }> {
  const r = await db.query<{ request_id: string; role: string }>(sql('approval-open'), [
    runId,
    req.id,
    req.stepId,
    needed,
    JSON.stringify(req),
    operator.user,
    operator.host,
  ]);
  return { requestId: r.rows[0]!.request_id, role: r.rows[0]!.role };
}

export async function approvalDecisions(db: Queryable, requestId: string): Promise<DecisionRow[]> {
  return (await db.query<DecisionRow>(sql('approval-decisions'), [requestId])).rows;
}

export async function closeApprovalRequest(
  db: Queryable,
  requestId: string,
  outcome: 'approved' | 'rejected' | 'timed out',
): Promise<void> {
  await db.query(sql('approval-close'), [requestId, outcome]);
}

/** Open requests: of one run, or of every run when runId is null. */
export async function pendingApprovals(db: Queryable, runId: string | null): Promise<PendingApproval[]> {
  return (await db.query<PendingApproval>(sql('approval-pending'), [runId])).rows;
}

/**
 * Records one decision and notifies the waiting run, in one transaction: a process that dies before
 * COMMIT leaves nothing behind. Returns false when nothing was recorded (the request closed meanwhile,
 * this person already decided, or it is the operator's own identity).
 */
export async function recordDecision(
  client: pg.ClientBase,
  requestId: string,
  decision: { approved: boolean; reason?: string; by: Omit<Approver, 'role'> },
): Promise<boolean> {
  await client.query('BEGIN');
  try {
    const r = await client.query<{ decision_id: string; run_id: string }>(sql('approval-decide'), [
      requestId,
      decision.approved,
      decision.reason ?? null,
      decision.by.user,
      decision.by.host,
    ]);
    if (r.rows.length) await client.query('SELECT pg_notify($1, $2)', [APPROVAL_CHANNEL, r.rows[0]!.run_id]);
    await client.query('COMMIT');
    return r.rows.length > 0;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
