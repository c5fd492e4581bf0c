// metricsSnapshot, the plain line and the threshold checks over one real sample: a DDL queued behind
// an open transaction, readers behind the DDL, and a long-running statement.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/pg.js';
import { resolveConnection } from '../../src/pg/connection.js';
import { Monitor } from '../../src/monitor/monitor-poller.js';
import { metricsSnapshot } from '../../src/monitor/snapshot.js';
import { formatSampleLine } from '../../src/monitor/monitor-text.js';
import { checkThresholds, uncheckable } from '../../src/monitor/thresholds.js';
import type { MonitorSample } from '../../src/monitor/monitor-types.js';
import { createTable, lockQueue, longTransaction, type LockQueue, type LongTransaction } from './support/scenarios.js';

const db = useTestDatabase();

describe('one sample, three views', () => {
  let sample: MonitorSample;
  let q: LockQueue;
  let lt: LongTransaction;
  beforeAll(async () => {
    await createTable(db.pool, 'orders');
    await createTable(db.pool, 'items');
    lt = await longTransaction(db.url, db.pool, 'items');
    q = await lockQueue(db.url, db.pool, 'orders', 2);
    const m = Monitor.connect(resolveConnection(db.url), { longQuerySeconds: 0 });
    await new Promise((r) => setTimeout(r, 300)); // let the waits age a little past 0
    sample = await m.poll();
    await m.stop();
  });
  afterAll(async () => {
    await q?.cleanup();
    await lt?.cleanup();
  });

  it('metricsSnapshot is compact JSON with the figures a gate decision needs', () => {
    const m = metricsSnapshot(sample);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
    expect(m.locks).toMatchObject({ waiting: 3, blockers: 1, maxQueuedBehind: 3, oursWaiting: [q.ddl.pid] });
    expect(m.locks.longestWaitSeconds).toBeGreaterThan(0);
    expect(m.longQueries.idleInTransaction).toBeGreaterThanOrEqual(2); // the lock holder and the report
    expect(m.longQueries.longestQuerySeconds).toBeGreaterThan(0);
    expect(m.replication).toMatchObject({ standbys: 0, maxLagBytes: null, inactiveSlots: [] });
    expect(m.connections.total).toBeGreaterThanOrEqual(6);
    expect(m.role).toBe('primary');
    expect(JSON.stringify(m).length).toBeLessThan(2000);
  });

  it('the plain line says the same in one line', () => {
    const line = formatSampleLine(sample);
    expect(line).not.toContain('\n');
    expect(line).toMatch(/locks: 3 waiting, longest \S+, 3 behind pid \d+/);
    expect(line).toContain(`behind pid ${q.holder.pid}`);
    expect(line).toMatch(/repl: no standbys/);
    // Once the waits are over, the line still says one ended recently.
    const after: MonitorSample = {
      ...sample,
      locks: [],
      recentLockWaits: [
        {
          pid: 1,
          relation: 'orders',
          mode: 'AccessExclusiveLock',
          lockType: 'relation',
          seconds: 1.6,
          endedAt: sample.at,
          ours: true,
          applicationName: 'pgrunbook',
        },
      ],
    };
    expect(formatSampleLine(after)).toContain('locks: none waiting (1 ended in the last minute, longest 1.6s)');
  });

  it('checks thresholds and names who is over', () => {
    const breaches = checkThresholds(sample, {
      maxLockWaitSeconds: 0.1,
      maxLongQuerySeconds: 0.1,
      maxTransactionAgeSeconds: 0.1,
      maxReplicationLagBytes: 1,
    });
    const byLimit = Object.fromEntries(breaches.map((b) => [b.limit, b]));
    expect(byLimit.maxLockWaitSeconds!.pid).toBe(q.ddl.pid);
    expect(byLimit.maxLockWaitSeconds!.reason).toMatch(
      new RegExp(`pid ${q.ddl.pid} has waited .* for AccessExclusiveLock on orders, blocked by ${q.holder.pid}`),
    );
    expect(byLimit.maxLongQuerySeconds!.reason).toMatch(/has run one statement for/);
    expect(byLimit.maxTransactionAgeSeconds).toBeDefined();
    expect(byLimit.maxReplicationLagBytes).toBeUndefined(); // no standbys
    expect(checkThresholds(sample, { maxLockWaitSeconds: 3600, maxLongQuerySeconds: 3600 })).toEqual([]);
    expect(uncheckable(sample, { maxLockWaitSeconds: 1 })).toEqual([]);
    expect(uncheckable({ ...sample, unavailable: ['replication'] }, { maxReplicationLagBytes: 1, maxLockWaitSeconds: 1 })).toEqual([
      'maxReplicationLagBytes',
    ]);
  });
});
