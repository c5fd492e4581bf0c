// JSON lines: every event, redacted, one object per line.
import type { RunEvent } from '../engine/events.js';
import { redactDeep } from '../util/secrets.js';

export function jsonRenderer(write: (s: string) => void): (e: RunEvent) => void {
  return (e) => write(JSON.stringify(redactDeep(e)) + '\n');
}
