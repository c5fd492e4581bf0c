// The fleet as plain lines or JSON lines: every line of a target's run carries its name in front,
// every JSON object its `target` field; the fleet's own lines start with "fleet".
import type { RunEvent } from '../engine/events.js';
import { plainRenderer } from '../render/plain-renderer.js';
import { redactDeep } from '../util/secrets.js';
import { formatMs } from '../util/units.js';
import { betweenWavesText } from './fleet-gate.js';
import type { FleetEvent } from './fleet-runner.js';

export type FleetOutputMode = 'plain' | 'json';

/** A target's run events, each line (or object) labelled with the target. */
export function targetRenderer(mode: FleetOutputMode, target: string, write: (s: string) => void): (e: RunEvent) => void {
  if (mode === 'json') return (e) => write(`${JSON.stringify(redactDeep({ target, ...e }))}\n`);
  const prefix = `[${target}] `;
  return plainRenderer((s) => write(s.replace(/^(?=.)/gm, prefix)));
}

export function fleetRenderer(mode: FleetOutputMode, write: (s: string) => void): (e: FleetEvent) => void {
  if (mode === 'json') return (e) => write(`${JSON.stringify(redactDeep({ at: new Date().toISOString(), ...e }))}\n`);
  return (e) => {
    const text = fleetText(e);
    if (text) write(`${text.replace(/^(?=.)/gm, 'fleet ')}\n`);
  };
}

function fleetText(e: FleetEvent): string | undefined {
  switch (e.type) {
    case 'fleet.started':
      return `${e.targets} targets in ${e.waves.length} waves: ${e.waves.map((w) => `${w.targets} (parallel ${w.parallel})`).join(', ')}`;
    case 'fleet.wave.started':
      return `wave ${e.wave}: ${e.targets.length} targets, parallel ${e.parallel}: ${e.targets.join(', ')}`;
    case 'fleet.target.started':
      return undefined;
    case 'fleet.target.skipped':
      return `[${e.target}] already completed${e.runId ? ` (run ${e.runId})` : ''}: not run again`;
    case 'fleet.target.finished':
      return `[${e.target}] ${e.status}${e.runId ? ` (run ${e.runId})` : ''}${e.reason ? `: ${e.reason}` : ''}`;
    case 'fleet.wave.finished':
      return `wave ${e.wave} done in ${formatMs(e.durationMs)}: ${e.completed} completed, ${e.failed} failed`;
    case 'fleet.halted':
      return [
        `HALTED: ${e.reason}; no further target was started`,
        ...e.failed.map((f) => `  failed [${f.target}]: ${f.reason}`),
        ...(e.notStarted.length ? [`  not started (${e.notStarted.length}): ${e.notStarted.join(', ')}`] : []),
      ].join('\n');
    case 'fleet.completed':
      return e.failed
        ? `${e.targets - e.failed} of ${e.targets} targets completed, ${e.failed} failed (under max_failures), in ${formatMs(e.durationMs)}`
        : `all ${e.targets} targets completed in ${formatMs(e.durationMs)}`;
    default:
      return betweenWavesText(e);
  }
}
