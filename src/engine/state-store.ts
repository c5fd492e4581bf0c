// Runs and step states in pgrunbook.*: what the runner writes at each transition, and what
// resume, status and reports read back.
import type { Queryable } from '../pg/queryable.js';
import { sqlText } from '../pg/sql-files.js';
import type { PhaseName } from '../runbook/model.js';
import type { StoredVars } from '../runbook/secret-vars.js';

const stateSql = (name: string): string => sqlText('engine/sql', `state-${name}`);

type Q = Queryable;

export type RunStatus = 'running' | 'completed' | 'failed' | 'aborted' | 'interrupted';
export type StepStatus = 'running' | 'completed' | 'failed' | 'skipped' | 'rolled_back';

export interface RunRow {
  run_id: string;
  runbook_name: string;
  runbook_file: string;
  runbook_sha256: string;
  runbook_source: string;
  /** Plain values, and for a secret variable only where to read it again ({ from_env, secret }). */
  vars: StoredVars;
  phases: PhaseName[];
  status: RunStatus;
  started_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  os_user: string | null;
  host: string | null;
  pid: number | null;
  backend_pid: number | null;
  error: string | null;
}

export interface StepRow {
  run_id: string;
  phase: PhaseName;
  step_id: string;
  kind: string;
  status: StepStatus;
  attempt: number;
  started_at: Date;
  finished_at: Date | null;
  result: unknown;
  state: Record<string, unknown> | null;
  error: string | null;
}

export async function insertRun(db: Q, r: Omit<RunRow, 'started_at' | 'updated_at' | 'finished_at' | 'error' | 'status'>): Promise<void> {
  await db.query(stateSql('run-insert'), [
    r.run_id,
    r.runbook_name,
    r.runbook_file,
    r.runbook_sha256,
    r.runbook_source,
    JSON.stringify(r.vars),
    r.phases,
    r.os_user,
    r.host,
    r.pid,
    r.backend_pid,
  ]);
}

export async function markRunResumed(
  db: Q,
  runId: string,
  who: { os_user: string; host: string; pid: number; backend_pid: number },
): Promise<void> {
  await db.query(stateSql('run-resumed'), [runId, who.os_user, who.host, who.pid, who.backend_pid]);
}

export async function finishRun(db: Q, runId: string, status: RunStatus, error?: string): Promise<void> {
  await db.query(stateSql('run-finish'), [runId, status, error ?? null]);
}

export async function getRun(db: Q, runId: string): Promise<RunRow | undefined> {
  const r = await db.query<RunRow>(stateSql('run-get'), [runId]);
  return r.rows[0];
}

/** The most recent run that did not finish (running with a dead holder, interrupted, aborted, failed). */
export async function latestUnfinishedRun(db: Q): Promise<RunRow | undefined> {
  const r = await db.query<RunRow>(stateSql('run-latest-unfinished'));
  return r.rows[0];
}

export async function listRuns(db: Q, limit = 20): Promise<RunRow[]> {
  const r = await db.query<RunRow>(stateSql('run-list'), [limit]);
  return r.rows;
}

export async function stepRows(db: Q, runId: string): Promise<StepRow[]> {
  const r = await db.query<StepRow>(stateSql('step-rows'), [runId]);
  return r.rows;
}

export async function markStepRunning(db: Q, runId: string, phase: PhaseName, stepId: string, kind: string): Promise<number> {
  const r = await db.query<{ attempt: number }>(stateSql('step-running'), [runId, phase, stepId, kind]);
  return r.rows[0]!.attempt;
}

export async function markStep(
  db: Q,
  runId: string,
  phase: PhaseName,
  stepId: string,
  status: StepStatus,
  extra: { result?: unknown; error?: string } = {},
): Promise<void> {
  await db.query(stateSql('step-mark'), [
    runId,
    phase,
    stepId,
    status,
    extra.result === undefined ? null : JSON.stringify(extra.result),
    extra.error ?? null,
  ]);
}

export async function getStepState(db: Q, runId: string, phase: PhaseName, stepId: string): Promise<Record<string, unknown> | undefined> {
  const r = await db.query<{ state: Record<string, unknown> | null }>(stateSql('step-state-get'), [runId, phase, stepId]);
  return r.rows[0]?.state ?? undefined;
}

export async function setStepState(
  db: Q,
  runId: string,
  phase: PhaseName,
  stepId: string,
  kind: string,
  state: Record<string, unknown>,
): Promise<void> {
  await db.query(stateSql('step-state-set'), [runId, phase, stepId, kind, JSON.stringify(state)]);
}

/** The run whose completed deploy steps a rollback should compensate: this one, or the latest of the runbook. */
export async function runToRollBack(db: Q, runId: string, runbookName: string): Promise<string | undefined> {
  const r = await db.query<{ run_id: string }>(stateSql('run-to-roll-back'), [runId, runbookName]);
  return r.rows[0]?.run_id;
}

/** The highest event number journaled for a run (0 when none): a resumed run numbers on from there. */
export async function lastEventSeq(db: Q, runId: string): Promise<number> {
  const r = await db.query<{ m: number | null }>(stateSql('event-last-seq'), [runId]);
  return r.rows[0]?.m ?? 0;
}

/** When the run's last journaled event happened, as text (null when none). */
export async function lastEventAt(db: Q, runId: string): Promise<string | null> {
  const r = await db.query<{ at: string | null }>(stateSql('event-last-at'), [runId]);
  return r.rows[0]?.at ?? null;
}
