// The lock-safe executor against real PostgreSQL: lock_timeout, retries, units, blocking bounds.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { edgeMajors, testPool, useTestDatabase } from '../support/pg.js';
import { endTransactionLater } from '../support/pg-session.js';
import { SqlExecutor } from '../../src/pg/executor.js';
import { systemClock } from '../../src/util/clock.js';
import type { EventBody } from '../../src/engine/events.js';
import type { GatePort } from '../../src/engine/gates.js';
import { PolicyGates } from '../../src/engine/gates.js';

function executor(url: string, gates: GatePort = new PolicyGates({ yes: false, allowIrreversible: false, user: 't' })) {
  const pool = new pg.Pool({ connectionString: url, max: 4, application_name: 'pgrunbook:test-exec' });
  pool.on('error', () => {});
  const events: EventBody[] = [];
  const ex = new SqlExecutor({
    pool,
    clock: systemClock,
    emit: (e) => void events.push(e),
    gates,
    backoffBaseMs: 100,
    backoffCapMs: 300,
    random: () => 0.5,
  });
  return { ex, events, pool };
}

const opts = { stepId: 's', lockTimeoutMs: 200, statementTimeoutMs: 0, retries: 3 };

for (const major of edgeMajors()) {
  describe(`executor on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);

    it('groups statements into units: one transaction, and non-transactional statements alone', async () => {
      await db.query('create table u1 (id int primary key, a int)');
      const units = await SqlExecutor.units(
        'alter table u1 add column b int; update u1 set b = 1; create index concurrently u1_b on u1 (b); begin; alter table u1 add column c int; commit;',
      );
      expect(units.map((u) => `${u.transactional}:${u.statements.length}`)).toEqual(['true:2', 'false:1', 'true:1']);
      const { ex, pool } = executor(db.url);
      await ex.run(
        'alter table u1 add column b int; update u1 set b = 1; create index concurrently u1_b on u1 (b); begin; alter table u1 add column c int; commit;',
        opts,
      );
      const idx = await db.query(`select indisvalid from pg_index where indexrelid = 'u1_b'::regclass`);
      expect(idx[0].indisvalid).toBe(true);
      await pool.end();
    });

    it('a failing statement rolls back its whole unit', async () => {
      await db.query('create table u2 (id int primary key)');
      const { ex, pool } = executor(db.url);
      await expect(ex.run('alter table u2 add column x int; select 1/0;', opts)).rejects.toThrow(/division by zero/);
      const cols = await db.query(`select count(*)::int n from information_schema.columns where table_name = 'u2' and column_name = 'x'`);
      expect(cols[0].n).toBe(0);
      await pool.end();
    });

    it('rejects a non-transactional statement inside BEGIN ... COMMIT and never runs without lock_timeout', async () => {
      const { ex, pool } = executor(db.url);
      await expect(ex.run('begin; create index concurrently x on u2 (id); commit;', opts)).rejects.toThrow(
        /cannot run inside a transaction block/,
      );
      await expect(ex.run('select 1', { ...opts, lockTimeoutMs: 0 })).rejects.toThrow(/without a lock_timeout/);
      await pool.end();
    });

    it('DDL behind a held lock retries under lock_timeout, never blocks a concurrent SELECT for long, then fails clearly', async () => {
      await db.query('create table busy (id int primary key, v int)');
      await db.query('insert into busy select g, g from generate_series(1, 100) g');
      const holder = new pg.Client(db.url);
      await holder.connect();
      await holder.query('begin');
      await holder.query('select * from busy where id = 1 for update'); // RowShare: conflicts with ACCESS EXCLUSIVE

      const { ex, events, pool } = executor(db.url);
      const ddl = ex.run('alter table busy add column w int', opts);
      // Meanwhile an application SELECT keeps querying: each must wait at most about lock_timeout.
      const reader = new pg.Client(db.url);
      await reader.connect();
      const waits: number[] = [];
      let done = false;
      const failed = ddl.catch((e) => e).finally(() => (done = true));
      while (!done) {
        const t0 = performance.now();
        await reader.query('select count(*) from busy');
        waits.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      }
      const err = await failed;
      expect(err.message).toMatch(/could not get the lock after 3 retries/);
      expect(err.hint).toMatch(/pgrunbook resume/);
      expect(events.filter((e) => e.type === 'step.retry')).toHaveLength(3);
      expect(waits.length).toBeGreaterThan(5);
      // lock_timeout is 200 ms: no reader waits much longer than that (generous margin for a busy CI box).
      expect(Math.max(...waits)).toBeLessThan(200 + 400);
      await holder.query('rollback');
      await Promise.all([holder.end(), reader.end(), pool.end()]);
    });

    it('when the blocker goes away during the retries, the DDL succeeds', async () => {
      await db.query('create table later (id int primary key)');
      const holder = new pg.Client(db.url);
      await holder.connect();
      await holder.query('begin');
      await holder.query('lock table later in access share mode');
      const { ex, events, pool } = executor(db.url);
      const rolledBack = endTransactionLater(holder, 350, 'rollback');
      await ex.run('alter table later add column z int', opts);
      await rolledBack();
      expect(events.some((e) => e.type === 'step.retry')).toBe(true);
      expect(events.filter((e) => e.type === 'step.sql' && e.ok)).toHaveLength(1);
      await Promise.all([holder.end(), pool.end()]);
    });

    it('asks the operator when retries run out and retries again on "retry"', async () => {
      await db.query('create table ask (id int primary key)');
      const holder = new pg.Client(db.url);
      await holder.connect();
      await holder.query('begin');
      await holder.query('lock table ask in access share mode');
      const asked: string[] = [];
      const gates: GatePort = {
        request: async (r) => {
          asked.push(r.title);
          expect(r.choices).toEqual(['retry', 'abort']);
          expect(r.evidence.some((e) => /blocker pid/.test(e.label))).toBe(true);
          await holder.query('rollback');
          return { approved: true, choice: 'retry', by: 'operator' };
        },
      };
      const { ex, pool } = executor(db.url, gates);
      await ex.run('alter table ask add column z int', { ...opts, retries: 1 });
      expect(asked).toHaveLength(1);
      await Promise.all([holder.end(), pool.end()]);
    });

    it('engine session settings apply to the unit and are reset before the connection goes back', async () => {
      const pool = testPool(db.url, 1);
      const ex = new SqlExecutor({
        pool,
        clock: systemClock,
        emit: () => {},
        gates: new PolicyGates({ yes: false, allowIrreversible: false, user: 't' }),
      });
      const show = "select current_setting('max_parallel_maintenance_workers') as v";
      const settings = { max_parallel_maintenance_workers: 0 };
      const [alone] = await ex.run(show, { ...opts, transactional: false, settings });
      expect(alone!.rows).toEqual([{ v: '0' }]);
      const [inTx] = await ex.run(show, { ...opts, transactional: true, settings });
      expect(inTx!.rows).toEqual([{ v: '0' }]);
      // Same (only) connection afterwards: back to the server's value.
      expect((await pool.query(show)).rows).toEqual([{ v: '2' }]);
      await expect(ex.run(show, { ...opts, settings: { 'x; drop table u2': 1 } })).rejects.toThrow(/bad session setting/);
      await pool.end();
    });

    it('statement_timeout errors say how to fix them', async () => {
      const { ex, pool } = executor(db.url);
      await expect(ex.run('select pg_sleep(2)', { ...opts, statementTimeoutMs: 100 })).rejects.toMatchObject({
        message: expect.stringMatching(/statement_timeout \(100 ms\)/),
        hint: expect.stringMatching(/raise statement_timeout/),
      });
      await pool.end();
    });

    it('abort cancels the running statement on the server', async () => {
      const { ex, pool } = executor(db.url);
      const ac = new AbortController();
      const t0 = Date.now();
      setTimeout(() => ac.abort(new Error('stop')), 200);
      await expect(ex.run('select pg_sleep(30)', { ...opts, signal: ac.signal })).rejects.toThrow();
      expect(Date.now() - t0).toBeLessThan(5000);
      const left = await db.query(
        `select count(*)::int n from pg_stat_activity where query like 'select pg_sleep(30)%' and state = 'active'`,
      );
      expect(left[0].n).toBe(0);
      await pool.end();
    });
  });
}
