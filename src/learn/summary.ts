// The side-by-side summary and the report an on-call lead can keep. Every figure here comes from
// the run's own measurements (LatencyRecorder, the naive statement's timing, the runner's outcome).
import { fmtInt } from '../ui/format.js';
import { formatMs } from '../util/units.js';
import type { PhaseFigures } from './latency-recorder.js';
import type { DrillChoice, Lesson } from './lesson.js';
import type { NaiveResult } from './naive-way.js';

export interface DrillResult {
  choice: DrillChoice;
  best: DrillChoice;
  max: number;
  /** From the question to the answer. */
  decidedMs: number;
  /** What happened after the answer, in one sentence. */
  effect: string;
}

export interface LessonResult {
  lesson: Lesson;
  serverVersion: string;
  naive: { figures: PhaseFigures; run: NaiveResult };
  safe: { figures: PhaseFigures; status: string; error?: string };
  drill?: DrillResult;
  /** The safe way met the bar: no request slower than it, and the runbook completed (or was stopped by the trainee). */
  passed: boolean;
}

function naiveLine(r: LessonResult): string {
  const f = r.naive.figures;
  const cap = r.naive.run.capped ? ` (stopped by the ${formatMs(r.lesson.cap)} cap)` : '';
  return `naive:   app blocked ${formatMs(f.blockedMs)}, ${fmtInt(f.overBar)} of ${fmtInt(f.requests + f.failed)} requests waited over ${formatMs(r.lesson.bar)}, worst ${formatMs(f.worstMs)}, p99 ${formatMs(f.p99Ms)}${cap}`;
}

function safeLine(r: LessonResult): string {
  const f = r.safe.figures;
  const over = f.overBar === 0 ? `none over ${formatMs(r.lesson.bar)}` : `${fmtInt(f.overBar)} over ${formatMs(r.lesson.bar)}`;
  return `runbook: p99 ${formatMs(f.p99Ms)}, worst ${formatMs(f.worstMs)}, ${over} (${fmtInt(f.requests)} requests; runbook ${r.safe.status})`;
}

export function drillLines(d: DrillResult): string[] {
  const lines = [
    `drill: you chose "${d.choice.label}" after ${formatMs(d.decidedMs)}: ${d.choice.score}/${d.max}. ${d.effect}`,
    `  ${d.choice.why.trim()}`,
  ];
  if (d.best.key !== d.choice.key) lines.push(`  An experienced operator would "${d.best.label}": ${d.best.why.trim()}`);
  return lines;
}

export function summaryLines(r: LessonResult): string[] {
  const lines = [naiveLine(r), safeLine(r)];
  if (r.safe.error) lines.push(`runbook stopped: ${r.safe.error}`);
  if (r.drill) lines.push(...drillLines(r.drill));
  lines.push(
    r.passed
      ? `passed: no request over ${formatMs(r.lesson.bar)} with the runbook`
      : `not passed: the runbook let requests wait over ${formatMs(r.lesson.bar)}`,
  );
  return lines;
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
