// One line per event, for pipes, logs and CI, worded by the shared formatter (event-text.ts) with
// the time in front. Progress is sampled (every 2 s per step). A gate gets its full content
// (plain-gate.ts), with the step's why and locks remembered from the run's plan.
import type { PlannedStepDetail, RunEvent } from '../engine/events.js';
import { redact } from '../util/secrets.js';
import { eventText } from './event-text.js';
import { plainGateLines } from './plain-gate.js';

const PROGRESS_EVERY_MS = 2_000;
const INDENT = ' '.repeat(9);

/** The plain line(s) for one event, already redacted; undefined for events with no text. */
export function formatPlain(e: RunEvent, detail?: PlannedStepDetail): string | undefined {
  const t = eventText(e);
  if (!t) return undefined;
  // A gate's action and lock get lines of their own under a short headline.
  const gate = e.type === 'gate.requested' ? e.request : undefined;
  const head = gate ? redact(`${gate.stepId}: gate (${gate.level}) ${gate.title}`) : t.text;
  const more = gate ? plainGateLines(gate, detail) : (t.more ?? []);
  return [`${e.at.slice(11, 19)} ${head}`, ...more.map((l) => `${INDENT}${l}`)].join('\n');
}

export function plainRenderer(write: (s: string) => void): (e: RunEvent) => void {
  const lastProgress = new Map<string, number>();
  const details = new Map<string, PlannedStepDetail>();
  return (e) => {
    if (e.type === 'run.plan') for (const s of e.steps) if (s.detail) details.set(s.id, s.detail);
    if (e.type === 'step.progress') {
      const now = Date.parse(e.at);
      if (now - (lastProgress.get(e.stepId) ?? 0) < PROGRESS_EVERY_MS) return;
      lastProgress.set(e.stepId, now);
    }
    const s = formatPlain(e, e.type === 'gate.requested' ? details.get(e.request.stepId) : undefined);
    if (s !== undefined) write(s + '\n');
  };
}
