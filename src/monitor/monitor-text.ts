// One line per sample, for `pgrunbook monitor --plain` and logs: the same facts as the panels.
import { formatBytes, formatPercent as pct, formatSeconds, oneLine } from '../util/units.js';
import type { HostFigures } from '../engine/ports.js';
import type { HostSample, MonitorSample, WorkloadSample } from './monitor-types.js';
import { BACKEND_IO_ABSENT } from '../pg/server-pressure.js';

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

/** The host figures as the plain line and the host row both word them: CPU and iowait first, then disk and memory when known. */
export function hostParts(f: HostFigures): { cpu: string; ioWait: string; disk: string[]; mem: string | null } {
  const disk: string[] = [];
  if (f.diskQueueDepth !== null) disk.push(`disk queue ${f.diskQueueDepth.toFixed(1)}`);
  if (f.diskAwaitMs !== null) disk.push(`await ${f.diskAwaitMs.toFixed(1)}ms`);
  return {
    cpu: `CPU ${pct(f.cpuBusyPct)}${f.cpus ? ` of ${f.cpus} core${f.cpus === 1 ? '' : 's'}` : ''}`,
    ioWait: `iowait ${pct(f.ioWaitPct)}`,
    disk,
    mem:
      f.memAvailableBytes === null
        ? null
        : `mem free ${formatBytes(f.memAvailableBytes)}${f.memTotalBytes ? ` of ${formatBytes(f.memTotalBytes)}` : ''}`,
  };
}

/** The database host's figures (--node-exporter / --prometheus), or why there are none yet. */
export function hostSummary(h: HostSample): string {
  if (h.note) return `host: ${h.note}`;
  const f = h.figures;
  if (!f) return `host: waiting for a second reading from ${h.source}`;
  const p = hostParts(f);
  const parts = [p.cpu, p.ioWait, ...p.disk, ...(p.mem ? [p.mem] : [])];
  return `host: ${parts.join(', ')} over ${Math.round(f.seconds)} s`;
}

/** Client backends' own I/O since the start (pg_stat_io), or why it is not shown; undefined before a first reading. */
export function backendIoText(w: WorkloadSample): string | undefined {
  const io = w.backendIo;
  if (io === undefined) return undefined;
  if (io === null) return `backend I/O: ${BACKEND_IO_ABSENT}`;
  return `backends wrote ${io.writes} buffers, evicted ${io.evictions}, fsynced ${io.fsyncs}`;
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
  const io = s.workload && backendIoText(s.workload);
  // The counts are since the monitor started; the note that pg_stat_io is absent is not.
  if (io) parts.push(s.workload?.backendIo ? `${io} since start` : io);
  if (s.host) parts.push(hostSummary(s.host));
  parts.push(`poll ${s.pollMs.toFixed(1)}ms`);
  if (s.notes.length) parts.push(`notes: ${s.notes.join(' / ')}`);
  return parts.join(' | ');
}
