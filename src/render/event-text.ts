// The one event-to-text formatter: the TUI log (ui/store.ts) and the plain renderer word every event
// the same way. A line names its step first ("add_col: done in 1.2s") because the TUI log has no step
// column. Everything passes through redact(): a password must never reach a screen or a pipe.
import type { RunEvent } from '../engine/events.js';
import { describeTarget } from '../pg/connection.js';
import { redact } from '../util/secrets.js';
import { formatMs, oneLine } from '../util/units.js';
import { lockSqlName } from '../pg/lock-modes.js';

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogText {
  level: LogLevel;
  text: string;
  stepId?: string;
  /** Lines under the main one (the whole deploy plan); the plain renderer prints them, the TUI log does not. */
  more?: string[];
}

export function eventText(e: RunEvent): LogText | undefined {
  const line = /^(step|gate|approval)\./.test(e.type) ? stepText(e) : runText(e);
  if (!line) return undefined;
  const out: LogText = { ...line, text: redact(line.text) };
  if (line.more) out.more = line.more.map(redact);
  return out;
}

/** Events of the whole run and its phases. */
function runText(e: RunEvent): LogText | undefined {
  const info = (text: string): LogText => ({ level: 'info', text });
  switch (e.type) {
    case 'run.started':
      return info(
        `run ${e.runId} ${e.resumed ? 'resumed' : 'started'}: ${e.runbook} on ${describeTarget(e.target)}${
          e.target.serverVersion ? ` (PostgreSQL ${e.target.serverVersion})` : ''
        } by ${e.user}@${e.host}`,
      );
    case 'run.resumed':
      return { level: 'warn', text: `resuming: ${e.note}` };
    case 'run.vars_changed':
      return {
        level: 'warn',
        text: `variables corrected at resume, for the steps not started yet: ${e.changes.map((c) => `${c.name}: "${c.old}" -> "${c.new}"`).join(', ')}`,
      };
    case 'run.plan': {
      const phases = new Set(e.steps.map((s) => s.phase)).size;
      const list = e.steps.map((s) => `${s.phase}/${s.id}${s.gate !== 'none' ? `[${s.gate}]` : ''}`).join(', ');
      return info(`plan: ${e.steps.length} step(s) in ${phases} phase(s)${list ? `: ${list}` : ''}`);
    }
    case 'phase.started':
      return info(`== phase ${e.phase} ==`);
    case 'phase.completed':
      return info(`phase ${e.phase} completed`);
    case 'phase.plan':
      return { level: 'info', text: `${e.phase} plan: ${e.summary}`, more: e.lines.filter((l) => l.trim()) };
    case 'run.paused':
      return { level: 'warn', text: `paused: ${e.reason}` };
    case 'run.unpaused':
      return info('resumed after pause');
    case 'run.interrupted':
      return {
        level: 'warn',
        text: `run interrupted: ${e.reason}. Resume with: pgrunbook resume ${e.runId} (the run is resumable from any machine)`,
      };
    case 'run.aborted':
      return { level: 'error', text: `run aborted: ${e.reason}. Resume with: pgrunbook resume ${e.runId}` };
    case 'run.completed':
      return info(`run ${e.runId} completed in ${formatMs(e.durationMs)}`);
    case 'run.failed':
      return {
        level: 'error',
        text: `run ${e.runId} FAILED${e.stepId ? ` at ${e.stepId}` : ''}: ${e.error}. Fix the cause, then: pgrunbook resume ${e.runId} (if a --var was wrong: pgrunbook resume ${e.runId} --var name=value corrects it for the steps that have not started; a variable a started step used needs a new run)`,
      };
    default:
      return undefined;
  }
}

/** Events of one step (and its gates): "<step>: <what happened>". */
function stepText(e: RunEvent): LogText | undefined {
  const body = stepBody(e);
  if (!body) return undefined;
  const stepId = 'stepId' in e ? e.stepId : 'request' in e ? e.request.stepId : undefined;
  if (!stepId || stepId === '-') return body;
  return { ...body, stepId, text: `${stepId}: ${body.text}` };
}

function stepBody(e: RunEvent): LogText | undefined {
  const info = (text: string): LogText => ({ level: 'info', text });
  switch (e.type) {
    case 'step.started':
      return info(`started (${e.kind}${e.attempt > 1 ? `, attempt ${e.attempt}` : ''}) ${e.title !== e.stepId ? e.title : ''}`.trimEnd());
    case 'step.reconciled':
      return info(`reconciled with the database: ${e.found} (${e.detail})`);
    case 'step.sql':
      return e.ok
        ? info(`ok in ${formatMs(e.durationMs)}${e.rowCount !== null ? `, ${e.rowCount} row(s)` : ''}: ${oneLine(e.sql, 200)}`)
        : {
            level: 'error',
            text: `ERROR${e.sqlstate ? ` [${e.sqlstate}]` : ''} after ${formatMs(e.durationMs)}: ${e.error ?? ''} — ${oneLine(e.sql, 120)}`,
          };
    case 'step.retry':
      return { level: 'warn', text: `retry ${e.attempt}/${e.of} in ${formatMs(e.delayMs)}: ${e.reason}` };
    case 'step.lock_wait': {
      const on =
        e.lockType === 'relation' ? `${lockSqlName(e.mode)} on ${e.relation ?? '?'}` : `${lockSqlName(e.mode)} (${e.lockType} lock)`;
      const who = (pid: number) => (e.blockerDetails?.[pid] ? `${pid} (${e.blockerDetails[pid]})` : `${pid}`);
      const behind = e.blockers.length ? ` behind pid ${e.blockers.map(who).join(', ')}` : '';
      return { level: 'warn', text: `waited ${formatMs(e.waitedMs)} for ${on}${behind}, then got it` };
    }
    case 'step.log':
      return { level: e.level, text: `${e.level === 'info' ? '' : `${e.level}: `}${e.stream ? `[${e.stream}] ` : ''}${e.message}` };
    case 'step.progress':
      return info(progressText(e));
    case 'step.throttle':
      return e.reason ? { level: 'warn', text: `throttle: ${e.reason}${e.detail ? ` (${e.detail})` : ''}` } : info('throttle cleared');
    case 'step.evidence':
      return {
        level: e.evidence.some((x) => x.ok === false) ? 'warn' : 'info',
        text: `evidence: ${e.evidence.map((x) => `${x.label}=${String(x.value)}${x.ok === false ? ' (!)' : ''}`).join('; ')}`,
      };
    case 'step.completed':
      return info(`done in ${formatMs(e.durationMs)}`);
    case 'step.failed':
      return {
        level: 'error',
        text: `FAILED after ${formatMs(e.durationMs)}: ${e.error}${e.sqlstate ? ` [${e.sqlstate}]` : ''}${e.hint ? ` — hint: ${e.hint}` : ''}`,
      };
    case 'step.skipped':
      return info(`skipped (${e.reason})`);
    case 'gate.requested': {
      const r = e.request;
      return { level: 'warn', text: `gate (${r.level}) ${r.title}: ${r.action}${r.lockMode ? ` [takes ${lockSqlName(r.lockMode)}]` : ''}` };
    }
    case 'gate.decided': {
      const d = e.decision;
      return {
        level: d.approved ? 'info' : 'warn',
        text: `gate ${d.approved ? 'approved' : 'declined'}${d.choice ? ` (${d.choice})` : ''} by ${d.by}${d.reason ? `: ${d.reason}` : ''}`,
      };
    }
    case 'approval.waiting':
    case 'approval.decided':
      return approvalText(e);
    default:
      return undefined;
  }
}

/** Second-person approval: what the waiting run shows, with the evidence and the command to run. */
function approvalText(e: Extract<RunEvent, { type: 'approval.waiting' | 'approval.decided' }>): LogText {
  if (e.type === 'approval.decided') {
    const by = `${e.by.user}@${e.by.host} (role ${e.by.role})`;
    const verdict = e.approved ? 'approved' : 'REJECTED';
    const missing = e.approved && e.missing > 0 ? `; ${e.missing} more approval(s) needed` : '';
    return { level: e.approved ? 'info' : 'warn', text: `${verdict} by ${by}${e.reason ? `: ${e.reason}` : ''}${missing}` };
  }
  const r = e.request;
  const people = e.needed === 1 ? 'another engineer' : `${e.needed} other engineers`;
  return {
    level: 'warn',
    text: `waiting for approval from ${people}: pgrunbook approve ${e.runId} ${r.stepId} (or reject ... --reason TEXT)`,
    more: [
      `${r.title}: ${r.action}${r.lockMode ? ` [takes ${lockSqlName(r.lockMode)}]` : ''}`,
      ...r.evidence.map((x) => `${x.label}: ${String(x.value)}${x.ok === false ? ' (!)' : ''}${x.detail ? ` (${x.detail})` : ''}`),
      `operator: ${e.operator.user}@${e.operator.host} (role ${e.operator.role}) cannot approve their own gate`,
    ],
  };
}

function progressText(e: Extract<RunEvent, { type: 'step.progress' }>): string {
  const p = e.progress;
  if (p.kind === 'backfill') {
    const pct = p.rowsTotal ? ` (${Math.min(100, (100 * p.rowsDone) / p.rowsTotal).toFixed(1)}%)` : '';
    const eta = p.etaSeconds != null ? `, ETA ${Math.round(p.etaSeconds)}s` : '';
    const workers = p.workers?.running === 2 ? ', 2 workers' : '';
    return `${p.rowsDone}${p.rowsTotal ? `/${p.rowsTotal}` : ''} rows${pct}, ${Math.round(p.rate)} rows/s${workers}, batch ${p.batchSize}${eta}${p.throttle ? `, throttled: ${p.throttle}` : ''}`;
  }
  if (p.kind === 'index')
    return `index ${p.index}: ${p.phase} blocks ${p.blocksDone}/${p.blocksTotal} tuples ${p.tuplesDone}/${p.tuplesTotal}`;
  return `${p.label} ${p.done}${p.total != null ? `/${p.total}` : ''}`;
}
