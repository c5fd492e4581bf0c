// Keys at a gate. Only mounted with a raw-mode TTY (isActive), like every input hook here.
import { useRef, type Dispatch } from 'react';
import { useInput } from 'ink';
import type { GateAnswer, GateRequest } from '../../../engine/gates.js';
import { matchAction } from '../../keymap.js';
import { gateReducer, gateStep, type GateUiAction, type GateUiState } from './gate-reducer.js';

export function useGateInput(opts: {
  req: GateRequest;
  state: GateUiState;
  dispatch: Dispatch<GateUiAction>;
  decide(id: string, answer: GateAnswer): void;
  active: boolean;
  escapeDeclines: boolean;
}): void {
  // Keys can arrive faster than React re-subscribes the handler: keep the latest state in a ref
  // that the handler itself advances, so "ord" + Enter typed in one burst is judged on "ord".
  const latest = useRef(opts.state);
  latest.current = opts.state;
  useInput(
    (input, key) => {
      const action = matchAction(opts.req.level === 'type' ? 'typeGate' : 'gate', input, key);
      if (action === 'interrupt') return; // handled by the run keys
      if (key.escape && !opts.escapeDeclines) return;
      // Unbound control keys (arrows, Tab, Alt+x...) are not text.
      const text =
        action === undefined && (key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow)
          ? ''
          : input;
      const feed = (a: typeof action, t: string): boolean => {
        const step = gateStep(opts.req, latest.current, a, t);
        if (!step) return false;
        if ('answer' in step) {
          opts.decide(opts.req.id, step.answer);
          return true;
        }
        latest.current = gateReducer(latest.current, step.ui);
        opts.dispatch(step.ui);
        return false;
      };
      // Pasted text with its Enter ("orders\r") arrives as one chunk: type it, then submit.
      const burst = opts.req.level === 'type' && action === undefined ? /^([^\r\n]*)[\r\n]/.exec(text) : null;
      if (burst) {
        if (burst[1]) feed(undefined, burst[1]);
        feed('type.submit', '');
        return;
      }
      feed(action, text);
    },
    { isActive: opts.active },
  );
}
