// Long queries: non-idle sessions whose statement or transaction is older than the threshold,
// oldest first: state, how long, transaction age, who, and the query text cut to the width.
import type React from 'react';
import { Box } from 'ink';
import type { LongQuery } from '../../monitor/monitor-types.js';
import { formatSeconds } from '../../util/units.js';
import { noteRows, clipRows, PanelTitle, SegLine, unavailableNote, type MonitorPanelProps, type Seg } from './monitor-kit.js';

function shortState(state: string): string {
  if (state === 'idle in transaction') return 'idle-tx';
  if (state === 'idle in transaction (aborted)') return 'idle-tx!';
  if (state === 'fastpath function call') return 'fastpath';
  return state;
}

/** Wide panels get aligned columns; narrow ones (the 2×2 grid at 80 columns) the essentials. */
export function longQuerySegs(q: LongQuery, width: number): Seg[] {
  const idle = q.state.startsWith('idle in transaction');
  const segs: Seg[] = [
    { text: String(q.pid).padStart(6), tone: q.ours ? 'ours' : undefined },
    { text: q.ours ? '* ' : '  ', tone: 'ours' },
  ];
  const stateTone = idle ? 'warn' : q.waitEvent?.startsWith('Lock') ? 'warn' : undefined;
  if (width >= 64) {
    segs.push(
      { text: `${shortState(q.state).padEnd(8)} `, tone: stateTone },
      { text: `${formatSeconds(q.durationSeconds).padStart(6)} ` },
      { text: `xact ${formatSeconds(q.xactAgeSeconds).padStart(6)} `, tone: (q.xactAgeSeconds ?? 0) >= 60 ? 'bad' : 'dim' },
      { text: `${(q.applicationName || q.user || '').slice(0, 14).padEnd(14)} `, tone: q.ours ? 'ours' : 'dim' },
    );
  } else {
    // Narrow: the age that matters (the transaction's when idle in one).
    const age = idle ? (q.xactAgeSeconds ?? q.durationSeconds) : q.durationSeconds;
    segs.push({ text: `${shortState(q.state)} `, tone: stateTone }, { text: `${formatSeconds(age)} ` });
  }
  segs.push({ text: (q.query || '(no query text)').replace(/\s+/g, ' ') });
  return segs;
}

export function LongQueriesPanel(props: MonitorPanelProps): React.JSX.Element {
  const { sample, width, color } = props;
  const height = Math.max(1, props.height);
  const threshold = formatSeconds(sample.longQuerySeconds ?? null);
  const off = unavailableNote(sample, 'sessions', 'sessions');
  const qs = sample.longQueries;
  const oldest = qs.reduce((m, q) => Math.max(m, q.xactAgeSeconds ?? 0), 0);
  const extra = off
    ? 'unavailable'
    : qs.length === 0
      ? `none over ${threshold}`
      : `${qs.length} over ${threshold} · oldest xact ${formatSeconds(oldest)}`;
  const rows: Seg[][] = off ? noteRows(off, width, Math.max(1, height - 1)) : qs.map((q) => longQuerySegs(q, width));
  if (!off && (sample.hiddenSessions ?? 0) > 0) {
    rows.push([{ text: `${sample.hiddenSessions} sessions of other roles hidden (grant pg_read_all_stats)`, tone: 'warn' }]);
  }
  const shown = clipRows(rows, height - 1, (n) => [{ text: `… ${n} more`, tone: 'dim' }]);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <PanelTitle title="Long queries" extra={extra} width={width} color={color} tone={qs.length ? 'warn' : undefined} />
      {shown.map((segs, i) => (
        <SegLine key={i} segs={segs} width={width} color={color} />
      ))}
    </Box>
  );
}
