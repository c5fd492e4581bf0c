// The host's figures from a Prometheus server that scrapes node_exporter, through instant PromQL
// queries (the prometheus-query client over the HTTP API). Prometheus computes the rates itself
// (rate() over `window`), so one round of queries gives the figures.
import { PrometheusDriver } from 'prometheus-query';
import type { HostFigures, HostReading, HostSignals } from '../engine/ports.js';
import { displayUrl, fetchFailure } from './host-url.js';

const TIMEOUT_MS = 3000;

export interface PrometheusHostOptions {
  url: string;
  /** The `instance` label of the node_exporter target; needed when Prometheus scrapes several. */
  instance?: string;
  /** The rate() window, e.g. `1m` (default). */
  window?: string;
}

const quoteLabel = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The PromQL of each figure, per instance. */
export function hostQueries(instance: string | undefined, window: string): Record<keyof Omit<HostFigures, 'seconds'>, string> {
  const sel = (extra = '') => `{${[instance ? `instance=${quoteLabel(instance)}` : '', extra].filter(Boolean).join(',')}}`;
  const cpu = (modes: string) => `sum by (instance) (rate(node_cpu_seconds_total${sel(modes)}[${window}]))`;
  const disk = (name: string) => `sum by (instance) (rate(${name}${sel()}[${window}]))`;
  return {
    cpuBusyPct: `100 * ${cpu('mode!~"idle|iowait"')} / ${cpu('')}`,
    ioWaitPct: `100 * ${cpu('mode="iowait"')} / ${cpu('')}`,
    cpus: `count by (instance) (node_cpu_seconds_total${sel('mode="idle"')})`,
    diskQueueDepth: `max by (instance) (rate(node_disk_io_time_weighted_seconds_total${sel()}[${window}]))`,
    diskAwaitMs: `1000 * (${disk('node_disk_read_time_seconds_total')} + ${disk('node_disk_write_time_seconds_total')}) / (${disk('node_disk_reads_completed_total')} + ${disk('node_disk_writes_completed_total')})`,
    memAvailableBytes: `node_memory_MemAvailable_bytes${sel()}`,
    memTotalBytes: `node_memory_MemTotal_bytes${sel()}`,
  };
}

/** What went wrong, from prometheus-query's error object (status, errorType, httpStatus, code). */
function promFailure(err: unknown): string {
  const e = err as { errorType?: string; httpStatus?: number; error?: string; code?: string };
  if (e?.errorType === 'client_error') return 'the answer is not the Prometheus HTTP API';
  if (e?.errorType === 'http_error') return `HTTP ${e.httpStatus}${e.error ? `: ${e.error}` : ''}`;
  if (e?.errorType === 'timeout_error') return 'no answer in time';
  return fetchFailure(err);
}

/** Seconds of a PromQL duration such as `30s`, `1m`, `1m30s`. */
function windowSeconds(w: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const m of w.matchAll(/(\d+)(ms|s|m|h)/g)) total += Number(m[1]) * units[m[2]!]!;
  return total || 60;
}

export class PrometheusSignals implements HostSignals {
  readonly source: string;
  private readonly driver: PrometheusDriver;
  private readonly queries: ReturnType<typeof hostQueries>;
  private readonly seconds: number;

  constructor(private readonly opts: PrometheusHostOptions) {
    const u = new URL(opts.url);
    const auth = u.username ? { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : undefined;
    u.username = '';
    u.password = '';
    this.driver = new PrometheusDriver({
      endpoint: u.toString().replace(/\/$/, ''),
      baseURL: '/api/v1',
      timeout: TIMEOUT_MS,
      ...(auth ? { auth } : {}),
    });
    const window = opts.window ?? '1m';
    this.queries = hostQueries(opts.instance, window);
    this.seconds = windowSeconds(window);
    this.source = `Prometheus at ${displayUrl(opts.url)}${opts.instance ? ` (instance ${opts.instance})` : ''}`;
  }

  async read(): Promise<HostReading> {
    const entries = Object.entries(this.queries) as [keyof typeof this.queries, string][];
    let results: { instance: string; value: number }[][];
    try {
      results = await Promise.all(entries.map(([, q]) => this.vector(q)));
    } catch (err) {
      return this.fail(promFailure(err), 'that Prometheus runs there (the URL is its base, e.g. http://host:9090)');
    }
    const cpu = results[0]!;
    if (cpu.length === 0) {
      // Prometheus answers, but has no rate yet (fewer than two scrapes in the window) or no such target.
      const known = results.some((r) => r.length > 0);
      if (known) return { ok: true, figures: null };
      return this.fail('no node_cpu_seconds_total series', 'that Prometheus scrapes a node_exporter, and the --prometheus-instance label');
    }
    const instances = new Set(cpu.map((r) => r.instance));
    if (instances.size > 1)
      return this.fail(
        `it scrapes ${instances.size} node_exporter instances (${[...instances].slice(0, 3).join(', ')})`,
        'and name the database host with --prometheus-instance',
      );
    const one = (i: number) => {
      const v = results[i]![0]?.value;
      return v === undefined || !Number.isFinite(v) ? null : v;
    };
    const fig: Record<string, number | null> = {};
    entries.forEach(([name], i) => (fig[name] = one(i)));
    return {
      ok: true,
      figures: {
        seconds: this.seconds,
        cpuBusyPct: fig.cpuBusyPct ?? 0,
        ioWaitPct: fig.ioWaitPct ?? 0,
        cpus: fig.cpus ?? null,
        diskQueueDepth: fig.diskQueueDepth ?? null,
        diskAwaitMs: fig.diskAwaitMs ?? null,
        memAvailableBytes: fig.memAvailableBytes ?? null,
        memTotalBytes: fig.memTotalBytes ?? null,
      },
    };
  }

  private async vector(query: string): Promise<{ instance: string; value: number }[]> {
    const r = await this.driver.instantQuery(query);
    return (r.result as { metric: { labels: Record<string, string> }; value: { value: number } }[]).map((s) => ({
      instance: s.metric?.labels?.instance ?? '',
      value: Number(s.value?.value),
    }));
  }

  private fail(why: string, check: string): HostReading {
    return { ok: false, note: `host figures unavailable from ${this.source}: ${why} (check ${check})` };
  }
}
