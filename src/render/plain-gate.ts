// The gate in plain output: the same content as the TUI gate (what approving does, every relation
// locked with the lock in words, the step's why, the evidence), one fact per line for logs and CI.
import type { PlannedStepDetail } from '../engine/events.js';
import type { GateRequest } from '../engine/gates.js';
import { redact } from '../util/secrets.js';
import { lockEntries, lockEntryText } from './lock-words.js';

const MARK = { pass: '✓', fail: '✗', info: '•' } as const;

/** The lines under a gate's headline, already redacted. */
export function plainGateLines(req: GateRequest, detail: PlannedStepDetail | undefined): string[] {
  const lines = [`will: ${req.action}`, ...lockEntries(req, detail).map((e) => `lock: ${lockEntryText(e)}`)];
  if (detail?.why) lines.push(`why: ${detail.why.replace(/\s+/g, ' ').trim()}`);
  if (req.evidence.length === 0) lines.push('evidence: none for this gate');
  for (const e of req.evidence) {
    const mark = e.ok === true ? MARK.pass : e.ok === false ? MARK.fail : MARK.info;
    lines.push(`${mark} ${e.label}: ${String(e.value)}${e.detail ? ` (${e.detail})` : ''}`);
  }
  return lines.map(redact);
}
