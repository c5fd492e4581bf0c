// The Workload panel fed by samples captured from a real run (test/monitor/workload-watch.test.ts with
// CAPTURE_WORKLOAD=1, PostgreSQL 18 under pgbench): statements with their latency against the mean
// before the run and calls/s, a session waiting on a row, and the one line without the extension; and
// the host line from a real monitor reading a real node_exporter.
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import React from 'react';
import { describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import type { MonitorSample } from '../../../src/monitor/monitor-types.js';
import { WorkloadPanel } from '../../../src/ui/panels/workload-panel.js';
import { lines } from './support.js';
import { Monitor } from '../../../src/monitor/monitor-poller.js';
import { NodeExporterSignals } from '../../../src/host/node-exporter.js';
import { systemClock } from '../../../src/util/clock.js';
import { useTestDatabase } from '../../support/pg.js';
import { useNodeExporter } from '../../support/host-exporters.js';

function captured(name: string): MonitorSample {
  const part = JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
  return {
    at: 0,
    pollMs: 1,
    serverVersionNum: 180000,
    locks: [],
    longQueries: [],
    standbys: [],
    connectionsByState: {},
    indexBuilds: [],
    notes: [],
    ...part,
  };
}

describe('WorkloadPanel', () => {
  const loaded = captured('workload-sample.pg18.json');
  const w = loaded.workload!;

  it('shows each statement with its mean now, the ratio to its mean before the run, and calls/s', () => {
    const l = lines(render(<WorkloadPanel sample={loaded} width={100} height={8} />).lastFrame());
    expect(l[0]).toMatch(/^── Workload · orders · 1 waiting ─+$/);
    expect(l[1]).toMatch(/^WAL [\d.]+ \S+\/s · checkpoints 0 requested \/ 0 timed · 0 buffers written$/);
    expect(l[2]).toMatch(/^ +mean vs before +calls statement$/);
    const u = w.statements[0]!;
    const ratio = (u.meanMs / u.baselineMeanMs!).toFixed(1);
    expect(l[3]).toBe(
      `${`${u.meanMs.toFixed(2)}ms`.padStart(8)} ${`${ratio}x ${u.baselineMeanMs!.toFixed(2)}ms`.padEnd(13)} ${`${Math.round(u.callsPerSec!)}/s `.padStart(7)}${u.query}`,
    );
    expect(l.find((x) => x.includes('UPDATE orders SET v = v WHERE id = $1'))).toMatch(/ new +\d+\/s /);
    const wait = w.lockWaits[0]!;
    expect(l.find((x) => x.startsWith('waits'))).toBe(
      `waits ${(wait.waitMs / 1000).toFixed(1)}s pid ${wait.pid} transactionid ShareLock on orders: UPDATE orders SET v = v + 1 WHERE id = 1`,
    );
  });

  it('fits the 2×2 grid cell: every line cut to the width, extra rows counted', () => {
    const l = lines(render(<WorkloadPanel sample={loaded} width={38} height={4} />).lastFrame());
    expect(l).toHaveLength(4);
    for (const x of l) expect(x.length).toBeLessThanOrEqual(38);
    expect(l[3]).toMatch(/^… \d+ more$/);
  });

  it('says in one line how to enable pg_stat_statements when the extension is missing', () => {
    const l = lines(render(<WorkloadPanel sample={captured('workload-no-extension.pg18.json')} width={200} height={6} />).lastFrame());
    expect(l[0]).toMatch(/^── Workload · orders ─+$/);
    expect(l[2]).toBe(
      'pg_stat_statements unreadable: run `CREATE EXTENSION pg_stat_statements` in this database (the library must be in shared_preload_libraries)',
    );
    expect(l.slice(3).every((x) => x.trim() === '')).toBe(true);
  });
});

describe('WorkloadPanel host line, from a real monitor and a real node_exporter', () => {
  const { here, exporter } = useNodeExporter('Workload panel host line test');
  const db = useTestDatabase();

  it.runIf(here)(
    'shows CPU, I/O wait, disks and memory from the second reading on',
    async () => {
      const monitor = new Monitor(db.pool, { host: new NodeExporterSignals(exporter().url, systemClock) });
      const first = await monitor.poll();
      expect(first.host).toEqual({ source: `node_exporter at ${exporter().url}`, figures: null });
      expect(lines(render(<WorkloadPanel sample={first} width={120} height={4} />).lastFrame())[1]).toBe(
        `host: waiting for a second reading from node_exporter at ${exporter().url}`,
      );
      await new Promise((r) => setTimeout(r, 1200));
      const second = await monitor.poll();
      const f = second.host!.figures!;
      expect(f.cpuBusyPct).toBeGreaterThanOrEqual(0);
      const l = lines(render(<WorkloadPanel sample={second} width={160} height={4} />).lastFrame());
      expect(l[1]).toMatch(
        /^host: CPU [\d.]+% of \d+ cores? · iowait [\d.]+%( · disk queue [\d.]+)?( · await [\d.]+ms)? · mem free \S+ \S+ of \S+ \S+$/,
      );
      expect(l[1]).toContain(`CPU ${f.cpuBusyPct < 10 ? f.cpuBusyPct.toFixed(1) : Math.round(f.cpuBusyPct)}%`);
      await monitor.stop();
    },
    60_000,
  );

  it('shows the note naming the URL when the endpoint does not answer, and the panel still draws', async () => {
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/metrics`;
    await new Promise((r) => srv.close(r));
    const monitor = new Monitor(db.pool, { host: new NodeExporterSignals(url, systemClock) });
    const s = await monitor.poll();
    await monitor.stop();
    expect(s.host?.note).toBe(
      `host figures unavailable from node_exporter at ${url}: connection refused (check that node_exporter runs there and that the URL ends in /metrics)`,
    );
    const l = lines(render(<WorkloadPanel sample={s} width={200} height={4} />).lastFrame());
    expect(l[1]).toBe(s.host!.note);
    expect(l[2]).toBe('the run names no table to watch');
  }, 60_000);
});
