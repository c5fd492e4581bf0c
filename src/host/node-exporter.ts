// The host's figures from a node_exporter endpoint: its text exposition format, parsed with
// parse-prometheus-text-format. Counters (CPU seconds, disk times) become rates over the window
// between two scrapes; a read sooner than MIN_WINDOW_MS after the last scrape returns the last
// figures, so two readers (the Host line, a backfill's rules) do not shrink the window to noise.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { Clock } from '../util/clock.js';
import type { HostFigures, HostReading, HostSignals } from '../engine/ports.js';
import { displayUrl, fetchFailure } from './host-url.js';

/** node_exporter's flags for only the collectors read here (CPU, disks, memory): a quick scrape. */
export const NODE_EXPORTER_COLLECTORS = ['--collector.disable-defaults', '--collector.cpu', '--collector.diskstats', '--collector.meminfo'];

const MIN_WINDOW_MS = 1000;
const TIMEOUT_MS = 2000;

/** One scrape's counters, summed over CPUs; disks per device. */
export interface NodeSample {
  at: number;
  cpuTotal: number;
  cpuIdle: number;
  cpuIowait: number;
  /** CPUs (the `cpu` labels of the idle counters). */
  cpus: number;
  disks: Map<string, { weightedIoSeconds: number; ioSeconds: number; ops: number }>;
  memAvailableBytes: number | null;
  memTotalBytes: number | null;
}

type Family = ReturnType<typeof parsePrometheusTextFormat>[number];

/** Counters of one scrape; null when the text has no node_cpu_seconds_total (not a node_exporter). */
export function nodeSample(text: string, at: number): NodeSample | null {
  const families = new Map<string, Family>(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  const cpu = families.get('node_cpu_seconds_total');
  if (!cpu?.metrics.length) return null;
  const s: NodeSample = {
    at,
    cpuTotal: 0,
    cpuIdle: 0,
    cpuIowait: 0,
    cpus: 0,
    disks: new Map(),
    memAvailableBytes: null,
    memTotalBytes: null,
  };
  for (const m of cpu.metrics) {
    const v = Number(m.value);
    if (!Number.isFinite(v)) continue;
    s.cpuTotal += v;
    if (m.labels?.mode === 'idle') {
      s.cpuIdle += v;
      s.cpus++;
    }
    if (m.labels?.mode === 'iowait') s.cpuIowait += v;
  }
  const perDevice = (name: string, field: 'weightedIoSeconds' | 'ioSeconds' | 'ops') => {
    for (const m of families.get(name)?.metrics ?? []) {
      const dev = m.labels?.device;
      const v = Number(m.value);
      if (!dev || !Number.isFinite(v)) continue;
      const d = s.disks.get(dev) ?? { weightedIoSeconds: 0, ioSeconds: 0, ops: 0 };
      d[field] += v;
      s.disks.set(dev, d);
    }
  };
  perDevice('node_disk_io_time_weighted_seconds_total', 'weightedIoSeconds');
  perDevice('node_disk_read_time_seconds_total', 'ioSeconds');
  perDevice('node_disk_write_time_seconds_total', 'ioSeconds');
  perDevice('node_disk_reads_completed_total', 'ops');
  perDevice('node_disk_writes_completed_total', 'ops');
  const gauge = (name: string) => {
    const v = Number(families.get(name)?.metrics[0]?.value);
    return Number.isFinite(v) ? v : null;
  };
  s.memAvailableBytes = gauge('node_memory_MemAvailable_bytes');
  s.memTotalBytes = gauge('node_memory_MemTotal_bytes');
  return s;
}

/** Rates between two scrapes; null when no time or CPU time passed or a counter went backwards (a restart). */
export function nodeFigures(prev: NodeSample, cur: NodeSample): HostFigures | null {
  const seconds = (cur.at - prev.at) / 1000;
  const total = cur.cpuTotal - prev.cpuTotal;
  const idle = cur.cpuIdle - prev.cpuIdle;
  const iowait = cur.cpuIowait - prev.cpuIowait;
  if (seconds <= 0 || total <= 0 || idle < 0 || iowait < 0) return null;
  let queue: number | null = null;
  let ioSeconds = 0;
  let ops = 0;
  for (const [dev, d] of cur.disks) {
    const p = prev.disks.get(dev);
    if (!p || d.weightedIoSeconds < p.weightedIoSeconds || d.ops < p.ops) continue;
    queue = Math.max(queue ?? 0, (d.weightedIoSeconds - p.weightedIoSeconds) / seconds);
    ioSeconds += d.ioSeconds - p.ioSeconds;
    ops += d.ops - p.ops;
  }
  return {
    seconds,
    cpuBusyPct: Math.max(0, (100 * (total - idle - iowait)) / total),
    cpus: cur.cpus || null,
    ioWaitPct: (100 * iowait) / total,
    diskQueueDepth: queue,
    diskAwaitMs: ops > 0 ? (1000 * ioSeconds) / ops : null,
    memAvailableBytes: cur.memAvailableBytes,
    memTotalBytes: cur.memTotalBytes,
  };
}

export class NodeExporterSignals implements HostSignals {
  readonly source: string;
  private readonly url: string;
  /** Basic auth from the URL's user and password: fetch refuses a URL that carries them. */
  private readonly headers: Record<string, string> = { accept: 'text/plain' };
  private last: NodeSample | undefined;
  private lastFigures: HostFigures | null = null;

  constructor(
    url: string,
    private readonly clock: Clock,
  ) {
    this.url = displayUrl(url);
    this.source = `node_exporter at ${this.url}`;
    try {
      const u = new URL(url);
      if (u.username) {
        const pair = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
        this.headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
      }
    } catch {
      // An invalid URL fails at the first read, with a note.
    }
  }

  async read(): Promise<HostReading> {
    const now = this.clock.now();
    if (this.last && now - this.last.at < MIN_WINDOW_MS) return { ok: true, figures: this.lastFigures };
    let text: string;
    try {
      const res = await fetch(this.url, { signal: AbortSignal.timeout(TIMEOUT_MS), headers: this.headers });
      if (!res.ok) return this.fail(`HTTP ${res.status}`);
      text = await res.text();
    } catch (err) {
      return this.fail(fetchFailure(err));
    }
    let s: NodeSample | null;
    try {
      s = nodeSample(text, now);
    } catch {
      s = null;
    }
    if (!s) return this.fail('the answer is not node_exporter metrics (no node_cpu_seconds_total)');
    const prev = this.last;
    this.last = s;
    this.lastFigures = prev ? nodeFigures(prev, s) : null;
    return { ok: true, figures: this.lastFigures };
  }

  private fail(why: string): HostReading {
    this.last = undefined;
    return {
      ok: false,
      note: `host figures unavailable from ${this.source}: ${why} (check that node_exporter runs there and that the URL ends in /metrics)`,
    };
  }
}
