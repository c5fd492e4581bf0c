// Index build: every CREATE INDEX / REINDEX in progress (pg_stat_progress_create_index): phase,
// blocks and tuples done of total, and the lockers (old transactions) it is waiting for.
import type React from 'react';
import { Box } from 'ink';
import type { IndexBuild } from '../../monitor/monitor-types.js';
import { formatBytes } from '../../util/units.js';
import { noteRows, clipRows, gaugeBar, PanelTitle, SegLine, unavailableNote, type MonitorPanelProps, type Seg } from './monitor-kit.js';

const pct = (done: number, total: number) => (total > 0 ? Math.min(100, Math.floor((100 * done) / total)) : 0);

/** Up to three rows per build: what, phase and lockers, progress. */
export function indexBuildRows(b: IndexBuild, width: number): Seg[][] {
  const rows: Seg[][] = [];
  const size = b.indexBytes != null ? ` · ${formatBytes(b.indexBytes)}` : '';
  rows.push([
    { text: b.index, tone: 'strong' },
    { text: ` on ${b.relation}` },
    { text: ` · ${b.command ?? 'CREATE INDEX'} · pid ${b.pid}${size}`, tone: 'dim' },
  ]);
  const waitingForLockers = b.lockersTotal > 0 && b.lockersDone < b.lockersTotal;
  const phase: Seg[] = [{ text: `  ${b.phase}`, tone: b.phase.startsWith('waiting') ? 'warn' : undefined }];
  if (b.lockersTotal > 0) {
    phase.push({
      text: ` · lockers ${b.lockersDone}/${b.lockersTotal}${b.currentLockerPid ? `, pid ${b.currentLockerPid}` : ''}`,
      tone: waitingForLockers ? 'warn' : undefined,
    });
  }
  rows.push(phase);
  const parts: Seg[] = [];
  if (b.blocksTotal > 0) {
    const p = pct(b.blocksDone, b.blocksTotal);
    const label = ` ${String(p).padStart(3)}% blocks ${b.blocksDone}/${b.blocksTotal}`;
    const bar = Math.max(5, Math.min(30, width - 2 - label.length - (b.tuplesTotal > 0 ? 22 : 0)));
    parts.push({ text: '  ' }, { text: gaugeBar(p / 100, bar), tone: 'ok' }, { text: label });
  }
  if (b.tuplesTotal > 0) parts.push({ text: `${parts.length ? ' · ' : '  '}tuples ${b.tuplesDone}/${b.tuplesTotal}` });
  if (parts.length) rows.push(parts);
  return rows;
}

export function IndexBuildPanel(props: MonitorPanelProps): React.JSX.Element {
  const { sample, width, color } = props;
  const height = Math.max(1, props.height);
  const off = unavailableNote(sample, 'indexBuilds', 'index builds');
  const builds = sample.indexBuilds;
  const extra = off ? 'unavailable' : builds.length === 0 ? 'none running' : `${builds.length} running`;
  const rows: Seg[][] = off ? noteRows(off, width, Math.max(1, height - 1)) : builds.flatMap((b) => indexBuildRows(b, width));
  const shown = clipRows(rows, height - 1, (n) => [{ text: `… ${n} more line${n > 1 ? 's' : ''}`, tone: 'dim' }]);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <PanelTitle title="Index build" extra={extra} width={width} color={color} />
      {shown.map((segs, i) => (
        <SegLine key={i} segs={segs} width={width} color={color} />
      ))}
    </Box>
  );
}
