// The fleet view's keys: one table (the legend and the help are generated from it) and the input
// hook. On the grid: move, open a target, pause one or all, abort, quit, help. With a target open,
// its run screen owns the keys (the same as `pgrunbook run`) and Esc comes back to the grid.
import { useInput, type Key } from 'ink';
import type { GateAnswer } from '../engine/gates.js';
import type { FleetRow, FleetStore } from './fleet-store.js';

/** What the fleet view asks of the fleet; the host (the fleet wiring) wires them to the runners. */
export interface FleetIntents {
  /** Pause (or resume) one target's run. */
  togglePause(target: string): void;
  /** Pause (or resume) every running target; targets started while paused start paused. */
  togglePauseAll(): void;
  /** Stop launching, abort every running target (each recorded as aborted). */
  abort(): void;
  /** Stop launching, every running target stops at a safe point: `fleet resume` continues. */
  quit(): void;
  /** The operator's answer to the gate before the next wave (store.waveGate). */
  decideWaveGate(id: string, answer: GateAnswer): void;
}

type FleetAction = 'up' | 'down' | 'open' | 'back' | 'pauseOne' | 'pauseAll' | 'abort' | 'quit' | 'help' | 'interrupt';

interface FleetBinding {
  action: FleetAction;
  match(input: string, key: Key): boolean;
  label: string;
  help: string;
  legend?: string;
}

export const FLEET_KEYS: readonly FleetBinding[] = [
  { action: 'up', match: (i, k) => k.upArrow || i === 'k', label: '↑ k', help: 'previous target' },
  { action: 'down', match: (i, k) => k.downArrow || i === 'j', label: '↓ j', help: 'next target' },
  { action: 'open', match: (_i, k) => k.return, label: 'Enter', help: "open the target's run screen (Esc or ←: back)", legend: 'open' },
  { action: 'pauseOne', match: (i) => i === 'p', label: 'p', help: 'pause / resume the selected target', legend: 'pause' },
  { action: 'pauseAll', match: (i) => i === 'P', label: 'P', help: 'pause / resume every target', legend: 'pause all' },
  { action: 'abort', match: (i) => i === 'a', label: 'a', help: 'abort the fleet (asks)', legend: 'abort' },
  { action: 'quit', match: (i) => i === 'q', label: 'q', help: 'quit; `fleet resume` continues', legend: 'quit' },
  { action: 'help', match: (i) => i === '?' || i === 'h', label: '? h', help: 'this help', legend: 'help' },
  { action: 'interrupt', match: (i, k) => k.ctrl && i === 'c', label: 'Ctrl+C', help: 'quit now; `fleet resume` continues' },
];

export function fleetLegend(width: number): string {
  let out = '';
  for (const b of FLEET_KEYS) {
    if (!b.legend) continue;
    const piece = `${out ? '  ' : ''}${b.label} ${b.legend}`;
    if (out.length + piece.length > width) break;
    out += piece;
  }
  return out;
}

/** Handles one key on the grid (or an overlay over it). Exported for tests. */
export function fleetKey(store: FleetStore, intents: FleetIntents, rows: FleetRow[], input: string, key: Key): void {
  const s = store.getState();
  const action = FLEET_KEYS.find((b) => b.match(input, key))?.action;
  if (action === 'interrupt') return void intents.quit();
  if (s.overlay === 'help') return s.setOverlay('none');
  if (s.overlay === 'confirm-abort' || s.overlay === 'confirm-quit') return confirmKey(store, intents, input, key);
  const row = rows[Math.min(s.selected, rows.length - 1)];
  const running = s.status === 'running' || s.status === 'starting';
  switch (action) {
    case 'up':
      return s.select(s.selected - 1);
    case 'down':
      return s.select(s.selected + 1);
    case 'open':
      if (!row) return;
      if (!s.targets[row.name]?.run) return s.setNotice(`${row.name} has not started here: nothing to show yet`);
      return s.open(row.name);
    case 'pauseOne':
      if (!row || (row.state !== 'running' && row.state !== 'paused' && row.state !== 'gate'))
        return s.setNotice(`${row?.name ?? 'no target'} is not running: nothing to pause`);
      intents.togglePause(row.name);
      return s.setNotice(row.state === 'paused' ? `${row.name}: resuming…` : `${row.name}: pausing after the current batch…`);
    case 'pauseAll':
      intents.togglePauseAll();
      return s.setNotice(store.getState().pausedAll ? 'pausing every target… (P resumes)' : 'resuming every target…');
    case 'abort':
      if (!running) return s.setNotice('the fleet has ended; nothing to abort');
      return s.setOverlay('confirm-abort');
    case 'quit':
      if (!running) return void intents.quit();
      return s.setOverlay('confirm-quit');
    case 'help':
      return s.setOverlay('help');
    default:
      return;
  }
}

function confirmKey(store: FleetStore, intents: FleetIntents, input: string, key: Key): void {
  const s = store.getState();
  if (input === 'y' || input === 'Y') {
    const abort = s.overlay === 'confirm-abort';
    s.setOverlay('none');
    s.setNotice(abort ? 'aborting every running target…' : 'stopping every target at a safe point…');
    if (abort) intents.abort();
    else intents.quit();
  } else if (input === 'n' || input === 'N' || key.escape || key.return) s.setOverlay('none');
}

/**
 * With a target open: ← goes back to the grid, and Esc does too unless the target's screen uses Esc
 * itself (an overlay closes, a gate declines).
 */
export function backKey(store: FleetStore, _input: string, key: Key): void {
  const s = store.getState();
  if (!s.opened || !(key.escape || key.leftArrow)) return;
  const ui = s.targets[s.opened]?.run?.store.getState();
  if (key.escape && ui && (ui.overlay !== 'none' || ui.gates.length > 0)) return;
  s.open(undefined);
}

export function useFleetKeys(opts: { store: FleetStore; intents: FleetIntents; rows: FleetRow[]; active: boolean }): void {
  useInput(
    (input, key) => {
      // The gate between waves answers its own keys (the gate widget); Ctrl+C still quits. Esc or ←
      // (pressed to leave a target the gate came up over) only goes back to the grid, never declines.
      if (opts.store.getState().waveGate) {
        if (key.ctrl && input === 'c') return void opts.intents.quit();
        if (key.escape || key.leftArrow) opts.store.getState().open(undefined);
        return;
      }
      if (opts.store.getState().opened) backKey(opts.store, input, key);
      else fleetKey(opts.store, opts.intents, opts.rows, input, key);
    },
    { isActive: opts.active },
  );
}
