// `pgrunbook monitor`'s app: the four panels fed by a real monitor on a real lock queue; space
// freezes, c cancels our waiting DDL after a confirm, q quits; with a real node_exporter, the host line
// sits under the header.
import React from 'react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { useTestDatabase } from '../../support/pg.js';
import { createTable, lockQueue, type LockQueue } from '../../monitor/support/scenarios.js';
import { resolveConnection } from '../../../src/pg/connection.js';
import { Monitor } from '../../../src/monitor/monitor-poller.js';
import { MonitorApp, allocateHeights } from '../../../src/ui/monitor-app.js';
import { lines, until } from './support.js';
import { useNodeExporter } from '../../support/host-exporters.js';
import { NodeExporterSignals } from '../../../src/host/node-exporter.js';
import { systemClock } from '../../../src/util/clock.js';

const db = useTestDatabase();

describe('MonitorApp', () => {
  let q: LockQueue;
  let monitor: Monitor;
  beforeAll(async () => {
    await createTable(db.pool, 'orders');
    q = await lockQueue(db.url, db.pool, 'orders', 2);
    monitor = Monitor.connect(resolveConnection(db.url), { intervalMs: 200, longQuerySeconds: 0 });
  });
  afterAll(async () => {
    await monitor?.stop();
    await q?.cleanup();
  });

  it('shows the panels, freezes, cancels our waiting statement after a confirm, and quits', async () => {
    let quit = 0;
    const app = render(
      <MonitorApp
        feed={monitor}
        target="postgres@127.0.0.1/test"
        color={false}
        cancel={(pid) => monitor.cancelOwn(pid)}
        onQuit={() => quit++}
      />,
    );
    try {
      expect(lines(app.lastFrame())).toContain('waiting for the first sample…');
      monitor.start();
      const frame = await until(() => {
        const l = lines(app.lastFrame());
        return l.some((x) => x.startsWith('── Locks · 3 waiting')) && l;
      }, 'the lock queue on screen');
      expect(frame[0]).toMatch(/^pgrunbook monitor · postgres@127\.0\.0\.1\/test · PG \d+\.\d+ · every 200ms · poll/);
      for (const title of ['── Locks', '── Long queries', '── Replication', '── Index build']) {
        expect(frame.some((x) => x.startsWith(title))).toBe(true);
      }
      expect(frame.at(-1)).toBe('q quit · space freeze · c cancel our waiting statement · * = pgrunbook session');
      expect(frame.length).toBeLessThan(24);
      for (const line of frame) expect(line.length).toBeLessThanOrEqual(100);

      app.stdin.write(' ');
      await until(() => lines(app.lastFrame())[0]!.includes('FROZEN'), 'the frozen marker');
      const frozenAt = lines(app.lastFrame()).find((x) => x.includes('poll'));
      await new Promise((r) => setTimeout(r, 500));
      expect(lines(app.lastFrame()).find((x) => x.includes('poll'))).toBe(frozenAt);

      app.stdin.write('c');
      await until(() => lines(app.lastFrame()).includes(`Cancel our statement in pid ${q.ddl.pid}? y/N`), 'the cancel question');
      app.stdin.write('y');
      await until(
        () => lines(app.lastFrame()).some((x) => x.startsWith(`cancelled pid ${q.ddl.pid} (was waiting for a lock)`)),
        'the cancel result',
      );
      expect(((await q.ddlDone) as { code?: string }).code).toBe('57014');

      app.stdin.write(' ');
      await until(
        () =>
          !lines(app.lastFrame())[0]!.includes('FROZEN') && lines(app.lastFrame()).some((x) => x.startsWith('── Locks · no lock waits')),
        'live panels again',
      );

      app.stdin.write('q');
      await until(() => quit === 1, 'quit');
    } finally {
      app.unmount();
    }
  });

  it('gives panels the lines they want, within the terminal', () => {
    expect(allocateHeights([5, 3, 3, 1], [2, 2, 2, 1], 20)).toEqual([5, 3, 3, 1]);
    expect(allocateHeights([12, 9, 3, 1], [2, 2, 2, 1], 14)).toEqual([5, 5, 3, 1]);
    expect(allocateHeights([12, 9, 3, 4], [2, 2, 2, 1], 5)).toEqual([2, 1, 1, 1]);
  });
});

describe('MonitorApp with --node-exporter', () => {
  const { here, exporter } = useNodeExporter('monitor app host line test');

  it.runIf(here)(
    'shows the host line under the header, once two scrapes give rates',
    async () => {
      const host = new NodeExporterSignals(exporter().url, systemClock);
      const monitor = Monitor.connect(resolveConnection(db.url), { intervalMs: 1100, longQuerySeconds: 0, host });
      const app = render(<MonitorApp feed={monitor} target="postgres@127.0.0.1/test" color={false} />);
      try {
        monitor.start();
        await until(
          () => lines(app.lastFrame())[1]?.startsWith('host: waiting for a second reading from node_exporter at'),
          'the waiting line',
        );
        const frame = await until(
          () => {
            const l = lines(app.lastFrame());
            return l[1]?.startsWith('host: CPU') && l;
          },
          'the host figures',
          20_000,
        );
        expect(frame[1]).toMatch(/^host: CPU [\d.]+% of \d+ cores? · iowait [\d.]+%.* · mem free [\d.]+ [KMGT]?B of [\d.]+ [KMGT]?B$/);
        expect(frame[2]).toMatch(/^── Locks/);
      } finally {
        app.unmount();
        await monitor.stop();
      }
    },
    60_000,
  );
});
