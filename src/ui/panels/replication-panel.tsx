// Replication: the WAL rate, connections by state, each standby's lag in bytes and time, and the
// replication slots that hold WAL back. On a standby: how far replay trails what was received.
import type React from 'react';
import { Box } from 'ink';
import type { MonitorSample } from '../../monitor/monitor-types.js';
import { formatBytes, formatSeconds } from '../../util/units.js';
import { noteRows, clipRows, PanelTitle, SegLine, unavailableNote, type MonitorPanelProps, type Seg } from './monitor-kit.js';

const STATE_SHORT: Record<string, string> = {
  'idle in transaction': 'idle-tx',
  'idle in transaction (aborted)': 'idle-tx!',
  'fastpath function call': 'fastpath',
};

export function connectionsSegs(s: MonitorSample): Seg[] {
  const entries = Object.entries(s.connectionsByState).sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((a, [, n]) => a + n, 0);
  const full = s.maxConnections ? total / s.maxConnections : 0;
  const segs: Seg[] = [
    {
      text: `conns ${total}${s.maxConnections ? `/${s.maxConnections}` : ''}`,
      tone: full >= 0.9 ? 'bad' : full >= 0.75 ? 'warn' : undefined,
    },
  ];
  if (entries.length) {
    segs.push({
      text: ` · ${entries.map(([k, n]) => `${STATE_SHORT[k] ?? k} ${n}`).join(' · ')}`,
      tone: 'dim',
    });
  }
  return segs;
}

export function replicationRows(s: MonitorSample): Seg[][] {
  const rows: Seg[][] = [connectionsSegs(s)];
  if (s.role === 'standby' && s.recovery) {
    const r = s.recovery;
    rows.push([
      { text: 'this server is a standby', tone: 'strong' },
      { text: ` · replay gap ${formatBytes(r.replayGapBytes)}`, tone: (r.replayGapBytes ?? 0) > 16 * 2 ** 20 ? 'warn' : undefined },
      { text: ` · last replayed commit ${r.lastReplaySeconds === null ? '-' : `${formatSeconds(r.lastReplaySeconds)} ago`}`, tone: 'dim' },
    ]);
  }
  if (s.standbys.length === 0 && s.role !== 'standby') rows.push([{ text: 'no standbys connected', tone: 'dim' }]);
  for (const sb of s.standbys) {
    const lagTone = (sb.lagBytes ?? 0) >= 64 * 2 ** 20 ? 'bad' : (sb.lagBytes ?? 0) >= 16 * 2 ** 20 ? 'warn' : 'ok';
    rows.push([
      { text: sb.name, tone: 'strong' },
      { text: ` ${sb.state}${sb.syncState ? ` ${sb.syncState}` : ''}`, tone: sb.state === 'streaming' ? undefined : 'warn' },
      { text: ` lag ${formatBytes(sb.lagBytes)}`, tone: lagTone },
      // replay_lag is NULL when the standby has caught up and nothing is being written.
      { text: ` · replay ${sb.replayLagSeconds === null ? 'idle' : formatSeconds(sb.replayLagSeconds)}` },
      { text: `${sb.clientAddr ? ` · ${sb.clientAddr}` : ''}${sb.slot ? ` · slot ${sb.slot}` : ''}`, tone: 'dim' },
    ]);
  }
  // Slots in use by a connected standby are on its line; the others can hold WAL back unnoticed.
  const onStandbyLine = new Set(s.standbys.map((x) => x.slot).filter(Boolean));
  for (const sl of s.slots ?? []) {
    if (onStandbyLine.has(sl.name)) continue;
    rows.push([
      { text: `slot ${sl.name}`, tone: 'strong' },
      { text: ` ${sl.type}${sl.database ? ` on ${sl.database}` : ''}` },
      { text: ` ${sl.active ? 'active' : 'inactive'}`, tone: sl.active ? undefined : 'warn' },
      {
        text: ` · holds ${formatBytes(sl.retainedBytes)} WAL${sl.walStatus && sl.walStatus !== 'reserved' ? ` (${sl.walStatus})` : ''}`,
        tone: sl.walStatus === 'lost' || sl.walStatus === 'unreserved' ? 'bad' : undefined,
      },
    ]);
  }
  return rows;
}

export function ReplicationPanel(props: MonitorPanelProps): React.JSX.Element {
  const { sample, width, color } = props;
  const height = Math.max(1, props.height);
  const off = unavailableNote(sample, 'replication', 'replication');
  const wal = sample.walBytesPerSecond === null ? 'WAL -' : `WAL ${formatBytes(sample.walBytesPerSecond)}/s`;
  const extra = off ? 'unavailable' : `${sample.role ?? '?'} · ${sample.role === 'standby' ? `replay ${wal}` : wal}`;
  const rows: Seg[][] = off ? [connectionsSegs(sample), ...noteRows(off, width, Math.max(1, height - 2))] : replicationRows(sample);
  const shown = clipRows(rows, height - 1, (n) => [{ text: `… ${n} more`, tone: 'dim' }]);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <PanelTitle title="Replication" extra={extra} width={width} color={color} />
      {shown.map((segs, i) => (
        <SegLine key={i} segs={segs} width={width} color={color} />
      ))}
    </Box>
  );
}
