import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { seedOrders } from '../../src/demo/seed.js';
import { SyntheticTraffic, TRAFFIC_APP } from '../../src/demo/traffic.js';
import { useTestDatabase } from '../support/pg.js';

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('SyntheticTraffic', () => {
  const db = useTestDatabase();

  it('reads and updates at a fixed rate, holds a long transaction and a row-lock blocker, and stops cleanly', async () => {
    await seedOrders(db.pool, 2_000);
    const traffic = new SyntheticTraffic({
      connectionString: db.url,
      rows: 2_000,
      rate: 100,
      clients: 4,
      hotShare: 0.5,
      hotRows: 2,
      longTxFirstMs: 100,
      longTxEveryMs: 0,
      longTxMs: 3_000,
      blockerFirstMs: 200,
      blockerEveryMs: 0,
      blockerMs: 3_000,
    });
    traffic.start();
    try {
      // The long transaction: a long active query, then idle in transaction holding ACCESS SHARE.
      const report = await until(async () => {
        const r = await db.query(
          `select pid from pg_stat_activity where application_name = 'demo:report' and backend_xmin is not null and datname = current_database()`,
        );
        return r[0];
      }, 'the long transaction');
      expect(report).toBeDefined();
      // The blocker holds a row lock; an application update of that hot row waits behind it.
      const waiting = await until(async () => {
        const r = await db.query<{ n: number }>(
          `select count(*)::int n from pg_stat_activity a
            where a.application_name = $1 and a.wait_event_type = 'Lock' and a.datname = current_database()
              and exists (select 1 from pg_stat_activity b where b.application_name = 'demo:blocker' and b.pid = any(pg_blocking_pids(a.pid)))`,
          [TRAFFIC_APP],
        );
        return r[0]!.n > 0 ? r[0]!.n : undefined;
      }, 'an application session blocked by the blocker');
      expect(waiting).toBeGreaterThan(0);
      await until(async () => (traffic.stats.reads > 20 && traffic.stats.writes > 5 ? true : undefined), 'reads and writes');
    } finally {
      await traffic.stop();
    }
    expect(traffic.stats.longTransactions).toBe(1);
    expect(traffic.stats.blockers).toBe(1);
    expect(traffic.stats.errors).toBe(0);
    // Nothing of the traffic is left in its database (other files' lessons run the same traffic on the shared server).
    const left = await until(
      async () => {
        const r = await db.query<{ n: number }>(
          `select count(*)::int n from pg_stat_activity where application_name like 'demo:%' and datname = current_database()`,
        );
        return r[0]!.n === 0 ? 0 : undefined;
      },
      'traffic sessions to go away',
      5_000,
    );
    expect(left).toBe(0);
  });

  it('does not pile up work when every client is busy (fixed rate)', async () => {
    await seedOrders(db.pool, 100);
    // Hold a row lock on the only hot row for the whole test: every update to it waits.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`UPDATE orders SET status = 'held' WHERE id = 1`);
    const traffic = new SyntheticTraffic({
      connectionString: db.url,
      rows: 100,
      rate: 200,
      clients: 2,
      hotShare: 1,
      hotRows: 1,
      writeShare: 1,
      longTxFirstMs: 0,
      longTxEveryMs: 0,
      blockerFirstMs: 0,
      blockerEveryMs: 0,
    });
    traffic.start();
    try {
      await until(async () => (traffic.stats.skipped > 50 ? true : undefined), 'skipped operations');
      expect(traffic.stats.writes).toBe(0);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
      await traffic.stop();
    }
  });

  it('pause lets every issued request end, the ones queued behind a lock included, and resume goes on without a burst', async () => {
    await seedOrders(db.pool, 100);
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`UPDATE orders SET status = 'held' WHERE id = 1`);
    let open = 0;
    let issued = 0;
    const traffic = new SyntheticTraffic({
      connectionString: db.url,
      rows: 100,
      rate: 50,
      clients: 2,
      hotShare: 1,
      hotRows: 1,
      writeShare: 1,
      queueWhenBusy: true,
      observer: {
        start: () => {
          open++;
          issued++;
          return () => void open--;
        },
      },
      longTxFirstMs: 0,
      longTxEveryMs: 0,
      blockerFirstMs: 0,
      blockerEveryMs: 0,
    });
    traffic.start();
    try {
      // A backlog: both clients wait for the row lock, the rest queue for the pool.
      await until(async () => (open > 10 ? true : undefined), 'requests queued behind the row lock');
      const pausing = traffic.pause();
      await new Promise((r) => setTimeout(r, 300));
      const issuedWhilePaused = issued;
      expect(open).toBeGreaterThan(0);
      await holder.query('ROLLBACK');
      expect(await pausing).toBe(true);
      expect(open).toBe(0);
      // Paused: nothing new is issued.
      await new Promise((r) => setTimeout(r, 500));
      expect(issued).toBe(issuedWhilePaused);
      // Resumed: the rate counts from now, so the paused time is not made up in one go.
      traffic.resume();
      await new Promise((r) => setTimeout(r, 100));
      expect(issued - issuedWhilePaused).toBeLessThanOrEqual(10);
      await until(async () => (issued - issuedWhilePaused > 10 ? true : undefined), 'requests after resume');
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
      await traffic.stop();
    }
    expect(traffic.stats.errors).toBe(0);
  });
});
