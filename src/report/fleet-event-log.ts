// The fleet's events, one JSON line each with its time, appended to `events.jsonl` in the fleet's
// state directory: what the fleet report reads for wave timings, gate decisions and halts, over
// every life of the fleet (run, then each resume). Redacted before they are written.
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { redactDeep } from '../util/secrets.js';

export interface FleetLogEntry {
  at: string;
  type: string;
  [field: string]: unknown;
}

const FILE = 'events.jsonl';

/** A listener that appends each fleet event to the log in `dir`. */
export function fleetEventLog(dir: string): (e: { type: string }) => void {
  return (e) => appendFileSync(join(dir, FILE), `${JSON.stringify(redactDeep({ at: new Date().toISOString(), ...e }))}\n`);
}

/** The logged events, oldest first (none when the fleet never logged any). */
export function readFleetEvents(dir: string): FleetLogEntry[] {
  let text: string;
  try {
    text = readFileSync(join(dir, FILE), 'utf8');
  } catch {
    return [];
  }
  // A line cut by a kill -9 mid-write is skipped, not fatal.
  return text.split('\n').flatMap((line) => {
    if (!line.trim()) return [];
    try {
      return [JSON.parse(line) as FleetLogEntry];
    } catch {
      return [];
    }
  });
}
