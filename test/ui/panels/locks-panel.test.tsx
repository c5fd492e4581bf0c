// The Locks panel over samples the real monitor took of real lock queues.
import React from 'react';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { render } from 'ink-testing-library';
import chalk from 'chalk';
import { useTestDatabase } from '../../support/pg.js';
import { createTable, lockQueue, type LockQueue } from '../../monitor/support/scenarios.js';
import { LocksPanel } from '../../../src/ui/panels/locks-panel.js';
import type { MonitorSample } from '../../../src/monitor/monitor-types.js';
import { hasColorCodes, lines, realSample } from './support.js';

const db = useTestDatabase();

describe('LocksPanel', () => {
  let q: LockQueue;
  let sample: MonitorSample;
  let quiet: MonitorSample;
  beforeAll(async () => {
    await createTable(db.pool, 'orders');
    quiet = await realSample(db.url);
    q = await lockQueue(db.url, db.pool, 'orders', 2);
    sample = await realSample(db.url);
  });
  afterAll(async () => {
    await q?.cleanup();
  });

  it('draws the blocking tree: the holder, our waiting DDL with its queue, the readers behind it', () => {
    const { lastFrame } = render(<LocksPanel sample={sample} width={100} height={10} />);
    const l = lines(lastFrame());
    expect(l[0]).toMatch(/^── Locks · 3 waiting · longest \S+ ─+$/);
    expect(l[1]).toMatch(
      new RegExp(`^${q.holder.pid} holds idle in tx \\S+ · 3 queued \\(\\S+\\) · app:holder · select \\* from orders limit 1$`),
    );
    expect(l[2]).toMatch(
      new RegExp(`^└ ${q.ddl.pid}\\* waits ACCESS EXCLUSIVE on orders \\S+ · 2 queued \\(\\S+\\) · alter table orders add col`),
    );
    expect(l[3]).toMatch(/^ {2}├ /);
    expect(l[4]).toMatch(/^ {2}└ /);
    const readers = l.slice(3, 5).join('\n');
    for (const r of q.readers) {
      expect(readers).toMatch(
        new RegExp(`[├└] ${r.pid} queued ACCESS SHARE on orders \\S+ · select count\\(\\*\\) from orders · app:reader\\d`),
      );
    }
  });

  it('fits 80 columns, cutting the query text first', () => {
    const l = lines(render(<LocksPanel sample={sample} width={80} height={10} />).lastFrame());
    expect(l).toHaveLength(10); // the panel keeps the height it was given
    expect(l.filter((x) => x.trim()).length).toBe(5);
    for (const line of l) expect(line.length).toBeLessThanOrEqual(80);
    expect(l[2]).toMatch(new RegExp(`^└ ${q.ddl.pid}\\* waits ACCESS EXCLUSIVE on orders \\S+ · 2 queued`));
  });

  it('fits a 40×4 grid cell: the head of the tree and how many more', () => {
    const { lastFrame } = render(<LocksPanel sample={sample} width={40} height={4} />);
    const l = lines(lastFrame());
    expect(l).toHaveLength(4);
    expect(l[0]).toMatch(/^── Locks · 3 waiting · longest/);
    expect(l[1]).toMatch(new RegExp(`^${q.holder.pid} holds`));
    expect(l[2]).toMatch(new RegExp(`^└ ${q.ddl.pid}\\* waits ACCESS EXCLUSIVE`));
    expect(l[3]).toBe('… 2 more sessions');
    for (const line of l) expect(line.length).toBeLessThanOrEqual(40);
  });

  it('offers the cancel key for our waiting statement', () => {
    const { lastFrame } = render(<LocksPanel sample={sample} width={80} height={10} cancelKey="c" />);
    expect(lines(lastFrame())).toContain(`c: cancel our pid ${q.ddl.pid} (2 queued behind it)`);
  });

  it('says so when nobody waits', () => {
    const { lastFrame } = render(<LocksPanel sample={quiet} width={80} height={5} />);
    expect(lines(lastFrame())[0]).toMatch(/^── Locks · no lock waits ─+$/);
  });

  it('uses no colour codes with color={false}, even where the terminal has colours', () => {
    const level = chalk.level;
    chalk.level = 1;
    try {
      expect(hasColorCodes(render(<LocksPanel sample={sample} width={80} height={10} />).lastFrame())).toBe(true);
      expect(hasColorCodes(render(<LocksPanel sample={sample} width={80} height={10} color={false} />).lastFrame())).toBe(false);
    } finally {
      chalk.level = level;
    }
  });
});

describe('LocksPanel without the privileges to read sessions', () => {
  const role = `lp_${Math.random().toString(36).slice(2, 8)}`;
  let sample: MonitorSample;
  beforeAll(async () => {
    await db.query(`create role ${role} login`);
    await db.query(`revoke select on pg_catalog.pg_stat_activity from public`);
    const u = new URL(db.url);
    u.username = role;
    sample = await realSample(u.toString());
  });
  afterAll(async () => {
    await db.query(`grant select on pg_catalog.pg_stat_activity to public`);
    await db.query(`drop role if exists ${role}`);
  });

  it('shows the note instead of a tree', () => {
    expect(sample.unavailable).toContain('sessions');
    const l = lines(render(<LocksPanel sample={sample} width={80} height={4} />).lastFrame());
    expect(l[0]).toMatch(/^── Locks · unavailable/);
    expect(l.slice(1).join(' ')).toBe(
      `sessions (pg_stat_activity): switched off: permission denied for view pg_stat_activity. Give role "${role}" access (GRANT pg_monitor, or a GRANT on the object named) to turn it on.`,
    );
    for (const line of l) expect(line.length).toBeLessThanOrEqual(80);
  });
});

describe('LocksPanel after a wait has ended', () => {
  const base: MonitorSample = {
    at: Date.parse('2025-01-01T12:00:10Z'),
    pollMs: 2,
    serverVersionNum: 170006,
    locks: [],
    longQueries: [],
    standbys: [],
    walBytesPerSecond: 0,
    connectionsByState: {},
    indexBuilds: [],
    notes: [],
  };

  it('does not say "no lock waits" right after one: waits the polls saw, and our lock timeouts no poll saw', () => {
    const sample: MonitorSample = {
      ...base,
      recentLockWaits: [
        {
          pid: 4242,
          relation: 'orders',
          mode: 'ShareUpdateExclusiveLock',
          lockType: 'relation',
          seconds: 1.6,
          endedAt: base.at - 3000,
          ours: true,
          applicationName: 'pgrunbook',
        },
      ],
    };
    const timeouts = [
      { stepId: 'index_amount', at: base.at - 2000, waitedMs: 2000 },
      { stepId: 'old_step', at: base.at - 120_000, waitedMs: 2000 }, // over a minute ago: gone
    ];
    const l = lines(render(<LocksPanel sample={sample} width={80} height={5} lockTimeouts={timeouts} />).lastFrame());
    expect(l[0]).toMatch(/^── Locks · no lock waits now · 2 in the last minute ─+$/);
    expect(l[1]).toMatch(/^2s ago: index_amount gave up at lock_timeout after 2s$/);
    expect(l[2]).toMatch(/^ended 3s ago: 4242\* waited 1\.6s for SHARE UPDATE EXCLUSIVE on orders · pgrunbook$/);
    expect(l.join('\n')).not.toContain('old_step');
    // A minute later, quiet again.
    const later = { ...base, at: base.at + 61_000, recentLockWaits: [] };
    expect(lines(render(<LocksPanel sample={later} width={80} height={5} lockTimeouts={timeouts} />).lastFrame())[0]).toMatch(
      /^── Locks · no lock waits ─+$/,
    );
  });
});
