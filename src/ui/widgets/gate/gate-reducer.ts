// Gate prompt state: what has been typed (type gates) and the last complaint. Pure.
import { expectedText, type GateAnswer, type GateRequest } from '../../../engine/gates.js';
import type { Action } from '../../keymap.js';

export interface GateUiState {
  typed: string;
  error?: string;
  /** Everything shown, in full, scrolled by `scroll` lines. */
  expanded?: boolean;
  scroll?: number;
}

export type GateUiAction =
  | { type: 'char'; text: string }
  | { type: 'erase' }
  | { type: 'error'; message: string }
  | { type: 'expand' }
  | { type: 'scroll'; by: number };

export const initialGateUi: GateUiState = { typed: '' };

export function gateReducer(s: GateUiState, a: GateUiAction): GateUiState {
  switch (a.type) {
    case 'char':
      // Pasted text arrives in one piece; keep printable characters only.
      return { ...view(s), typed: (s.typed + a.text.replace(/[\u0000-\u001f\u007f]/g, '')).slice(0, 200) };
    case 'erase':
      return { ...view(s), typed: s.typed.slice(0, -1) };
    case 'error':
      return { ...s, error: a.message };
    case 'expand':
      return { ...s, expanded: !s.expanded, scroll: 0 };
    case 'scroll':
      // The view clamps the top end (it knows the line count).
      return s.expanded ? { ...s, scroll: Math.max(0, (s.scroll ?? 0) + a.by) } : s;
  }
}

function view(s: GateUiState): Pick<GateUiState, 'expanded' | 'scroll'> {
  return { expanded: s.expanded, scroll: s.scroll };
}

export type GateStep = { answer: GateAnswer } | { ui: GateUiAction } | undefined;

/** What a resolved key does at this gate: answer it, change the prompt state, or nothing. */
export function gateStep(req: GateRequest, s: GateUiState, action: Action | undefined, input: string): GateStep {
  const typeGate = req.level === 'type';
  if (action === 'gate.expand') return { ui: { type: 'expand' } };
  if (action === 'gate.scrollUp' || action === 'gate.scrollDown')
    return { ui: { type: 'scroll', by: action === 'gate.scrollUp' ? -1 : 1 } };
  if (typeGate) {
    if (action === 'type.cancel') return { answer: { approved: false, reason: 'declined by the operator' } };
    if (action === 'type.erase') return { ui: { type: 'erase' } };
    if (action === 'type.submit') {
      const want = expectedText(req);
      if (s.typed === want)
        return { answer: { approved: true, typed: s.typed, ...(req.choices?.length ? { choice: req.choices[0] } : {}) } };
      return {
        ui: {
          type: 'error',
          message: s.typed ? `"${s.typed}" does not match; type ${want} exactly, or Esc to decline` : `type ${want} to approve`,
        },
      };
    }
    if (action === undefined && input.length > 0) return { ui: { type: 'char', text: input } };
    return undefined;
  }
  if (action === 'gate.no') return { answer: { approved: false, reason: 'declined by the operator' } };
  if (req.choices?.length) {
    if (action === 'gate.choice') {
      const choice = req.choices[Number(input) - 1];
      return choice === undefined ? undefined : { answer: { approved: true, choice } };
    }
    return undefined;
  }
  if (action === 'gate.yes') return { answer: { approved: true } };
  return undefined;
}
