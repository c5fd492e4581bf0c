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
      await holder.query('commit');
      await waiting;
      expect(warnings).toEqual([]);
    } finally {
      await probes.close();
      await holder.end();
      await waiter.end();
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
