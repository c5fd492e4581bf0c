// The PromQL path against a real Prometheus (1 s scrapes) of a real node_exporter: figures once the
// series have two samples, the instance label, and a note naming the URL for each missing source.
import { cpus } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusSignals, hostQueries } from '../../src/host/prometheus-signals.js';
import { binaryForTests, startNodeExporter, startPrometheus, type RunningProcess } from '../support/host-exporters.js';

describe('host figures from a real Prometheus scraping node_exporter', () => {
  const here =
    binaryForTests('prometheus-node-exporter', 'Prometheus host-figure tests') &&
    binaryForTests('prometheus', 'Prometheus host-figure tests');
  let exporter: RunningProcess | undefined;
  let prom: (RunningProcess & { instance: string }) | undefined;
  beforeAll(async () => {
    if (!here) return;
    exporter = await startNodeExporter();
    prom = await startPrometheus(`127.0.0.1:${exporter.port}`);
  }, 120_000);
  afterAll(async () => {
    await prom?.stop();
    await exporter?.stop();
  });

  it.runIf(here)(
    'answers with figures in range once the series has two samples in the window',
    async () => {
      const host = new PrometheusSignals({ url: prom!.url, instance: prom!.instance, window: '10s' });
      expect(host.source).toBe(`Prometheus at ${prom!.url}/ (instance ${prom!.instance})`);
      const deadline = Date.now() + 90_000;
      // Until Prometheus has scraped twice there is no series or no rate: poll until the figures exist.
      let figures = null;
      let last: unknown;
      while (!figures && Date.now() < deadline) {
        const r = await host.read();
        last = r;
        if (r.ok) figures = r.figures;
        if (!figures) await new Promise((res) => setTimeout(res, 500));
      }
      expect(figures, JSON.stringify(last)).not.toBeNull();
      expect(figures!.seconds).toBe(10);
      expect(figures!.cpuBusyPct).toBeGreaterThanOrEqual(0);
      expect(figures!.cpuBusyPct + figures!.ioWaitPct).toBeLessThanOrEqual(100.0001);
      expect(figures!.cpus).toBe(cpus().length);
      expect(figures!.memTotalBytes).toBeGreaterThan(0);
      expect(figures!.memAvailableBytes!).toBeLessThanOrEqual(figures!.memTotalBytes!);
    },
    120_000,
  );

  it.runIf(here)(
    'says which label to check when no target has that instance',
    async () => {
      const r = await new PrometheusSignals({ url: prom!.url, instance: 'db-9:9100' }).read();
      expect(r).toEqual({
        ok: false,
        note: `host figures unavailable from Prometheus at ${prom!.url}/ (instance db-9:9100): no node_cpu_seconds_total series (check that Prometheus scrapes a node_exporter, and the --prometheus-instance label)`,
      });
    },
    30_000,
  );
});

describe('Prometheus unreachable or not Prometheus', () => {
  it('says the connection was refused, naming the URL without its password', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    await new Promise((r) => srv.close(r));
    const r = await new PrometheusSignals({ url: `http://ops:hunter2@127.0.0.1:${port}` }).read();
    expect(r).toEqual({
      ok: false,
      note: `host figures unavailable from Prometheus at http://127.0.0.1:${port}/: connection refused (check that Prometheus runs there (the URL is its base, e.g. http://host:9090))`,
    });
  });

  it('says so when the URL answers but is not the Prometheus API', async () => {
    const srv = createServer((_q, res) => res.writeHead(404).end('no'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      const r = await new PrometheusSignals({ url }).read();
      expect(r).toMatchObject({
        ok: false,
        note: expect.stringContaining(
          `from Prometheus at ${url}/: the answer is not the Prometheus HTTP API (check that Prometheus runs there`,
        ),
      });
    } finally {
      srv.close();
    }
  });

  it('selects the instance label in every query, quoted', () => {
    const q = hostQueries('db "1"', '1m');
    for (const text of Object.values(q)) expect(text).toContain('instance="db \\"1\\""');
    expect(q.ioWaitPct).toBe(
      '100 * sum by (instance) (rate(node_cpu_seconds_total{instance="db \\"1\\"",mode="iowait"}[1m])) / sum by (instance) (rate(node_cpu_seconds_total{instance="db \\"1\\""}[1m]))',
    );
  });
});
