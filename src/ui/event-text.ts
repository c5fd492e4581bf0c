// One operator-readable log line per event (or none for chatty ones such as progress ticks).
// Everything passes through redact(): a password must never reach the screen.
import type { RunEvent } from '../engine/events.js';
import { redact } from '../util/secrets.js';
import { fmtMs, oneLine } from './format.js';

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogText {
  level: LogLevel;
  text: string;
  stepId?: string;
}

export function describeTarget(t: { user: string; host: string; port: number; database: string }): string {
  return `${t.user}@${t.host}:${t.port}/${t.database}`;
}

export function eventText(e: RunEvent): LogText | undefined {
  const line = describe(e);
  return line ? { ...line, text: redact(line.text) } : undefined;
}

function describe(e: RunEvent): LogText | undefined {
  switch (e.type) {
    case 'run.started':
      return {
        level: 'info',
        text: `${e.resumed ? 'resumed' : 'started'} run ${e.runId} of "${e.runbook}" on ${describeTarget(e.target)}${
          e.target.serverVersion ? ` (PostgreSQL ${e.target.serverVersion})` : ''
        } as ${e.user}@${e.host}`,
      };
    case 'run.plan':
      return { level: 'info', text: `plan: ${e.steps.length} step(s) in ${new Set(e.steps.map((s) => s.phase)).size} phase(s)` };
    case 'phase.started':
      return { level: 'info', text: `── phase ${e.phase} ──` };
    case 'phase.completed':
      return { level: 'info', text: `phase ${e.phase} completed` };
    case 'phase.plan':
      // One line: the gate below shows the evidence; `pgrunbook plan` prints the whole plan.
      return { level: 'info', text: `${e.phase} plan: ${e.summary}` };
    case 'run.resumed':
      return { level: 'warn', text: `resuming: ${e.note}` };
    case 'step.started':
      return { level: 'info', stepId: e.stepId, text: `▶ ${e.stepId} (${e.kind})${e.attempt > 1 ? ` attempt ${e.attempt}` : ''}` };
    case 'step.reconciled':
      return { level: 'info', stepId: e.stepId, text: `reconciled ${e.stepId}: ${e.found} (${e.detail})` };
    case 'step.sql':
      return e.ok
        ? { level: 'info', stepId: e.stepId, text: `sql ${fmtMs(e.durationMs)}${e.rowCount !== null ? ` ${e.rowCount} row(s)` : ''}: ${oneLine(e.sql, 200)}` }
        : {
            level: 'error',
            stepId: e.stepId,
            text: `sql failed${e.sqlstate ? ` [${e.sqlstate}]` : ''} after ${fmtMs(e.durationMs)}: ${e.error ?? ''} — ${oneLine(e.sql, 120)}`,
          };
    case 'step.retry':
      return { level: 'warn', stepId: e.stepId, text: `retry ${e.attempt}/${e.of} in ${fmtMs(e.delayMs)}: ${e.reason}` };
    case 'step.log':
      return { level: e.level, stepId: e.stepId, text: `${e.stream ? `[${e.stream}] ` : ''}${e.message}` };
    case 'step.progress':
      return undefined;
    case 'step.throttle':
      return e.reason
        ? { level: 'warn', stepId: e.stepId, text: `throttle: ${e.reason}${e.detail ? ` (${e.detail})` : ''}` }
        : { level: 'info', stepId: e.stepId, text: 'throttle cleared' };
    case 'step.evidence':
      return {
        level: e.evidence.some((x) => x.ok === false) ? 'warn' : 'info',
        stepId: e.stepId,
        text: `evidence: ${e.evidence.map((x) => `${x.label}=${String(x.value)}${x.ok === false ? ' (!)' : ''}`).join(', ')}`,
      };
    case 'step.completed':
      return { level: 'info', stepId: e.stepId, text: `✓ ${e.stepId} done in ${fmtMs(e.durationMs)}` };
    case 'step.failed':
      return {
        level: 'error',
        stepId: e.stepId,
        text: `✗ ${e.stepId} failed after ${fmtMs(e.durationMs)}: ${e.error}${e.sqlstate ? ` [${e.sqlstate}]` : ''}${e.hint ? ` — hint: ${e.hint}` : ''}`,
      };
    case 'step.skipped':
      return { level: 'info', stepId: e.stepId, text: `skipped ${e.stepId}: ${e.reason}` };
    case 'gate.requested':
      return { level: 'warn', stepId: e.request.stepId, text: `gate (${e.request.level}): ${e.request.title} — waiting for the operator` };
    case 'gate.decided':
      return {
        level: e.decision.approved ? 'info' : 'warn',
        stepId: e.request.stepId,
        text: `gate ${e.decision.approved ? 'approved' : 'declined'}${e.decision.choice ? ` (${e.decision.choice})` : ''} by ${e.decision.by}${
          e.decision.reason ? `: ${e.decision.reason}` : ''
        }`,
      };
    case 'run.paused':
      return { level: 'warn', text: `paused: ${e.reason}` };
    case 'run.unpaused':
      return { level: 'info', text: 'resumed after pause' };
    case 'run.interrupted':
      return { level: 'warn', text: `interrupted: ${e.reason} — the run is resumable (pgrunbook resume)` };
    case 'run.aborted':
      return { level: 'error', text: `aborted: ${e.reason}` };
    case 'run.completed':
      return { level: 'info', text: `run completed in ${fmtMs(e.durationMs)}` };
    case 'run.failed':
      return { level: 'error', text: `run failed${e.stepId ? ` at ${e.stepId}` : ''}: ${e.error}` };
    default:
      return undefined;
  }
}
