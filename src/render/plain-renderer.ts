// One line per event, for pipes, logs and CI. Progress is sampled (every 2 s per step).
import type { RunEvent } from '../engine/events.js';
import { redact } from '../util/secrets.js';
import { describeTarget } from '../pg/connection.js';

const PROGRESS_EVERY_MS = 2_000;

export function formatPlain(e: RunEvent): string | undefined {
  const t = e.at.slice(11, 19);
  const line = (s: string) => `${t} ${s}`;
  switch (e.type) {
    case 'run.started':
      return line(`run ${e.runId} ${e.resumed ? 'resumed' : 'started'}: ${e.runbook} on ${describeTarget(e.target)} (PostgreSQL ${e.target.serverVersion}) by ${e.user}@${e.host}`);
    case 'run.resumed':
      return line(`resuming: ${e.note}`);
    case 'run.plan':
      return line(`plan: ${e.steps.map((s) => `${s.phase}/${s.id}${s.gate !== 'none' ? `[${s.gate}]` : ''}`).join(', ') || 'no steps'}`);
    case 'phase.started':
      return line(`== phase ${e.phase}`);
    case 'phase.plan':
      return [line(`${e.phase} plan: ${e.summary}`), ...e.lines.filter((l) => l.trim()).map((l) => `         ${l}`)].join('\n');
    case 'phase.completed':
      return undefined;
    case 'step.started':
      return line(`${e.stepId}: started (${e.kind}${e.attempt > 1 ? `, attempt ${e.attempt}` : ''}) ${e.title !== e.stepId ? e.title : ''}`.trimEnd());
    case 'step.reconciled':
      return line(`${e.stepId}: reconciled with the database: ${e.found} (${e.detail})`);
    case 'step.sql':
      return line(`${e.stepId}: ${e.ok ? 'ok' : 'ERROR'} ${e.durationMs} ms: ${oneLine(e.sql, 100)}${e.ok ? '' : ` -> ${e.error}`}`);
    case 'step.retry':
      return line(`${e.stepId}: retry ${e.attempt}/${e.of} in ${e.delayMs} ms: ${e.reason}`);
    case 'step.log':
      return line(`${e.stepId === '-' ? '' : `${e.stepId}: `}${e.level === 'info' ? '' : `${e.level}: `}${e.message}`);
    case 'step.progress': {
      const p = e.progress;
      if (p.kind === 'backfill') {
        const pct = p.rowsTotal ? ` (${Math.min(100, (100 * p.rowsDone) / p.rowsTotal).toFixed(1)}%)` : '';
        return line(`${e.stepId}: ${p.rowsDone}${p.rowsTotal ? `/${p.rowsTotal}` : ''} rows${pct}, ${Math.round(p.rate)} rows/s, batch ${p.batchSize}${p.etaSeconds != null ? `, ETA ${Math.round(p.etaSeconds)}s` : ''}${p.throttle ? `, throttled: ${p.throttle}` : ''}`);
      }
      if (p.kind === 'index') return line(`${e.stepId}: index ${p.index}: ${p.phase} blocks ${p.blocksDone}/${p.blocksTotal} tuples ${p.tuplesDone}/${p.tuplesTotal}`);
      return line(`${e.stepId}: ${p.label} ${p.done}${p.total != null ? `/${p.total}` : ''}`);
    }
    case 'step.throttle':
      return line(`${e.stepId}: ${e.reason ? `throttling: ${e.reason}${e.detail ? ` (${e.detail})` : ''}` : 'throttle cleared'}`);
    case 'step.evidence':
      return line(`${e.stepId}: evidence: ${e.evidence.map((x) => `${x.label}=${x.value}${x.ok === false ? ' (!)' : ''}`).join('; ')}`);
    case 'step.completed':
      return line(`${e.stepId}: done in ${fmtMs(e.durationMs)}`);
    case 'step.failed':
      return line(`${e.stepId}: FAILED after ${fmtMs(e.durationMs)}: ${e.error}${e.sqlstate ? ` [${e.sqlstate}]` : ''}${e.hint ? `\n    hint: ${e.hint}` : ''}`);
    case 'step.skipped':
      return line(`${e.stepId}: skipped (${e.reason})`);
    case 'gate.requested':
      return line(`${e.request.stepId}: gate (${e.request.level}) ${e.request.title}: ${e.request.action}${e.request.lockMode ? ` [takes ${e.request.lockMode}]` : ''}`);
    case 'gate.decided':
      return line(`${e.request.stepId}: gate ${e.decision.approved ? `approved${e.decision.choice ? ` (${e.decision.choice})` : ''}` : 'NOT approved'} by ${e.decision.by}${e.decision.reason ? `: ${e.decision.reason}` : ''}`);
    case 'run.paused':
      return line(`paused: ${e.reason}`);
    case 'run.unpaused':
      return line('resumed from pause');
    case 'run.interrupted':
      return line(`run interrupted: ${e.reason}. Resume with: pgrunbook resume ${e.runId}`);
    case 'run.aborted':
      return line(`run aborted: ${e.reason}. Resume with: pgrunbook resume ${e.runId}`);
    case 'run.completed':
      return line(`run ${e.runId} completed in ${fmtMs(e.durationMs)}`);
    case 'run.failed':
      return line(`run ${e.runId} FAILED: ${e.error}. Fix the cause, then: pgrunbook resume ${e.runId} (resume keeps this run's --var values: if one was wrong, start a new run with the corrected --var instead)`);
    default:
      return undefined;
  }
}

export function plainRenderer(write: (s: string) => void): (e: RunEvent) => void {
  const lastProgress = new Map<string, number>();
  return (e) => {
    if (e.type === 'step.progress') {
      const now = Date.parse(e.at);
      if (now - (lastProgress.get(e.stepId) ?? 0) < PROGRESS_EVERY_MS) return;
      lastProgress.set(e.stepId, now);
    }
    const s = formatPlain(e);
    if (s !== undefined) write(redact(s) + '\n');
  };
}

function oneLine(s: string, max: number): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

export function fmtMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}
