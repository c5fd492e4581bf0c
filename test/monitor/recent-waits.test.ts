// A lock wait that ends between two polls (our DDL gives up at lock_timeout) must not vanish: the
// next sample lists it as a recent wait, with how long it was seen waiting. Real PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/pg.js';
import { resolveConnection } from '../../src/pg/connection.js';
import { Monitor } from '../../src/monitor/monitor-poller.js';
import { RECENT_WAIT_MS, RecentWaits } from '../../src/monitor/recent-waits.js';
import { createTable, openSession, waitFor } from './support/scenarios.js';
import type { LockSession } from '../../src/monitor/monitor-types.js';

const db = useTestDatabase();

describe('recent lock waits', () => {
  let monitor: Monitor;
  beforeAll(async () => {
    await createTable(db.pool, 'accounts');
    monitor = Monitor.connect(resolveConnection(db.url), {});
  });
  afterAll(async () => {
    await monitor.stop();
  });

  it('keeps a DDL wait that timed out since the last poll', async () => {
    const holder = await openSession(db.url, 'app:holder');
    const ddl = await openSession(db.url, 'pgrunbook:test-ddl');
    try {
      await holder.client.query('begin');
      await holder.client.query('select * from accounts limit 1');
      await ddl.client.query(`set lock_timeout = '1500ms'`);
      const done = ddl.client.query('alter table accounts add column extra int').catch((e: { code?: string }) => e.code);
      const during = await waitFor(async () => {
        const s = await monitor.poll();
        return s.locks.some((l) => l.pid === ddl.pid) ? s : undefined;
      }, 'the monitor to see the DDL waiting');
      expect(during.recentLockWaits).toEqual([]);
      expect(await done).toBe('55P03');
      const after = await monitor.poll();
      expect(after.locks.filter((l) => l.blockedBy.length > 0)).toEqual([]);
      expect(after.recentLockWaits).toEqual([
        expect.objectContaining({ pid: ddl.pid, relation: 'accounts', mode: 'AccessExclusiveLock', ours: true }),
      ]);
      expect(after.recentLockWaits![0]!.seconds).toBeGreaterThanOrEqual(0);
    } finally {
      await holder.client.end();
      await ddl.client.end();
    }
  });
});

describe('RecentWaits (pure)', () => {
  const waiter = (pid: number, seconds: number): LockSession => ({
    pid,
    blockedBy: [1],
    softBlockedBy: [],
    state: 'active',
    waitEvent: 'Lock:relation',
    waitingMode: 'AccessExclusiveLock',
    waitingLockType: 'relation',
    relation: 'orders',
    waitingSeconds: seconds,
    xactAgeSeconds: 1,
    query: 'alter table orders …',
    applicationName: 'pgrunbook',
    user: 'u',
    ours: true,
    queuedBehind: 0,
    queuedLongestSeconds: null,
    database: 'app',
  });

  it('remembers the longest wait seen, and forgets an ended wait after a minute', () => {
    const r = new RecentWaits();
    expect(r.observe([waiter(7, 0.4)], 1000)).toEqual([]);
    expect(r.observe([waiter(7, 1.4)], 2000)).toEqual([]);
    const ended = r.observe([], 3000);
    expect(ended).toEqual([expect.objectContaining({ pid: 7, seconds: 1.4, endedAt: 3000 })]);
    expect(r.observe([], 3000 + RECENT_WAIT_MS)).toHaveLength(1);
    expect(r.observe([], 3001 + RECENT_WAIT_MS)).toEqual([]);
  });
});
