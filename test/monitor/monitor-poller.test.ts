// The monitor against real PostgreSQL situations: a lock queue behind our waiting DDL, a long
// transaction, CREATE INDEX CONCURRENTLY waiting for an old snapshot, WAL generation, and the
// "never hurts production" rules (own sessions, short timeouts, guarded sizes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, useTestDatabase } from '../support/pg.js';
import { resolveConnection } from '../../src/pg/connection.js';
import { createMonitorPool, Monitor } from '../../src/monitor/monitor-poller.js';
import { cancelOwnStatement, cancellableSession } from '../../src/monitor/cancel.js';
import { createTable, indexWaitingForSnapshot, lockQueue, longTransaction, openSession, waitFor } from './support/scenarios.js';
import type pg from 'pg';

const db = useTestDatabase();

describe('monitor on real sessions', () => {
  let monitor: Monitor;
  beforeAll(async () => {
    await createTable(db.pool, 'orders');
    monitor = Monitor.connect(resolveConnection(db.url), { longQuerySeconds: 0, relations: ['orders', 'missing_table'] });
  });
  afterAll(async () => {
    await monitor.stop();
  });

  it('runs on its own sessions: application_name, 500 ms statement_timeout, 100 ms lock_timeout, read-only', async () => {
    const pool = createMonitorPool(resolveConnection(db.url));
    try {
      const r = await pool.query(
        `select current_setting('application_name') as app, current_setting('statement_timeout') as st,
                current_setting('lock_timeout') as lt, current_setting('default_transaction_read_only') as ro, current_setting('plan_cache_mode') as pcm`,
      );
      expect(r.rows[0]).toEqual({ app: 'pgrunbook:monitor', st: '500ms', lt: '100ms', ro: 'on', pcm: 'force_generic_plan' });
    } finally {
      await pool.end();
    }
  });

  it('builds the blocking tree for a DDL queued behind a transaction, with readers queued behind the DDL', async () => {
    const q = await lockQueue(db.url, db.pool, 'orders', 2);
    try {
      const s = await monitor.poll();
      const by = (pid: number) => s.locks.find((l) => l.pid === pid)!;
      const holder = by(q.holder.pid);
      const ddl = by(q.ddl.pid);
      expect(holder.blockedBy).toEqual([]);
      expect(holder.state).toBe('idle in transaction');
      expect(holder.queuedBehind).toBe(3);
      expect(holder.ours).toBe(false);

      expect(ddl.ours).toBe(true);
      expect(ddl.blockedBy).toEqual([q.holder.pid]);
      expect(ddl.softBlockedBy).toEqual([]); // the holder holds a conflicting lock: a hard block
      expect(ddl.waitingMode).toBe('AccessExclusiveLock');
      expect(ddl.relation).toBe('orders');
      expect(ddl.queuedBehind).toBe(2);
      expect(ddl.waitingSeconds).toBeGreaterThanOrEqual(0); // pg_locks.waitstart (PG 14+)
      expect(ddl.queuedLongestSeconds).toBeGreaterThanOrEqual(0);

      for (const r of q.readers) {
        const reader = by(r.pid);
        expect(reader.blockedBy).toEqual([q.ddl.pid]);
        expect(reader.softBlockedBy).toEqual([q.ddl.pid]); // only ahead in the queue
        expect(reader.waitingMode).toBe('AccessShareLock');
        expect(reader.queuedBehind).toBe(0);
      }
      // Never a size function on a relation with ACCESS EXCLUSIVE pending.
      expect(s.relationSizes).toEqual([
        { relation: 'orders', bytes: null, skipped: 'ACCESS EXCLUSIVE lock pending on it' },
        { relation: 'missing_table', bytes: null, skipped: 'no such relation' },
      ]);
      expect(s.notes).toEqual([]);
      expect(cancellableSession(s)?.pid).toBe(q.ddl.pid);
    } finally {
      await q.cleanup();
    }
  });

  it('cancels our waiting statement and refuses anyone else’s', async () => {
    const q = await lockQueue(db.url, db.pool, 'orders', 1);
    try {
      const reader = await cancelOwnStatement(db.pool, q.readers[0]!.pid);
      expect(reader.cancelled).toBe(false);
      expect(reader.message).toMatch(/not a pgrunbook session/);
      const holder = await cancelOwnStatement(db.pool, q.holder.pid);
      expect(holder.cancelled).toBe(false);
      const monitorOwn = await db.query(`select pid from pg_stat_activity where application_name = 'pgrunbook:monitor' limit 1`);
      if (monitorOwn[0]) expect((await cancelOwnStatement(db.pool, monitorOwn[0].pid)).message).toMatch(/monitor itself/);

      const r = await monitor.cancelOwn(q.ddl.pid);
      expect(r).toMatchObject({ cancelled: true, wasWaiting: true });
      const outcome = (await q.ddlDone) as { code?: string };
      expect(outcome.code).toBe('57014');
      const after = await monitor.poll();
      expect(after.locks.find((l) => l.pid === q.ddl.pid)).toBeUndefined();
    } finally {
      await q.cleanup();
    }
  });

  it('falls back to the statement age where pg_locks.waitstart does not exist (locks.sql, before PG 14)', async () => {
    const { ProbeRunner } = await import('../../src/monitor/monitor-probes.js');
    const { sqlText } = await import('../../src/pg/sql-files.js');
    const q = await lockQueue(db.url, db.pool, 'orders', 0);
    try {
      const runner = new ProbeRunner(db.pool, 130000, 'postgres');
      const res = await runner.run<{ pid: number; mode: string; wait_start: number | null }>('locks', [[q.ddl.pid]]);
      expect(res.ok).toBe(true);
      if (res.ok) expect(res.rows).toEqual([expect.objectContaining({ pid: q.ddl.pid, mode: 'AccessExclusiveLock', wait_start: null })]);
      expect(sqlText('monitor/sql', 'locks', 130000)).not.toMatch(/l\.waitstart/);
    } finally {
      await q.cleanup();
    }
  });

  it('skips sizes while ACCESS EXCLUSIVE is granted, without waiting for it', async () => {
    const s1 = await openSession(db.url, 'app:locker');
    try {
      await s1.client.query('begin');
      await s1.client.query('lock table orders in access exclusive mode');
      const t0 = Date.now();
      const s = await monitor.poll();
      expect(Date.now() - t0).toBeLessThan(450);
      expect(s.relationSizes![0]).toEqual({ relation: 'orders', bytes: null, skipped: 'ACCESS EXCLUSIVE lock granted on it' });
      expect(s.notes).toEqual([]);
      await s1.client.query('rollback');
      const free = await monitor.poll();
      expect(free.relationSizes![0]!.bytes).toBeGreaterThan(0);
    } finally {
      await s1.client.end();
    }
  });

  it('lists long queries: idle in transaction with its transaction age, and active statements, text truncated', async () => {
    const m = Monitor.connect(resolveConnection(db.url), { longQuerySeconds: 0, queryChars: 20 });
    const lt = await longTransaction(db.url, db.pool, 'orders');
    try {
      const s = await m.poll();
      const idle = s.longQueries.find((q) => q.pid === lt.idleInTx.pid)!;
      expect(idle.state).toBe('idle in transaction');
      expect(idle.xactAgeSeconds).toBeGreaterThan(0);
      expect(idle.applicationName).toBe('app:report');
      const busy = s.longQueries.find((q) => q.pid === lt.sleeper.pid)!;
      expect(busy.state).toBe('active');
      expect(busy.waitEvent).toBe('Timeout:PgSleep');
      expect(busy.query).toBe('select pg_sleep(60) ');
      // The monitor's own sessions never show up.
      expect(s.longQueries.every((q) => q.applicationName !== 'pgrunbook:monitor')).toBe(true);
      // Over a threshold only.
      const strict = Monitor.connect(resolveConnection(db.url), { longQuerySeconds: 3600 });
      expect((await strict.poll()).longQueries).toEqual([]);
      await strict.stop();
    } finally {
      await lt.cleanup();
      await m.stop();
    }
  });

  it('shows CREATE INDEX CONCURRENTLY waiting for an old snapshot, and who it waits for', async () => {
    const w = await indexWaitingForSnapshot(db.url, db.pool, 'orders', 'orders_v_idx');
    try {
      const s = await monitor.poll();
      const b = s.indexBuilds.find((x) => x.pid === w.builder.pid)!;
      expect(b).toMatchObject({
        relation: 'orders',
        index: 'orders_v_idx',
        command: 'CREATE INDEX CONCURRENTLY',
        phase: 'waiting for old snapshots',
        currentLockerPid: w.snapshotHolder.pid,
      });
      expect(b.lockersTotal).toBeGreaterThanOrEqual(1);
      expect(b.indexBytes).toBeGreaterThan(0); // built; no ACCESS EXCLUSIVE on it in this phase
      // The wait is a lock wait on the old transaction's virtualxid: the tree shows it too.
      const waiter = s.locks.find((l) => l.pid === w.builder.pid)!;
      expect(waiter.blockedBy).toContain(w.snapshotHolder.pid);
      expect(waiter.waitingLockType).toBe('virtualxid');
      expect(waiter.ours).toBe(true);
    } finally {
      await w.cleanup();
    }
    expect(await w.built).toBe('done');
  });

  it('shows the connected database by default, every database with allDatabases', async () => {
    const other = await createDatabase(db.major, 'other');
    const s1 = await openSession(other.url, 'app:elsewhere');
    try {
      await s1.client.query('begin');
      await s1.client.query('select 1');
      const here = await monitor.poll();
      expect(here.allDatabases).toBe(false);
      expect(here.longQueries.find((q) => q.pid === s1.pid)).toBeUndefined();
      expect(here.longQueries.every((q) => q.database === db.name)).toBe(true);
      const all = Monitor.connect(resolveConnection(db.url), { longQuerySeconds: 0, allDatabases: true });
      const everywhere = await all.poll();
      await all.stop();
      expect(everywhere.longQueries.find((q) => q.pid === s1.pid)).toMatchObject({ database: other.name, state: 'idle in transaction' });
    } finally {
      await s1.client.end();
      await other.drop();
    }
  });

  it('measures the WAL rate from deltas of pg_current_wal_lsn()', async () => {
    const m = Monitor.connect(resolveConnection(db.url));
    try {
      const first = await m.poll();
      expect(first.walBytesPerSecond).toBeNull();
      expect(first.role).toBe('primary');
      await db.query(`insert into orders select g, repeat('x', 200) from generate_series(100001, 120000) g`);
      const second = await m.poll();
      expect(second.walBytesPerSecond).toBeGreaterThan(0);
      expect(second.standbys).toEqual([]);
      expect(second.connectionsByState.active ?? 0).toBeGreaterThanOrEqual(0);
      expect(second.maxConnections).toBeGreaterThan(0);
    } finally {
      await m.stop();
    }
  });

  it('polls on an interval for subscribers and stops cleanly, closing its pool', async () => {
    const m = Monitor.connect(resolveConnection(db.url), { intervalMs: 150 });
    const got: number[] = [];
    m.subscribe((s) => got.push(s.at));
    m.start();
    const deadline = Date.now() + 10_000;
    while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await m.stop();
    expect(got.length).toBeGreaterThanOrEqual(3);
    expect(got[2]! - got[1]!).toBeGreaterThanOrEqual(100);
    // Its sessions end (the server notices the closed sockets a moment later): only the long-lived
    // monitor of this file remains, with at most its 3 pooled sessions.
    await waitFor(async () => {
      const left = await db.query(
        `select count(*)::int as n from pg_stat_activity where application_name = 'pgrunbook:monitor' and datname = current_database()`,
      );
      return left[0].n <= 3;
    }, 'the stopped monitor’s sessions to end');
  });

  it('reports an unreachable server through onError and keeps retrying', async () => {
    const m = Monitor.connect(resolveConnection('postgres://postgres@127.0.0.1:1/nowhere'), { intervalMs: 100 });
    const errors: unknown[] = [];
    m.onError((e) => errors.push(e));
    await expect(m.poll()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    m.start();
    const deadline = Date.now() + 5000;
    while (errors.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await m.stop();
    expect(errors.length).toBeGreaterThanOrEqual(2);
  });
});

describe('a monitor role without pg_monitor / pg_read_all_stats', () => {
  const role = `mon_${Math.random().toString(36).slice(2, 8)}`;
  let limitedUrl: string;
  let other: pg.PoolClient | undefined;
  beforeAll(async () => {
    await db.query(`create role ${role} login`);
    // A hardened database: the WAL position function is not public here.
    await db.query(`revoke execute on function pg_current_wal_lsn() from public`);
    const u = new URL(db.url);
    u.username = role;
    limitedUrl = u.toString();
    other = await db.pool.connect();
    await other.query(`begin`);
    await other.query(`select 1`);
  });
  afterAll(async () => {
    await other?.query('rollback');
    other?.release();
    await db.query(`grant execute on function pg_current_wal_lsn() to public`);
    await db.query(`drop role if exists ${role}`);
  });

  it('degrades to notes instead of failing', async () => {
    const m = Monitor.connect(resolveConnection(limitedUrl), { longQuerySeconds: 0 });
    try {
      const s = await m.poll();
      expect(s.unavailable).toContain('replication');
      expect(s.notes.join('\n')).toMatch(
        /replication .*switched off: permission denied for function pg_current_wal_lsn\. Give role "mon_\w+" access \(GRANT pg_monitor/,
      );
      expect(s.hiddenSessions).toBeGreaterThanOrEqual(1);
      expect(s.notes.join('\n')).toMatch(/hidden: grant pg_read_all_stats/);
      // Hidden sessions are counted, not shown as long queries with made-up ages.
      expect(s.longQueries.every((q) => q.query !== '<insufficient privilege>')).toBe(true);
      expect(s.connectionsByState.hidden).toBeGreaterThanOrEqual(1);
      const again = await m.poll();
      expect(again.unavailable).toContain('replication');
      expect(again.unavailable).not.toContain('sessions');
    } finally {
      await m.stop();
    }
  });
});

describe('probe failures', () => {
  it('a probe that times out becomes a note, then backs off', async () => {
    const { ProbeRunner } = await import('../../src/monitor/monitor-probes.js');
    const pool = createMonitorPool(resolveConnection(db.url));
    try {
      const runner = new ProbeRunner(pool, 170000, 'postgres');
      runner.nextPoll();
      const a = await runner.runSql('slow', 'select pg_sleep(2)');
      expect(a).toEqual({ ok: false, note: 'slow: timed out (statement_timeout 500ms); skipped.' });
      runner.nextPoll();
      const b = await runner.runSql('slow', 'select pg_sleep(2)');
      expect(b.ok).toBe(false);
      runner.nextPoll();
      const t0 = Date.now();
      const c = await runner.runSql('slow', 'select pg_sleep(2)');
      expect(Date.now() - t0).toBeLessThan(100); // skipped, not run
      expect(c).toMatchObject({ ok: false, note: expect.stringMatching(/paused after 2 failed polls/) });
      runner.nextPoll();
      expect(await runner.runSql('slow', 'select 1 as x')).toEqual({ ok: true, rows: [{ x: 1 }] });
    } finally {
      await pool.end();
    }
  });
});
