import { describe, expect, it } from 'vitest';
import type { GateRequest } from '../../../src/engine/gates.js';
import { firstIndex, initialPager, pagerReducer } from '../../../src/ui/widgets/pager/pager-reducer.js';
import { gateReducer, gateStep, initialGateUi } from '../../../src/ui/widgets/gate/gate-reducer.js';

describe('pagerReducer', () => {
  const seqs = Array.from({ length: 50 }, (_, i) => i + 1);
  it('follows the end until scrolled, and follows again at the bottom', () => {
    expect(firstIndex(initialPager, seqs, 10)).toBe(40);
    const up = pagerReducer(initialPager, 'up', seqs, 10);
    expect(up).toEqual({ top: 40 });
    // New lines do not move a scrolled view.
    expect(firstIndex(up, [...seqs, 51, 52], 10)).toBe(39);
    expect(pagerReducer(up, 'down', seqs, 10)).toEqual({ top: null });
    expect(pagerReducer(up, 'pageUp', seqs, 10)).toEqual({ top: 31 });
    expect(pagerReducer({ top: 5 }, 'pageUp', seqs, 10)).toEqual({ top: 1 });
    expect(pagerReducer({ top: 31 }, 'follow', seqs, 10)).toEqual({ top: null });
    expect(pagerReducer(initialPager, 'top', seqs, 10)).toEqual({ top: 1 });
  });
  it('copes with lines dropped from the front (the capped log)', () => {
    const later = seqs.map((s) => s + 30); // 31..80
    expect(firstIndex({ top: 10 }, later, 10)).toBe(0);
  });
  it('does nothing useful with fewer lines than the view', () => {
    expect(pagerReducer(initialPager, 'top', [1, 2], 10)).toEqual({ top: null });
    expect(pagerReducer(initialPager, 'up', [1, 2], 10)).toEqual({ top: null });
  });
});

describe('gate prompt reducer', () => {
  const confirm: GateRequest = { id: 'g', stepId: 's', level: 'confirm', title: 't', action: 'a', evidence: [] };
  const type: GateRequest = { ...confirm, level: 'type', expectText: 'orders' };
  it('confirm: y approves; n, Enter and Esc decline; nothing else answers', () => {
    expect(gateStep(confirm, initialGateUi, 'gate.yes', 'y')).toEqual({ answer: { approved: true } });
    expect(gateStep(confirm, initialGateUi, 'gate.no', '')).toMatchObject({ answer: { approved: false } });
    expect(gateStep(confirm, initialGateUi, undefined, 'x')).toBeUndefined();
    expect(gateStep(confirm, initialGateUi, 'gate.choice', '1')).toBeUndefined();
  });
  it('type: characters accumulate, Enter approves only on an exact match', () => {
    let s = initialGateUi;
    for (const ch of ['o', 'r', 'd', 'e', 'r', 'x']) s = gateReducer(s, { type: 'char', text: ch });
    s = gateReducer(s, { type: 'erase' });
    expect(s.typed).toBe('order');
    expect(gateStep(type, s, 'type.submit', '')).toMatchObject({ ui: { type: 'error' } });
    s = gateReducer(s, { type: 'char', text: 's' });
    expect(gateStep(type, s, 'type.submit', '')).toEqual({ answer: { approved: true, typed: 'orders' } });
    expect(gateReducer(s, { type: 'char', text: '\u0007\u001b' }).typed).toBe('orders');
  });
  it('choices: a digit picks an offered option', () => {
    const req = { ...confirm, choices: ['rerun', 'skip'] };
    expect(gateStep(req, initialGateUi, 'gate.choice', '2')).toEqual({ answer: { approved: true, choice: 'skip' } });
    expect(gateStep(req, initialGateUi, 'gate.choice', '3')).toBeUndefined();
    expect(gateStep(req, initialGateUi, 'gate.yes', 'y')).toBeUndefined();
  });
});
