// The throttle probes' SQL on real PostgreSQL: cheap, time-limited, and right about who waits on whom.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { ThrottleProbes } from '../../src/backfill/backfill-probes.js';

describe.each(edgeMajors())('throttle probes on PostgreSQL %i', (major) => {
  const db = useTestDatabase(major);

  it('lists no standbys on a lone primary, and finds sessions waiting on a given backend', async () => {
    await db.query(`create table p (id int primary key, v int)`);
    await db.query(`insert into p values (1, 0)`);
    const warnings: string[] = [];
    const probes = new ThrottleProbes(db.pool, 250, (m) => warnings.push(m));
    const holder = new pg.Client(db.url);
    const waiter = new pg.Client(db.url);
    await holder.connect();
    await waiter.connect();
    try {
      expect(await probes.replication()).toEqual([]);
      await holder.query('begin');
      await holder.query('update p set v = 1 where id = 1');
      const holderPid = (holder as any).processID as number;
      expect(await probes.blockedBy(holderPid)).toMatchObject({ count: 0 });
      const waiting = waiter.query('update p set v = 2 where id = 1');
      let seen = { count: 0, maxWaitMs: 0 };
      for (let i = 0; i < 50 && seen.count === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        seen = (await probes.blockedBy(holderPid))!;
      }
      expect(seen.count).toBe(1);
      expect(seen.maxWaitMs).toBeGreaterThanOrEqual(0);
      // Someone else's pid: nobody waits on it.
      expect((await probes.blockedBy((waiter as any).processID))!.count).toBe(0);
      // The backfill's own other worker waiting is left out.
      expect((await probes.blockedBy(holderPid, [(waiter as any).processID]))!.count).toBe(0);
      expect((await probes.blockedBy(holderPid, [holderPid + 100_000]))!.count).toBe(1);
      await holder.query('commit');
      await waiting;
      expect(warnings).toEqual([]);
    } finally {
      await probes.close();
      await holder.end();
      await waiter.end();
    }
  });

  it("says once that other roles' lock waits are invisible without pg_read_all_stats, and not once granted", async () => {
    await db.query(`create table q (id int primary key, v int)`);
    await db.query(`insert into q values (1, 0)`);
    await db.query(`create role waits_blind login`);
    await db.query(`grant all on q to waits_blind`);
    const pool = new pg.Pool({ connectionString: db.url.replace('//postgres@', '//waits_blind@'), max: 2 });
    const warnings: string[] = [];
    const blind = new ThrottleProbes(pool, 1000, (m) => warnings.push(m));
    const holder = new pg.Client(db.url.replace('//postgres@', '//waits_blind@'));
    const waiter = new pg.Client(db.url); // another role (postgres)
    await holder.connect();
    await waiter.connect();
    try {
      await holder.query('begin');
      await holder.query('update q set v = 1 where id = 1');
      const holderPid = (holder as any).processID as number;
      const waiting = waiter.query('update q set v = 2 where id = 1');
      // The superuser's own probe sees the waiter: it is really there.
      const seeing = new ThrottleProbes(db.pool, 1000, (m) => warnings.push(m));
      let seen = 0;
      for (let i = 0; i < 100 && seen === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        seen = (await seeing.blockedBy(holderPid))!.count;
      }
      await seeing.close();
      expect(seen).toBe(1);
      // The unprivileged role does not, and is told so once.
      expect((await blind.blockedBy(holderPid))!.count).toBe(0);
      expect((await blind.blockedBy(holderPid))!.count).toBe(0);
      expect(warnings).toEqual([
        "throttle blocked_sessions cannot see sessions of other roles waiting on the batch's rows: pg_stat_activity shows their waits only to roles with pg_read_all_stats, so only this role's own sessions slow the backfill down (grant pg_monitor to the role to see them all)",
      ]);
      await holder.query('commit');
      await waiting;
      await db.query('grant pg_monitor to waits_blind');
      const granted = new ThrottleProbes(pool, 1000, (m) => warnings.push(m));
      expect(await granted.blockedBy(holderPid)).toMatchObject({ count: 0 });
      await granted.close();
      expect(warnings).toHaveLength(1);
    } finally {
      await blind.close();
      await holder.end();
      await waiter.end();
      await pool.end();
    }
  });

  it("counts this database's sessions at work now or within the window, but not pgrunbook's nor the given pids", async () => {
    const probes = new ThrottleProbes(db.pool, 1000, () => {});
    const client = (name?: string) => new pg.Client({ connectionString: db.url, ...(name ? { application_name: name } : {}) });
    const app = client('shop');
    const ours = client('pgrunbook:20261207-1');
    const given = client();
    const elsewhere = new pg.Client({ connectionString: db.url.replace(/\/[^/?]+(\?|$)/, '/postgres$1'), application_name: 'shop' });
    const sessions = [app, ours, given, elsewhere];
    for (const c of sessions) await c.connect();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      await sleep(2500); // every session here, the test's pool included, idle for longer than the window
      expect(await probes.busySessions([], 2000)).toBe(0);
      for (const c of sessions) await c.query('select 1');
      expect(await probes.busySessions([(given as any).processID], 2000)).toBe(1);
      expect(await probes.busySessions([], 2000)).toBe(2);
      // An open transaction counts however long it has been idle in it.
      await app.query('begin');
      await sleep(2500);
      expect(await probes.busySessions([], 2000)).toBe(1);
      await app.query('commit');
    } finally {
      for (const c of sessions) await c.end();
      await probes.close();
    }
  });

  it('runs with its own short statement_timeout and skips a round instead of failing', async () => {
    const probes = new ThrottleProbes(db.pool, 250, () => {});
    try {
      const c = await (probes as any).connection();
      const r = await c.query(
        `select current_setting('statement_timeout') as st, current_setting('lock_timeout') as lt, current_setting('application_name') as app`,
      );
      expect(r.rows[0]).toEqual({ st: '250ms', lt: '100ms', app: 'pgrunbook:backfill-probe' });
      // A probe that runs over its timeout yields undefined (skipped), not an exception.
      expect(await (probes as any).run('replication', 'select pg_sleep(1)', [])).toBeUndefined();
      expect(await probes.replication()).toEqual([]);
    } finally {
      await probes.close();
    }
  });
});
