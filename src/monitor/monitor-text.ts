// One line per sample, for `pgrunbook monitor --plain` and logs: the same facts as the panels.
import { formatBytes, formatSeconds, oneLine } from '../util/units.js';
import type { MonitorSample } from './monitor-types.js';

export function connectionsSummary(s: MonitorSample): string {
  const entries = Object.entries(s.connectionsByState).sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((a, [, n]) => a + n, 0);
  const parts = entries.map(([k, n]) => `${k} ${n}`).join(', ');
  return `${total}${s.maxConnections ? `/${s.maxConnections}` : ''}${parts ? ` (${parts})` : ''}`;
}

export function indexPhaseSummary(b: MonitorSample['indexBuilds'][number]): string {
  const pct = b.blocksTotal > 0 ? ` ${Math.floor((100 * b.blocksDone) / b.blocksTotal)}%` : '';
  const lockers = b.lockersTotal > 0 ? ` lockers ${b.lockersDone}/${b.lockersTotal}` : '';
  return `${b.phase}${pct}${lockers}`;
}

export function formatSampleLine(s: MonitorSample): string {
  const time = new Date(s.at).toISOString().slice(11, 19);
  const parts: string[] = [`${time} conns ${connectionsSummary(s)}`];

  const waiters = s.locks.filter((l) => l.blockedBy.length > 0);
  const ended = s.recentLockWaits ?? [];
  if (waiters.length === 0 && ended.length > 0) {
    const longest = Math.max(...ended.map((w) => w.seconds));
    parts.push(`locks: none waiting (${ended.length} ended in the last minute, longest ${formatSeconds(longest)})`);
  } else if (waiters.length === 0) parts.push('locks: none waiting');
  else {
    const longest = Math.max(...waiters.map((l) => l.waitingSeconds ?? 0));
    const head = s.locks[0]!;
    parts.push(`locks: ${waiters.length} waiting, longest ${formatSeconds(longest)}, ${head.queuedBehind} behind pid ${head.pid}`);
  }

  if (s.longQueries.length === 0) parts.push(`long: none over ${formatSeconds(s.longQuerySeconds ?? null)}`);
  else {
    const q = s.longQueries[0]!;
    parts.push(
      `long: ${s.longQueries.length}, oldest pid ${q.pid} ${q.state} ${formatSeconds(Math.max(q.durationSeconds, q.xactAgeSeconds ?? 0))} ${JSON.stringify(oneLine(q.query, 40))}`,
    );
  }

  const wal = s.walBytesPerSecond === null ? 'WAL -' : `WAL ${formatBytes(s.walBytesPerSecond)}/s`;
  if (s.role === 'standby') {
    parts.push(`repl: standby, replay gap ${formatBytes(s.recovery?.replayGapBytes ?? null)}, ${wal}`);
  } else if (s.standbys.length === 0) parts.push(`repl: no standbys, ${wal}`);
  else {
    const lag = Math.max(...s.standbys.map((x) => x.lagBytes ?? 0));
    const replay = Math.max(...s.standbys.map((x) => x.replayLagSeconds ?? 0));
    parts.push(`repl: ${s.standbys.length} standby, max lag ${formatBytes(lag)} / ${formatSeconds(replay)}, ${wal}`);
  }

  for (const b of s.indexBuilds) parts.push(`index ${b.index}: ${indexPhaseSummary(b)}`);
  const sizes = s.relationSizes ?? [];
  if (sizes.length)
    parts.push(
      `sizes: ${sizes.map((r) => `${r.relation} ${r.bytes !== null ? formatBytes(r.bytes) : `? (${r.skipped ?? 'skipped'})`}`).join(', ')}`,
    );
  parts.push(`poll ${s.pollMs.toFixed(1)}ms`);
  if (s.notes.length) parts.push(`notes: ${s.notes.join(' / ')}`);
  return parts.join(' | ');
}
