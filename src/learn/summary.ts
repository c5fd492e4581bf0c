// The side-by-side summary and the report an on-call lead can keep. Every figure here comes from
// the run's own measurements (LatencyRecorder, the naive statement's timing, the runner's outcome).
import { fmtInt } from '../ui/format.js';
import { formatBytes, formatMs } from '../util/units.js';
import type { RollbackFigures } from './bad-deploy.js';
import type { DrillResult } from './drill-answer.js';
import type { PhaseFigures } from './latency-recorder.js';
import type { Lesson } from './lesson.js';
import type { StandbyFigures } from './lesson-standby.js';
import type { NaiveResult } from './naive-way.js';

export interface LessonResult {
  lesson: Lesson;
  serverVersion: string;
  naive: { figures: PhaseFigures; run: NaiveResult };
  safe: { figures: PhaseFigures; status: string; error?: string };
  drill?: DrillResult;
  /** A lesson with a bad deploy: the errors it caused and the runbook's way back. */
  rollback?: RollbackFigures;
  /** A replication-lag lesson: how far the standby fell behind each way. */
  standby?: StandbyFigures;
  /** The safe way met the bar: no request slower than it, and the runbook completed (or was stopped by the trainee). */
  passed: boolean;
}

function naiveLine(r: LessonResult): string {
  const f = r.naive.figures;
  const cap = r.naive.run.capped ? ` (stopped by the ${formatMs(r.lesson.cap)} cap)` : '';
  const failed = f.failed ? `, ${fmtInt(f.failed)} failed` : '';
  return `naive:   app blocked ${formatMs(f.blockedMs)}, ${fmtInt(f.overBar)} of ${fmtInt(f.requests + f.failed)} requests waited over ${formatMs(r.lesson.bar)}, worst ${formatMs(f.worstMs)}, p99 ${formatMs(f.p99Ms)}${failed}${cap}`;
}

function safeLine(r: LessonResult): string {
  const f = r.safe.figures;
  const over = f.overBar === 0 ? `none over ${formatMs(r.lesson.bar)}` : `${fmtInt(f.overBar)} over ${formatMs(r.lesson.bar)}`;
  return `runbook: p99 ${formatMs(f.p99Ms)}, worst ${formatMs(f.worstMs)}, ${over} (${fmtInt(f.requests)} requests; runbook ${r.safe.status})`;
}

function standbyLine(s: StandbyFigures): string {
  const way = (f: StandbyFigures['naive']) =>
    `${formatBytes(f.maxBytes)} behind at most (replay_lag up to ${formatMs(f.maxReplayLagMs)}), over ${formatBytes(s.barBytes)} for ${formatMs(f.overBarMs)}`;
  return `standby (replaying at most ${formatBytes(s.replayBytesPerSec)}/s): naive way ${way(s.naive)}; runbook ${way(s.safe)}`;
}

function rollbackLine(b: RollbackFigures): string {
  const back = b.restoreMs === undefined ? 'nothing failed' : `service back ${formatMs(b.restoreMs)} after the first error`;
  return `rollback: ${fmtInt(b.errorsDuring)} of ${fmtInt(b.requestsDuring)} requests failed during the bad deploy; ${back} (rollback ${b.status}); after it ${fmtInt(b.errorsAfter)} of ${fmtInt(b.requestsAfter)} failed`;
}

export function drillLines(d: DrillResult): string[] {
  const lines = [
    `drill: you chose "${d.choice.label}" after ${formatMs(d.decidedMs)}: ${d.choice.score}/${d.max}. ${d.effect}`,
    ...(d.measured ? [`  ${d.measured}`] : []),
    `  ${d.choice.why.trim()}`,
  ];
  if (d.best.key !== d.choice.key) lines.push(`  An experienced operator would "${d.best.label}": ${d.best.why.trim()}`);
  return lines;
}

export function summaryLines(r: LessonResult): string[] {
  const lines = [naiveLine(r), safeLine(r)];
  if (r.safe.error) lines.push(`runbook stopped: ${r.safe.error}`);
  if (r.standby) lines.push(standbyLine(r.standby));
  if (r.rollback) lines.push(rollbackLine(r.rollback));
  if (r.rollback?.error) lines.push(`rollback stopped: ${r.rollback.error}`);
  if (r.drill) lines.push(...drillLines(r.drill));
  lines.push(verdictLine(r));
  return lines;
}

function verdictLine(r: LessonResult): string {
  const s = r.standby;
  if (r.passed) {
    const also = r.rollback
      ? ', and its rollback restored service'
      : s
        ? `, and the standby never more than ${formatBytes(s.barBytes)} behind`
        : '';
    return `passed: no request over ${formatMs(r.lesson.bar)} with the runbook${also}`;
  }
  if (r.safe.figures.overBar) return `not passed: the runbook let requests wait over ${formatMs(r.lesson.bar)}`;
  if (s && s.safe.maxBytes > s.barBytes)
    return `not passed: the runbook let the standby fall ${formatBytes(s.safe.maxBytes)} behind (bar ${formatBytes(s.barBytes)})`;
  return `not passed: ${r.rollback ? 'the rollback did not restore service' : `the runbook ${r.safe.status}`}`;
}

/** Markdown an on-call lead can keep. */
export function reportMarkdown(results: LessonResult[], who: string): string {
  const out = [`# pgrunbook learn: report`, '', `Trainee: ${who} · ${new Date().toISOString()}`, ''];
  for (const r of results) {
    out.push(
      `## ${r.lesson.title}`,
      '',
      `PostgreSQL ${r.serverVersion}, ${fmtInt(r.lesson.rows)} rows, synthetic traffic measured by pgrunbook.`,
      '',
    );
    out.push('```', ...summaryLines(r), '```', '', `**Takeaway.** ${r.lesson.script.takeaway.trim()}`, '');
  }
  return `${out.join('\n')}\n`;
}
