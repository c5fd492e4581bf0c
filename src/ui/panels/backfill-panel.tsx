// Backfill: a gauge with rows done / estimated total, %, rate, ETA, batch size, pause and the
// current throttle reason, from step.progress and step.throttle events.
import type React from 'react';
import { Box, Text } from 'ink';
import type { BackfillProgress } from '../../engine/events.js';
import { useUiShallow } from '../context.js';
import { clip, fmtCompact, fmtInt, gauge } from '../format.js';
import { formatMs, formatSeconds } from '../../util/units.js';
import { activeBackfill } from '../store.js';
import { Rule } from '../components/rule.js';

export interface BackfillView {
  stepId: string;
  running: boolean;
  progress: BackfillProgress;
  /** Latest step.throttle (overrides progress.throttle when newer). */
  throttle?: { reason: string | null; detail?: string };
}

export function backfillLines(
  v: BackfillView,
  width: number,
): { gaugeLine: string; pct: string; counts: string; stats: string; throttle: string } {
  const p = v.progress;
  const total = p.rowsTotal;
  const frac = total && total > 0 ? Math.min(1, p.rowsDone / total) : 0;
  const pct = total && total > 0 ? `${(frac * 100).toFixed(1)}%` : '?%';
  const counts = `${fmtInt(p.rowsDone)} / ${total !== null ? `~${fmtInt(total)}` : '?'} rows`;
  const bar = Math.max(5, width - pct.length - counts.length - 3);
  const reason = v.throttle ? v.throttle.reason : p.throttle;
  const throttle = reason ? `${reason}${v.throttle?.detail ? ` (${v.throttle.detail})` : ''}` : 'none';
  const stats = [
    `${fmtCompact(p.rate)} rows/s`,
    `ETA ${p.etaSeconds !== null ? formatSeconds(p.etaSeconds) : '—'}`,
    `batch ${fmtInt(p.batchSize)}`,
    `pause ${formatMs(p.pauseMs)}`,
    `last ${formatMs(p.lastBatchMs)}`,
  ].join(' · ');
  return { gaugeLine: gauge(frac, bar), pct, counts, stats, throttle };
}

/** The panel is named by what the batch engine does in this step, not by the engine. */
const TITLE_BY_KIND: Record<string, string> = { swap_table: 'Copy', batched_delete: 'Batched delete' };

export function BackfillPanel(props: { width: number; height: number }): React.JSX.Element | null {
  // Stable references only: the step object and its progress change when an event patches them.
  const { step, progress, paused } = useUiShallow((s) => {
    const a = activeBackfill(s.run);
    return { step: a?.step, progress: a?.progress, paused: s.run.status === 'paused' };
  });
  if (!step || !progress) return null;
  const found = { step, progress };
  const throttle = step.throttle;
  const v: BackfillView = {
    stepId: found.step.id,
    running: found.step.status === 'running',
    progress: found.progress,
    ...(throttle ? { throttle } : {}),
  };
  const w = props.width;
  const title = TITLE_BY_KIND[found.step.kind] ?? 'Backfill';
  const l = backfillLines(v, w);
  const state = v.progress.paused || (paused && v.running) ? 'PAUSED' : v.running ? v.progress.pass : found.step.status;
  const throttled = l.throttle !== 'none';
  const statsLine = (
    <Text wrap="truncate">
      {l.stats} · <Text color={throttled ? 'yellow' : undefined}>throttle: {clip(l.throttle, Math.max(4, w - l.stats.length - 13))}</Text>
    </Text>
  );
  if (props.height <= 2) {
    return (
      <Box flexDirection="column" width={w} height={props.height}>
        <Text wrap="truncate">
          <Text bold>{title} </Text>
          <Text color="green">
            {gauge(
              v.progress.rowsTotal ? v.progress.rowsDone / v.progress.rowsTotal : 0,
              Math.max(5, w - title.length - 1 - l.pct.length - l.counts.length - 2),
            )}
          </Text>{' '}
          {l.pct} {l.counts}
        </Text>
        {statsLine}
      </Box>
    );
  }
  return (
    <Box flexDirection="column" width={w} height={props.height}>
      <Rule title={title} extra={`${v.stepId} · ${state}`} width={w} color={state === 'PAUSED' ? 'yellow' : undefined} />
      <Text wrap="truncate">
        <Text color="green">{l.gaugeLine}</Text> {l.pct} {l.counts}
      </Text>
      {statsLine}
    </Box>
  );
}
