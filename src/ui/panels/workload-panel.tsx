// Workload: what the application feels on the tables the run touches. The WAL rate, checkpoints
// since the run began, a vacuum on the table and client backends' own writes, evictions and fsyncs
// (pg_stat_io, 16+); the top statements by time in the last poll with
// their mean latency against the mean recorded before the run, and calls/s; and the sessions waiting
// on locks on those tables. Without pg_stat_statements, one line says how to enable it. With a host
// endpoint (--node-exporter, --prometheus), a first line shows the database host's CPU, I/O and memory.
import type React from 'react';
import { Box } from 'ink';
import type { HostSample, WorkloadSample, WorkloadStatement } from '../../monitor/monitor-types.js';
import { formatBytes, formatMs } from '../../util/units.js';
import { backendIoText, hostParts } from '../../monitor/monitor-text.js';
import { clipRows, noteRows, PanelTitle, SegLine, type MonitorPanelProps, type Seg } from './monitor-kit.js';

/** A statement at or over this many times its baseline mean is shown as a warning (the app_latency default). */
const SLOWER = 1.5;

const oneLine = (q: string) => q.replace(/\s+/g, ' ').trim();
/** Statement latencies are often under a millisecond: keep two decimals there. */
const latency = (ms: number) => (ms < 10 ? `${ms.toFixed(2)}ms` : ms < 1000 ? `${Math.round(ms)}ms` : formatMs(ms));

export function pressureSegs(walBytesPerSecond: number | null, w: WorkloadSample): Seg[] {
  const segs: Seg[] = [{ text: `WAL ${walBytesPerSecond === null ? '-' : `${formatBytes(walBytesPerSecond)}/s`}` }];
  const c = w.checkpoints;
  if (c) {
    segs.push({ text: ` · checkpoints ${c.requested} requested / ${c.timed} timed`, tone: c.requested > 0 ? 'warn' : undefined });
    segs.push({ text: ` · ${c.buffersWritten} buffers written`, tone: 'dim' });
  }
  if (w.vacuumPhase) segs.push({ text: ` · vacuum: ${w.vacuumPhase}`, tone: 'warn' });
  const io = backendIoText(w);
  // A backend that fsyncs itself found the checkpointer's request queue full.
  if (io) segs.push({ text: ` · ${io}`, tone: w.backendIo?.fsyncs ? 'warn' : 'dim' });
  return segs;
}

export function statementSegs(s: WorkloadStatement): Seg[] {
  const ratio = s.baselineMeanMs ? s.meanMs / s.baselineMeanMs : null;
  return [
    { text: `${latency(s.meanMs).padStart(8)} `, tone: ratio !== null && ratio >= SLOWER ? 'warn' : undefined },
    { text: `${(s.baselineMeanMs === null ? 'new' : `${ratio!.toFixed(1)}x ${latency(s.baselineMeanMs)}`).padEnd(13)} `, tone: 'dim' },
    { text: `${s.callsPerSec === null ? '-' : Math.round(s.callsPerSec)}/s `.padStart(7) },
    { text: oneLine(s.query) },
  ];
}

function bodyRows(p: MonitorPanelProps, w: WorkloadSample): Seg[][] {
  const rows: Seg[][] = [pressureSegs(p.sample.walBytesPerSecond, w)];
  if (!w.statementsAvailable) {
    const note = w.notes.find((n) => n.startsWith('pg_stat_statements')) ?? 'pg_stat_statements unreadable';
    rows.push(...noteRows(note, p.width, 1));
  } else if (w.statements.length === 0) rows.push([{ text: 'no application statements on these tables in the last poll', tone: 'dim' }]);
  else {
    rows.push([{ text: `${'mean'.padStart(8)} ${'vs before'.padEnd(13)} ${'calls'.padStart(6)} statement`, tone: 'dim' }]);
    rows.push(...w.statements.map(statementSegs));
  }
  for (const l of w.lockWaits) {
    rows.push([
      { text: `waits ${formatMs(l.waitMs)} `, tone: 'bad' },
      { text: `pid ${l.pid} ${l.lockType} ${l.mode} on ${l.relation}: `, tone: 'dim' },
      { text: oneLine(l.query) },
    ]);
  }
  return rows;
}

/** CPU busy and I/O wait at or over these (the host_cpu and io_wait defaults) show as warnings. */
const HOST_CPU_WARN = 85;
const IO_WAIT_WARN = 20;

/** The host line: CPU, I/O wait, the busiest disk's queue, await and free memory; or why there is none. */
export function hostRows(h: HostSample, width: number): Seg[][] {
  if (h.note) return noteRows(h.note, width, 2);
  const f = h.figures;
  if (!f) return [[{ text: `host: waiting for a second reading from ${h.source}`, tone: 'dim' }]];
  const p = hostParts(f);
  return [
    [
      { text: 'host: ' },
      { text: p.cpu, tone: f.cpuBusyPct >= HOST_CPU_WARN ? 'warn' : undefined },
      { text: ' · ' },
      { text: p.ioWait, tone: f.ioWaitPct >= IO_WAIT_WARN ? 'warn' : undefined },
      ...p.disk.map((text): Seg => ({ text: ` · ${text}` })),
      ...(p.mem ? [{ text: ` · ${p.mem}`, tone: 'dim' } as Seg] : []),
    ],
  ];
}

export function WorkloadPanel(props: MonitorPanelProps): React.JSX.Element {
  const { sample, width, color } = props;
  const height = Math.max(1, props.height);
  const w = sample.workload;
  const extra = w ? `${w.tables.join(', ')}${w.lockWaits.length ? ` · ${w.lockWaits.length} waiting` : ''}` : 'no tables watched';
  const rows = [
    ...(sample.host ? hostRows(sample.host, width) : []),
    ...(w ? bodyRows(props, w) : [[{ text: 'the run names no table to watch', tone: 'dim' } as Seg]]),
  ];
  const shown = clipRows(rows, height - 1, (n) => [{ text: `… ${n} more`, tone: 'dim' }]);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      <PanelTitle title="Workload" extra={extra} width={width} color={color} tone={w?.lockWaits.length ? 'warn' : undefined} />
      {shown.map((segs, i) => (
        <SegLine key={i} segs={segs} width={width} color={color} />
      ))}
    </Box>
  );
}
