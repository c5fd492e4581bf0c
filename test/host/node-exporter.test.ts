// node_exporter's figures: rates between two scrapes computed right (scripted exposition text over a
// real HTTP server and a fake clock), a real prometheus-node-exporter scraped over HTTP, and every
// missing source (nothing listening, not node_exporter, HTTP error) a note naming the URL.
import { cpus } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { NodeExporterSignals } from '../../src/host/node-exporter.js';
import { FakeClock, systemClock } from '../../src/util/clock.js';
import { burnCpu, useNodeExporter } from '../support/host-exporters.js';

/** node_exporter text for two CPUs and one disk with the given counters. */
function exposition(c: {
  idle: number;
  iowait: number;
  user: number;
  weighted: number;
  rtime: number;
  wtime: number;
  reads: number;
  writes: number;
}) {
  return `# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} ${c.idle / 2}
node_cpu_seconds_total{cpu="0",mode="iowait"} ${c.iowait / 2}
node_cpu_seconds_total{cpu="0",mode="user"} ${c.user / 2}
node_cpu_seconds_total{cpu="1",mode="idle"} ${c.idle / 2}
node_cpu_seconds_total{cpu="1",mode="iowait"} ${c.iowait / 2}
node_cpu_seconds_total{cpu="1",mode="user"} ${c.user / 2}
# TYPE node_disk_io_time_weighted_seconds_total counter
node_disk_io_time_weighted_seconds_total{device="sda"} ${c.weighted}
# TYPE node_disk_read_time_seconds_total counter
node_disk_read_time_seconds_total{device="sda"} ${c.rtime}
# TYPE node_disk_write_time_seconds_total counter
node_disk_write_time_seconds_total{device="sda"} ${c.wtime}
# TYPE node_disk_reads_completed_total counter
node_disk_reads_completed_total{device="sda"} ${c.reads}
# TYPE node_disk_writes_completed_total counter
node_disk_writes_completed_total{device="sda"} ${c.writes}
# TYPE node_memory_MemAvailable_bytes gauge
node_memory_MemAvailable_bytes 2.147483648e+09
# TYPE node_memory_MemTotal_bytes gauge
node_memory_MemTotal_bytes 8.589934592e+09
`;
}

async function serve(body: () => { status: number; text: string }): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    const b = body();
    res.writeHead(b.status, { 'content-type': 'text/plain' }).end(b.text);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, server };
}

describe('node_exporter figures from two scrapes', () => {
  it('computes CPU busy, I/O wait, disk queue and await from the counters over the window', async () => {
    let text = exposition({ idle: 100, iowait: 10, user: 50, weighted: 5, rtime: 1, wtime: 1, reads: 100, writes: 100 });
    const { url, server } = await serve(() => ({ status: 200, text }));
    const clock = new FakeClock();
    const host = new NodeExporterSignals(url, clock);
    try {
      expect(await host.read()).toEqual({ ok: true, figures: null });
      // 2 s later, over both CPUs: 4 s of CPU time: 1 idle, 1 iowait, 2 user; the disk: 3 s of
      // weighted I/O time, 0.4 s for 40 requests.
      text = exposition({ idle: 101, iowait: 11, user: 52, weighted: 8, rtime: 1.2, wtime: 1.2, reads: 120, writes: 120 });
      clock.advance(2000);
      const r = await host.read();
      expect(r.ok).toBe(true);
      const f = (r as Extract<typeof r, { ok: true }>).figures!;
      expect(f.seconds).toBe(2);
      expect(f.cpuBusyPct).toBeCloseTo(50);
      expect(f.cpus).toBe(2);
      expect(f.ioWaitPct).toBeCloseTo(25);
      expect(f.diskQueueDepth).toBeCloseTo(1.5);
      expect(f.diskAwaitMs).toBeCloseTo(10);
      expect(f.memAvailableBytes).toBe(2 * 1024 ** 3);
      expect(f.memTotalBytes).toBe(8 * 1024 ** 3);
      // A read within a second of the last scrape keeps the last window's figures (no noisy tiny window).
      text = exposition({ idle: 101, iowait: 11, user: 60, weighted: 8, rtime: 1.2, wtime: 1.2, reads: 120, writes: 120 });
      clock.advance(100);
      expect(await host.read()).toEqual(r);
    } finally {
      server.close();
    }
  });

  it('says what to check when the answer is not node_exporter metrics or an HTTP error', async () => {
    let reply = { status: 200, text: '<html>a login page</html>' };
    const { url, server } = await serve(() => reply);
    const host = new NodeExporterSignals(url.replace('//', '//ops:hunter2@'), systemClock);
    try {
      const r = await host.read();
      expect(r).toEqual({
        ok: false,
        note: `host figures unavailable from node_exporter at ${url}: the answer is not node_exporter metrics (no node_cpu_seconds_total) (check that node_exporter runs there and that the URL ends in /metrics)`,
      });
      expect(JSON.stringify(r)).not.toContain('hunter2');
      reply = { status: 503, text: 'down' };
      expect(await host.read()).toMatchObject({ ok: false, note: expect.stringContaining(': HTTP 503 (check that node_exporter') });
    } finally {
      server.close();
    }
  });

  it('says the connection was refused when nothing listens there', async () => {
    const { url, server } = await serve(() => ({ status: 200, text: '' }));
    await new Promise((r) => server.close(r));
    const r = await new NodeExporterSignals(url, systemClock).read();
    expect(r).toEqual({
      ok: false,
      note: `host figures unavailable from node_exporter at ${url}: connection refused (check that node_exporter runs there and that the URL ends in /metrics)`,
    });
  });
});

describe('a real prometheus-node-exporter', () => {
  const { here, exporter } = useNodeExporter('node_exporter scrape tests');

  it.runIf(here)(
    'gives figures from its second scrape on, within their ranges, and sees a busy CPU',
    async () => {
      const host = new NodeExporterSignals(exporter().url, systemClock);
      expect(await host.read()).toEqual({ ok: true, figures: null });
      // Two processes spinning on a 2-core machine: most of the CPU time is busy in the window.
      const burners = [burnCpu(), burnCpu()];
      try {
        await new Promise((r) => setTimeout(r, 2500));
        const r = await host.read();
        expect(r.ok).toBe(true);
        const f = (r as Extract<typeof r, { ok: true }>).figures!;
        expect(f.seconds).toBeGreaterThanOrEqual(2);
        expect(f.cpuBusyPct).toBeGreaterThan(20);
        expect(f.cpuBusyPct + f.ioWaitPct).toBeLessThanOrEqual(100.0001);
        // The exporter runs on this machine: the CPUs it counts are the ones Node sees.
        expect(f.cpus).toBe(cpus().length);
        expect(f.ioWaitPct).toBeGreaterThanOrEqual(0);
        expect(f.memTotalBytes).toBeGreaterThan(0);
        expect(f.memAvailableBytes).toBeGreaterThan(0);
        expect(f.memAvailableBytes!).toBeLessThanOrEqual(f.memTotalBytes!);
        if (f.diskQueueDepth !== null) expect(f.diskQueueDepth).toBeGreaterThanOrEqual(0);
      } finally {
        for (const b of burners) b.stop();
      }
    },
    60_000,
  );
});
