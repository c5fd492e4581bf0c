// One line per event, for pipes, logs and CI, worded by the shared formatter (event-text.ts) with
// the time in front. Progress is sampled (every 2 s per step).
import type { RunEvent } from '../engine/events.js';
import { eventText } from './event-text.js';

const PROGRESS_EVERY_MS = 2_000;

/** The plain line(s) for one event, already redacted; undefined for events with no text. */
export function formatPlain(e: RunEvent): string | undefined {
  const t = eventText(e);
  if (!t) return undefined;
  return [`${e.at.slice(11, 19)} ${t.text}`, ...(t.more ?? []).map((l) => `         ${l}`)].join('\n');
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
    if (s !== undefined) write(s + '\n');
  };
}
