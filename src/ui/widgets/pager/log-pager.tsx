// Full-height log view (`l`): follows new lines until scrolled, then holds still.
import type React from 'react';
import { useState } from 'react';
import { Box } from 'ink';
import { useUi, useUiStore } from '../../context.js';
import { LogLineView } from '../../components/log-tail.js';
import { Rule } from '../../components/rule.js';
import { firstIndex, initialPager, pagerReducer, type PagerAction } from './pager-reducer.js';
import { usePagerInput } from './use-pager-input.js';

export function LogPager(props: { width: number; height: number; active: boolean }): React.JSX.Element {
  const log = useUi((s) => s.run.log);
  const store = useUiStore();
  const [state, setState] = useState(initialPager);
  const rows = Math.max(1, props.height - 1);
  const seqs = log.map((l) => l.seq);
  const move = (a: PagerAction) => setState((s) => pagerReducer(s, a, seqs, rows));
  usePagerInput({ move, close: () => store.getState().setOverlay('none'), active: props.active });
  const start = firstIndex(state, seqs, rows);
  const shown = log.slice(start, start + rows);
  const where = state.top === null ? 'following' : `lines ${start + 1}-${start + shown.length} of ${log.length}`;
  return (
    <Box flexDirection="column" width={props.width} height={props.height} overflow="hidden">
      <Rule title="Log" extra={`${where} · ↑↓ PgUp PgDn g G · l/q/Esc close`} width={props.width} color="cyan" />
      {shown.map((l) => (
        <LogLineView key={l.seq} line={l} />
      ))}
    </Box>
  );
}
