// The Replication panel over a real primary with a streaming standby, a forgotten slot, and the
// standby's own view.
import React from 'react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import pg from 'pg';
import { majors } from '../../support/pg.js';
import { startReplicated, type Replicated } from '../../monitor/support/standby.js';
import { ReplicationPanel } from '../../../src/ui/panels/replication-panel.js';
import type { MonitorSample } from '../../../src/monitor/monitor-types.js';
import { lines, realSample } from './support.js';

describe('ReplicationPanel', () => {
  let rep: Replicated;
  let primary: MonitorSample;
  let standby: MonitorSample;
  beforeAll(async () => {
    rep = await startReplicated(majors()[0]!);
    const c = new pg.Client(rep.primary.url);
    await c.connect();
    await c.query(`select pg_create_physical_replication_slot('forgotten', true)`);
    await c.query(`create table filler as select g from generate_series(1, 20000) g`);
    await c.end();
    primary = await realSample(rep.primary.url, {}, 2);
    standby = await realSample(rep.standbyUrl, {}, 2);
  });
  afterAll(async () => {
    await rep?.stop();
  });

  it('shows the WAL rate, connections, the standby with lag and slot, and the unused slot', () => {
    const l = lines(render(<ReplicationPanel sample={primary} width={80} height={6} />).lastFrame());
    expect(l[0]).toMatch(/^── Replication · primary · WAL \S+ \S+\/s ─+$/);
    expect(l[1]).toMatch(/^conns \d+\/300( · \S+ \d+)*/);
    expect(l[2]).toMatch(/^standby1 streaming async lag \d+(\.\d+)? \S+ · replay (idle|\S+) · 127\.0\.0\.1 · slot standby1$/);
    expect(l[3]).toMatch(/^slot forgotten physical inactive · holds \d+(\.\d+)? \S+ WAL$/);
    for (const line of l) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('on the standby itself: replay gap and replay rate', () => {
    const l = lines(render(<ReplicationPanel sample={standby} width={80} height={4} />).lastFrame());
    expect(l[0]).toMatch(/^── Replication · standby · replay WAL \S+ \S+\/s ─+$/);
    expect(l[2]).toMatch(/^this server is a standby · replay gap \d+(\.\d+)? \S+ · last replayed commit/);
  });

  it('fits a 40×3 grid cell', () => {
    const l = lines(render(<ReplicationPanel sample={primary} width={40} height={3} />).lastFrame());
    expect(l).toHaveLength(3);
    expect(l[2]).toBe('… 2 more');
    for (const line of l) expect(line.length).toBeLessThanOrEqual(40);
  });
});
