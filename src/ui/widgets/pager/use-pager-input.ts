import { useInput } from 'ink';
import { matchAction } from '../../keymap.js';
import type { PagerAction } from './pager-reducer.js';

const MAP: Partial<Record<string, PagerAction>> = {
  'pager.up': 'up',
  'pager.down': 'down',
  'pager.pageUp': 'pageUp',
  'pager.pageDown': 'pageDown',
  'pager.top': 'top',
  'pager.follow': 'follow',
};

export function usePagerInput(opts: { move(a: PagerAction): void; close(): void; active: boolean }): void {
  useInput(
    (input, key) => {
      const action = matchAction('pager', input, key);
      if (!action) return;
      if (action === 'pager.close') return opts.close();
      const move = MAP[action];
      if (move) opts.move(move);
    },
    { isActive: opts.active },
  );
}
