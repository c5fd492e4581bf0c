// One line per step with its state. Long lists scroll to keep the focus step in view.
import type React from 'react';
import { Box, Text } from 'ink';
import { useUiShallow } from '../context.js';
import { clip } from '../format.js';
import { formatMs } from '../../util/units.js';
import { focusStep, type StepStatus, type StepView } from '../store.js';
import { Rule } from './rule.js';

const MARK: Record<StepStatus, { mark: string; color?: string }> = {
  pending: { mark: '·' },
  running: { mark: '▶', color: 'cyan' },
  done: { mark: '✓', color: 'green' },
  failed: { mark: '✗', color: 'red' },
  skipped: { mark: '−', color: 'gray' },
};

export function stepRight(s: StepView): string {
  if (s.status === 'running' && s.backfill?.rowsTotal)
    return `${Math.min(100, Math.floor((100 * s.backfill.rowsDone) / s.backfill.rowsTotal))}%`;
  if (s.status === 'running' && s.index && s.index.blocksTotal > 0)
    return `${Math.floor((100 * s.index.blocksDone) / s.index.blocksTotal)}%`;
  if (s.status === 'running' && s.retry) return `retry ${s.retry.attempt}/${s.retry.of}`;
  if ((s.status === 'done' || s.status === 'failed') && s.durationMs !== undefined) return formatMs(s.durationMs);
  if (s.status === 'pending' && s.gate !== 'none') return s.gate;
  return '';
}

/** Picks `height` items around the focus index. */
export function windowAround<T>(items: T[], focus: number, height: number): { items: T[]; start: number } {
  if (items.length <= height) return { items, start: 0 };
  const start = Math.max(0, Math.min(items.length - height, focus - Math.floor(height / 2)));
  return { items: items.slice(start, start + height), start };
}

export function StepList(props: { width: number; height: number }): React.JSX.Element {
  // Select stable references only (a fresh array here would re-render forever); derive below.
  const { order, byId, focusId, gated, phase } = useUiShallow((s) => ({
    order: s.run.stepOrder,
    byId: s.run.steps,
    focusId: focusStep(s.run, s.gates[0])?.id,
    gated: s.gates[0]?.stepId ?? s.run.gatedSteps[0],
    phase: s.run.phase,
  }));
  const steps = order.map((id) => byId[id]!).filter((st) => st.phase !== 'rollback' || phase === 'rollback');
  const rows = Math.max(0, props.height - 1);
  const focusIdx = Math.max(
    0,
    steps.findIndex((s) => s.id === focusId),
  );
  const win = windowAround(steps, focusIdx, rows);
  const w = props.width - 1;
  return (
    <Box flexDirection="column" width={props.width} height={props.height} overflow="hidden">
      <Rule title="Steps" extra={phase} width={w} />
      {steps.length === 0 ? <Text dimColor>loading the plan…</Text> : null}
      {win.items.map((s) => {
        const m = s.id === gated && s.status === 'pending' ? { mark: '?', color: 'yellow' } : MARK[s.status];
        const right = s.id === gated && s.status === 'pending' ? 'gate' : stepRight(s);
        const name = clip(s.id, Math.max(4, w - 3 - right.length));
        const pad = Math.max(1, w - 2 - name.length - right.length);
        return (
          <Text key={s.id} wrap="truncate" bold={s.id === focusId}>
            <Text color={m.color}>{m.mark}</Text> {name}
            {' '.repeat(pad)}
            <Text dimColor>{right}</Text>
          </Text>
        );
      })}
    </Box>
  );
}
