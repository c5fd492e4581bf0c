import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import type { Key } from 'ink';
import { App } from '../../src/ui/app.js';
import { KEYMAP, helpSections, legendItems, matchAction } from '../../src/ui/keymap.js';
import { allHelpRows } from '../../src/ui/widgets/help/help-overlay.js';
import { nextBatchSize, nextPauseMs } from '../../src/ui/intents.js';
import { KEYS, frame, recordingIntents, renderAt, waitFor, waitForFrame, withProviders } from './support/harness.js';
import { runningBackfill } from './support/events.js';

afterEach(() => cleanup());

const key = (over: Partial<Key> = {}): Key =>
  ({
    upArrow: false,
    downArrow: false,
    leftArrow: false,
    rightArrow: false,
    pageDown: false,
    pageUp: false,
    home: false,
    end: false,
    return: false,
    escape: false,
    ctrl: false,
    shift: false,
    tab: false,
    backspace: false,
    delete: false,
    meta: false,
    super: false,
    hyper: false,
    capsLock: false,
    numLock: false,
    ...over,
  }) as Key;

describe('the keymap table', () => {
  it('resolves the documented keys per context', () => {
    expect(matchAction('main', 'p', key())).toBe('togglePause');
    expect(matchAction('main', '+', key())).toBe('batchUp');
    expect(matchAction('main', '-', key())).toBe('batchDown');
    expect(matchAction('main', '[', key())).toBe('pauseDown');
    expect(matchAction('main', ']', key())).toBe('pauseUp');
    expect(matchAction('main', ' ', key())).toBe('freeze');
    expect(matchAction('main', 'l', key())).toBe('log');
    expect(matchAction('main', 'a', key())).toBe('abort');
    expect(matchAction('main', 'q', key())).toBe('quit');
    expect(matchAction('main', '?', key())).toBe('help');
    expect(matchAction('gate', '', key({ return: true }))).toBe('gate.no');
    expect(matchAction('gate', 'y', key())).toBe('gate.yes');
    expect(matchAction('typeGate', 'y', key())).toBeUndefined();
    expect(matchAction('pager', '', key({ upArrow: true }))).toBe('pager.up');
    expect(matchAction('help', 'z', key())).toBe('help.close');
  });

  it('Ctrl+C wins in every context, and a plain c is not Ctrl+C', () => {
    for (const ctx of ['main', 'gate', 'typeGate', 'dialog', 'pager', 'help'] as const)
      expect(matchAction(ctx, 'c', key({ ctrl: true }))).toBe('interrupt');
    expect(matchAction('main', 'c', key())).toBe('cancelOwn');
  });

  it('has no key bound twice in one context', () => {
    const seen = new Map<string, string>();
    for (const b of KEYMAP) {
      for (const k of b.keys) {
        const id = `${b.context}:${k.ctrl ? 'C-' : ''}${k.input ?? k.flag ?? (k.digit ? 'digit' : 'any')}`;
        expect(seen.get(id), `${id} bound to ${seen.get(id)} and ${b.action}`).toBeUndefined();
        seen.set(id, b.action);
      }
    }
  });

  it('generates the help and the legend from the same table', () => {
    const rows = helpSections().flatMap((s) => s.rows.map((r) => r.keys));
    for (const b of KEYMAP.filter((x) => x.context !== 'help'))
      expect(rows.some((r) => r.split(' ').includes(b.label.split(' ')[0]!))).toBe(true);
    expect(legendItems().map((i) => `${i.keys} ${i.word}`)).toEqual([
      'p pause',
      '+/- batch',
      '[/] sleep',
      'space freeze',
      'l log',
      'a abort',
      'q quit',
      '? help',
    ]);
    expect(
      allHelpRows()
        .filter((r) => r.kind === 'title')
        .map((r) => r.text)[0],
    ).toBe('Run');
  });

  it('steps the batch size and the pause along sensible ladders', () => {
    expect(nextBatchSize(5000, 1)).toBe(7500);
    expect(nextBatchSize(5000, -1)).toBe(3333);
    expect(nextBatchSize(1, -1)).toBe(1);
    expect(nextPauseMs(0, 1)).toBe(50);
    expect(nextPauseMs(50, -1)).toBe(0);
    expect(nextPauseMs(300, 1)).toBe(500);
    expect(nextPauseMs(0, -1)).toBe(0);
  });
});

function running() {
  const intents = recordingIntents();
  const { store, b } = runningBackfill();
  const inst = renderAt(withProviders(store, intents, <App history={false} />));
  return { store, intents, b, inst };
}

const calls = (i: ReturnType<typeof recordingIntents>, name: string) => i.calls.filter((c) => c.name === name).map((c) => c.args);

describe('keys on the run screen', () => {
  it('? opens the help generated from the keymap; any key closes it', async () => {
    const { inst } = running();
    await waitForFrame(inst, (f) => f.includes('Backfill'), 'run screen');
    inst.stdin.write('?');
    const f = await waitForFrame(inst, (t) => t.includes('Help · keys'), 'help');
    for (const text of [
      'pause / resume the step',
      'batch size ×1.5 / ÷1.5',
      'freeze / thaw the panels',
      'log pager (follows end)',
      'abort the run (asks)',
      'quit; run stays resumable',
      'Ctrl+C',
    ])
      expect(f).toContain(text);
    expect(f.split('\n').length).toBeLessThan(24);
    inst.stdin.write('z');
    await waitForFrame(inst, (t) => !t.includes('Help · keys') && t.includes('Backfill'), 'help closed');
  });

  it('p, + - [ ] reach the runner through intents, from the reported batch size and pause', async () => {
    const { inst, intents } = running();
    await waitForFrame(inst, (f) => f.includes('Backfill'), 'run screen');
    inst.stdin.write('p');
    inst.stdin.write('+');
    inst.stdin.write('+');
    inst.stdin.write(']');
    inst.stdin.write(']');
    inst.stdin.write('[');
    await waitFor(() => calls(intents, 'setPauseMs').length === 3, 'three pause changes');
    expect(calls(intents, 'togglePause')).toHaveLength(1);
    // The second + builds on the first (7500 → 11250) before the backfill reports it.
    expect(calls(intents, 'setBatchSize')).toEqual([[7500], [11250]]);
    expect(calls(intents, 'setPauseMs')).toEqual([[50], [100], [50]]);
    await waitForFrame(inst, (f) => f.includes('pause between batches → 50ms'), 'notice');
  });

  it('space freezes the panels', async () => {
    const { inst, store } = running();
    await waitForFrame(inst, (f) => f.includes('Backfill'), 'run screen');
    inst.stdin.write(' ');
    await waitForFrame(inst, (f) => f.includes('FROZEN'), 'frozen badge');
    expect(store.getState().frozen).toBe(true);
    inst.stdin.write(' ');
    await waitForFrame(inst, (f) => !f.includes('FROZEN'), 'thawed');
  });

  it('a asks before aborting; Enter means No, y aborts', async () => {
    const { inst, intents } = running();
    await waitForFrame(inst, (f) => f.includes('Backfill'), 'run screen');
    inst.stdin.write('a');
    await waitForFrame(inst, (f) => f.includes('Abort the run now? [y/N]'), 'abort question');
    inst.stdin.write(KEYS.enter);
    await waitForFrame(inst, (f) => !f.includes('Abort the run now?'), 'question closed');
    expect(calls(intents, 'abort')).toHaveLength(0);
    inst.stdin.write('a');
    await waitForFrame(inst, (f) => f.includes('Abort the run now? [y/N]'), 'abort question again');
    inst.stdin.write('y');
    await waitFor(() => calls(intents, 'abort').length === 1, 'abort intent');
  });

  it('q asks while a step runs (the run stays resumable); n keeps going', async () => {
    const { inst, intents } = running();
    await waitForFrame(inst, (f) => f.includes('Backfill'), 'run screen');
    inst.stdin.write('q');
    const f = await waitForFrame(inst, (t) => t.includes('Quit while backfill_amount runs? [y/N]'), 'quit question');
    expect(f).toContain('resumable');
    inst.stdin.write('n');
    await waitForFrame(inst, (t) => !t.includes('Quit while'), 'question closed');
    expect(calls(intents, 'quit')).toHaveLength(0);
    inst.stdin.write('q');
    await waitForFrame(inst, (t) => t.includes('Quit while'), 'quit question again');
    inst.stdin.write('y');
    await waitFor(() => calls(intents, 'quit').length === 1, 'quit intent');
  });

  it('q quits at once when no step runs, and Ctrl+C always does', async () => {
    const { inst, intents, b } = running();
    b.emit({ type: 'step.completed', phase: 'deploy', stepId: 'backfill_amount', durationMs: 10 });
    await waitForFrame(inst, (f) => f.includes('✓ backfill_amount'), 'step done');
    inst.stdin.write('q');
    await waitFor(() => calls(intents, 'quit').length === 1, 'quit without a question');
    inst.stdin.write(KEYS.ctrlC);
    await waitFor(() => calls(intents, 'quit').length === 2, 'Ctrl+C');
  });

  it('l opens the log pager: it follows the end until scrolled, then holds still', async () => {
    const { inst, b } = running();
    for (let i = 1; i <= 60; i++) b.emit({ type: 'step.log', stepId: 'backfill_amount', level: 'info', message: `line ${i}` });
    await waitForFrame(inst, (f) => f.includes('line 60'), 'tail');
    inst.stdin.write('l');
    let f = await waitForFrame(inst, (t) => t.includes('following'), 'pager');
    expect(f).toContain('line 60');
    b.emit({ type: 'step.log', stepId: 'backfill_amount', level: 'info', message: 'line 61' });
    await waitForFrame(inst, (t) => t.includes('line 61'), 'follows new lines');
    inst.stdin.write(KEYS.pageUp);
    f = await waitForFrame(inst, (t) => /lines \d+-\d+ of/.test(t), 'scrolled');
    const [, before, total] = /lines (\d+-\d+) of (\d+)/.exec(f)!;
    b.emit({ type: 'step.log', stepId: 'backfill_amount', level: 'info', message: 'line 62' });
    // The total grows by one, the visible range stays.
    await waitForFrame(inst, (t) => t.includes(`lines ${before} of ${Number(total) + 1}`) && !t.includes('line 62'), 'view held still');
    inst.stdin.write('G');
    await waitForFrame(inst, (t) => t.includes('following') && t.includes('line 62'), 'following again');
    inst.stdin.write(KEYS.escape);
    await waitForFrame(inst, (t) => !t.includes('following') && t.includes('Backfill'), 'pager closed');
  });

  it('reports keys that have nothing to act on instead of doing something surprising', async () => {
    const { inst, intents, b } = running();
    b.emit({ type: 'step.completed', phase: 'deploy', stepId: 'backfill_amount', durationMs: 10 });
    await waitForFrame(inst, (f) => f.includes('✓ backfill_amount'), 'step done');
    inst.stdin.write('+');
    await waitForFrame(inst, (f) => f.includes('no backfill is running'), 'notice');
    inst.stdin.write('c');
    await waitForFrame(inst, (f) => f.includes('none of our statements is waiting'), 'cancel notice');
    expect(calls(intents, 'setBatchSize')).toHaveLength(0);
    expect(calls(intents, 'cancelOwnStatement')).toHaveLength(0);
    expect(frame(inst)).toContain('Log');
  });
});
