// A lock wait that ends in the grant is reported once, as an event the step's log words: a DDL step
// waits behind a real open transaction that commits after ~1.5 s.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { EventBody, RunEvent } from '../../src/engine/events.js';
import { eventText } from '../../src/render/event-text.js';
import { recordingExecutor } from '../support/executor.js';
import { endTransactionLater } from '../support/pg-session.js';
import { edgeMajors, testPool, useTestDatabase } from '../support/pg.js';

for (const major of edgeMajors()) {
  describe(`a lock wait that ended in the grant, on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);

    it('is logged in the step once, with the wait, the lock in words, the relation and the blocker', async () => {
      await db.query('create table waited (id int primary key)');
      const pool = testPool(db.url, 4, 'pgrunbook:test-wait');
      const holder = new pg.Client({ connectionString: db.url, application_name: 'lock-wait-holder' });
      await holder.connect();
      try {
        await holder.query('begin');
        await holder.query('select * from waited');
        const holderPid = (holder as any).processID as number;
        const events: EventBody[] = [];
        const ex = recordingExecutor(pool, events);
        const released = endTransactionLater(holder, 1_500);
        const t0 = Date.now();
        await ex.run('alter table waited add column note text', {
          stepId: 'add_note',
          lockTimeoutMs: 30_000,
          statementTimeoutMs: 0,
          retries: 0,
        });
        const took = Date.now() - t0;
        await released();

        const waits = events.filter((e) => e.type === 'step.lock_wait');
        expect(waits).toHaveLength(1);
        const w = waits[0] as Extract<EventBody, { type: 'step.lock_wait' }>;
        expect(w).toMatchObject({
          stepId: 'add_note',
          mode: 'AccessExclusiveLock',
          lockType: 'relation',
          relation: 'public.waited',
          blockers: [holderPid],
        });
        // The wait began with the statement and ended before it did (generous bounds: the machine is loaded).
        expect(w.waitedMs).toBeGreaterThan(1_000);
        expect(w.waitedMs).toBeLessThanOrEqual(took + 50);
        const line = eventText({ ...w, seq: 1, at: new Date().toISOString(), runId: 'r' } as RunEvent);
        expect(line).toMatchObject({ stepId: 'add_note', level: 'warn' });
        // Who the blocker was: the gate's words (user, application, state, transaction age), no query text.
        expect(w.blockerDetails?.[holderPid]).toMatch(
          /^client backend, \w+, lock-wait-holder, idle in transaction, transaction open [\d.]+ s$/,
        );
        expect(line?.text).toMatch(
          new RegExp(
            `^add_note: waited \\d+(\\.\\d+)?s for ACCESS EXCLUSIVE on public\\.waited behind pid ${holderPid} \\(client backend, \\w+, lock-wait-holder, idle in transaction, transaction open [\\d.]+ s\\), then got it$`,
          ),
        );
      } finally {
        await holder.end();
        await pool.end();
      }
    });

    it('logs a short wait (polls 20 ms apart, where the first look used to come at 150 ms) with a figure between the true bounds', async () => {
      await db.query('create table short_wait (id int primary key)');
      const pool = testPool(db.url, 4, 'pgrunbook:test-short-wait');
      const holder = new pg.Client({ connectionString: db.url });
      await holder.connect();
      try {
        await holder.query('begin');
        await holder.query('select * from short_wait');
        const events: EventBody[] = [];
        const ex = recordingExecutor(pool, events);
        // In a run the executor is made long before its first DDL, and opens its probe connection then.
        while (
          !(
            await db.query(
              `select 1 from pg_stat_activity where application_name = 'pgrunbook:lock-wait-watch' and datname = current_database()`,
            )
          ).length
        )
          await new Promise((r) => setTimeout(r, 20));
        const t0 = Date.now();
        const ddl = ex.run('alter table short_wait add column note text', {
          stepId: 'short',
          lockTimeoutMs: 30_000,
          statementTimeoutMs: 0,
          retries: 0,
        });
        // Release as soon as a probe has read pg_locks during the wait (a few tens of ms on a quiet
        // machine): what is tested is that the wait is seen and its figure lies between the true bounds.
        let seenWaitingAt = 0;
        let seenTs = '';
        while (!seenWaitingAt) {
          const r = await db.query(
            `select clock_timestamp()::text as ts from pg_locks where relation = 'short_wait'::regclass and not granted`,
          );
          if (r.length) [seenWaitingAt, seenTs] = [Date.now(), r[0].ts];
        }
        const probed = `select 1 from pg_stat_activity where application_name = 'pgrunbook:lock-wait-watch' and datname = current_database() and state = 'idle' and query_start > $1::timestamptz and query like '%pg_blocking_pids(l.pid) as blockers%'`;
        while (!(await db.query(probed, [seenTs])).length) await new Promise((r) => setTimeout(r, 5));
        const releasedAt = Date.now();
        await holder.query('commit');
        await ddl;
        const took = Date.now() - t0;
        const waits = events.filter((e) => e.type === 'step.lock_wait') as Extract<EventBody, { type: 'step.lock_wait' }>[];
        expect(waits).toHaveLength(1);
        expect(waits[0]).toMatchObject({ stepId: 'short', mode: 'AccessExclusiveLock', relation: 'public.short_wait' });
        expect(waits[0]!.waitedMs).toBeGreaterThanOrEqual(releasedAt - seenWaitingAt);
        expect(waits[0]!.waitedMs).toBeLessThanOrEqual(took);
      } finally {
        await holder.end().catch(() => {});
        await pool.end();
      }
    });

    it('still sees the wait when the statement holds the last connection of a full pool', async () => {
      await db.query('create table full_pool (id int primary key)');
      // One connection, and the watched statement holds it: a probe on this pool would wait for the statement.
      const pool = testPool(db.url, 1, 'pgrunbook:test-full-pool');
      const holder = new pg.Client({ connectionString: db.url });
      await holder.connect();
      try {
        await holder.query('begin');
        await holder.query('select * from full_pool');
        const events: EventBody[] = [];
        const released = endTransactionLater(holder, 1_000);
        await recordingExecutor(pool, events).run('alter table full_pool add column note text', {
          stepId: 'full',
          lockTimeoutMs: 30_000,
          statementTimeoutMs: 0,
          retries: 0,
        });
        await released();
        const waits = events.filter((e) => e.type === 'step.lock_wait') as Extract<EventBody, { type: 'step.lock_wait' }>[];
        expect(waits).toHaveLength(1);
        expect(waits[0]).toMatchObject({ relation: 'public.full_pool', blockers: [(holder as any).processID] });
        expect(waits[0]!.waitedMs).toBeGreaterThan(500);
      } finally {
        await holder.end().catch(() => {});
        await pool.end();
      }
    });

    it('is not reported for a statement that did not wait', async () => {
      await db.query('create table unwaited (id int primary key)');
      const pool = testPool(db.url, 2);
      const events: EventBody[] = [];
      const ex = recordingExecutor(pool, events);
      await ex.run('alter table unwaited add column note text; select pg_sleep(0.4)', {
        stepId: 's',
        lockTimeoutMs: 5_000,
        statementTimeoutMs: 0,
        retries: 0,
      });
      await pool.end();
      expect(events.filter((e) => e.type === 'step.lock_wait')).toEqual([]);
    });
  });

  describe(`the lock-wait probe session, on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);

    it('ends with its run pool, not 30 s later (a fleet ends runs faster than that)', async () => {
      const pool = testPool(db.url, 2);
      await recordingExecutor(pool, []).run('select 1', { stepId: 's', lockTimeoutMs: 5_000, statementTimeoutMs: 0, retries: 0 });
      const probes = async (): Promise<number> =>
        Number(
          (
            await db.query<{ n: string }>(
              "select count(*) as n from pg_stat_activity where datname = current_database() and application_name = 'pgrunbook:lock-wait-watch'",
            )
          )[0]!.n,
        );
      for (let i = 0; i < 50 && (await probes()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await probes()).toBe(1);
      await pool.end();
      for (let i = 0; i < 20 && (await probes()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await probes()).toBe(0);
    });
  });
}
