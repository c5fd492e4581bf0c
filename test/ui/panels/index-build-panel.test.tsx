// The Index build panel over real CREATE INDEX CONCURRENTLY builds: one scanning the table, one
// waiting for an old snapshot.
import React from 'react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import { useTestDatabase } from '../../support/pg.js';
import { createTable, indexBuildScanning, indexWaitingForSnapshot } from '../../monitor/support/scenarios.js';
import { IndexBuildPanel } from '../../../src/ui/panels/index-build-panel.js';
import type { MonitorSample } from '../../../src/monitor/monitor-types.js';
import { lines, realSample } from './support.js';

const db = useTestDatabase();

describe('IndexBuildPanel', () => {
  let scanning: MonitorSample;
  let waiting: MonitorSample;
  let quiet: MonitorSample;
  let snapshotHolderPid = 0;
  beforeAll(async () => {
    quiet = await realSample(db.url);
    const scan = await indexBuildScanning(db.url, db.pool, 'events', 'events_key_idx');
    try {
      scanning = await realSample(db.url);
    } finally {
      await scan.cleanup();
    }
    await createTable(db.pool, 'orders');
    const wait = await indexWaitingForSnapshot(db.url, db.pool, 'orders', 'orders_v_idx');
    snapshotHolderPid = wait.snapshotHolder.pid;
    try {
      waiting = await realSample(db.url);
    } finally {
      await wait.cleanup();
    }
  });
  afterAll(async () => {
    await db.query('drop function if exists slow_key(text)');
  });

  it('shows a build scanning the table with a blocks gauge', () => {
    const b = scanning.indexBuilds[0]!;
    expect(b.blocksTotal).toBeGreaterThan(b.blocksDone);
    const l = lines(render(<IndexBuildPanel sample={scanning} width={80} height={4} />).lastFrame());
    expect(l[0]).toMatch(/^── Index build · 1 running ─+$/);
    expect(l[1]).toMatch(new RegExp(`^events_key_idx on events · CREATE INDEX CONCURRENTLY · pid ${b.pid}`));
    expect(l[2]).toBe('  building index: scanning table');
    const pct = Math.floor((100 * b.blocksDone) / b.blocksTotal);
    expect(l[3]).toMatch(new RegExp(`^ {2}[█░]+ +${pct}% blocks ${b.blocksDone}/${b.blocksTotal}$`));
    for (const line of l) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('shows a build waiting for an old snapshot and whom it waits for', () => {
    const l = lines(render(<IndexBuildPanel sample={waiting} width={80} height={4} />).lastFrame());
    expect(l[1]).toMatch(/^orders_v_idx on orders · CREATE INDEX CONCURRENTLY · pid \d+ · \d+(\.\d+)? kB$/);
    expect(l[2]).toMatch(new RegExp(`^ {2}waiting for old snapshots · lockers \\d+/\\d+, pid ${snapshotHolderPid}$`));
  });

  it('fits a 40-column grid cell', () => {
    const l = lines(render(<IndexBuildPanel sample={scanning} width={40} height={3} />).lastFrame());
    expect(l).toHaveLength(3);
    expect(l[0]).toMatch(/^── Index build · 1 running/);
    expect(l[2]).toBe('… 2 more lines');
    for (const line of l) expect(line.length).toBeLessThanOrEqual(40);
  });

  it('says when nothing is being built', () => {
    expect(lines(render(<IndexBuildPanel sample={quiet} width={80} height={2} />).lastFrame())[0]).toMatch(
      /^── Index build · none running ─+$/,
    );
  });
});
