// Test helpers for the Ink UI: render at a given terminal size with ink-testing-library, strip
// ANSI, wait for a condition (no sleeps), and a recording Intents.
import type React from 'react';
import { render } from 'ink-testing-library';
import { stripVTControlCharacters } from 'node:util';
import { UiProvider } from '../../../src/ui/context.js';
import type { GateAnswer } from '../../../src/engine/gates.js';
import type { Intents } from '../../../src/ui/intents.js';
import type { UiStore } from '../../../src/ui/store.js';

export type Rendered = ReturnType<typeof render>;

export function setSize(inst: Rendered, columns: number, rows: number): void {
  Object.defineProperty(inst.stdout, 'columns', { value: columns, configurable: true });
  Object.defineProperty(inst.stdout, 'rows', { value: rows, configurable: true });
  inst.stdout.emit('resize');
}

export function renderAt(tree: React.ReactElement, size: { columns: number; rows: number } = { columns: 80, rows: 24 }): Rendered {
  // Size the fake terminal before the real tree mounts, so even the first frame has the right size.
  const inst = render(<></>);
  setSize(inst, size.columns, size.rows);
  inst.rerender(tree);
  return inst;
}

export function withProviders(store: UiStore, intents: Intents, children: React.ReactNode): React.ReactElement {
  return (
    <UiProvider store={store} intents={intents}>
      {children}
    </UiProvider>
  );
}

export function frame(inst: Rendered): string {
  return stripVTControlCharacters(inst.lastFrame() ?? '');
}

/** Polls `cond` on a short interval until it holds or the deadline passes; returns the last frame. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = cond();
    } catch {
      ok = false;
    }
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function waitForFrame(inst: Rendered, pred: (f: string) => boolean, what: string, timeoutMs = 3000): Promise<string> {
  try {
    await waitFor(() => pred(frame(inst)), what, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- last frame ---\n${frame(inst)}`);
  }
  return frame(inst);
}

export interface RecordedIntents extends Intents {
  calls: { name: keyof Intents; args: unknown[] }[];
}

export function recordingIntents(decide?: (id: string, a: GateAnswer) => void): RecordedIntents {
  const calls: RecordedIntents['calls'] = [];
  const rec =
    (name: keyof Intents) =>
    (...args: unknown[]) => {
      calls.push({ name, args });
    };
  return {
    calls,
    decideGate: (id, a) => {
      calls.push({ name: 'decideGate', args: [id, a] });
      decide?.(id, a);
    },
    togglePause: rec('togglePause'),
    setBatchSize: rec('setBatchSize'),
    setPauseMs: rec('setPauseMs'),
    abort: rec('abort'),
    quit: rec('quit'),
    cancelOwnStatement: rec('cancelOwnStatement'),
  };
}

/** Keys as a terminal sends them. */
export const KEYS = {
  enter: '\r',
  escape: '\u001B',
  backspace: '\u007F',
  up: '\u001B[A',
  down: '\u001B[B',
  pageUp: '\u001B[5~',
  pageDown: '\u001B[6~',
  ctrlC: '\u0003',
} as const;
