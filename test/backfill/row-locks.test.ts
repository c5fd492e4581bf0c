// Application row locks against real PostgreSQL: the backfill never queues behind them (it waits at
// most lock_timeout, then steps around the held row), the skipped row is still updated exactly once
// when its holder is done, and sessions that wait on the batch's own locks raise a throttle event.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { counterHistogram, createStateSchema, progressEvents, runStep } from './helpers.js';

describe.each(edgeMajors())('backfill and row locks on PostgreSQL %i', (major) => {
  const db = useTestDatabase(major);

  it('steps around a row an application transaction holds, then updates it once the lock is gone', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table locked (id bigint primary key, counter int not null default 0, note text)`);
    await db.query(`insert into locked (id) select g from generate_series(1, 6000) g`);
    const app = new pg.Client(db.url);
    await app.connect();
    await app.query('begin');
    await app.query(`update locked set note = 'app' where id = 2500`); // holds the row lock until commit

    const started = Date.now();
    let walkDoneAt: number | undefined;
    let seenWhileHeld: Record<string, number> | undefined;
    let skippedWhileHeld: number | undefined;
    let observed: Promise<void> = Promise.resolve();
    const run = runStep(
      db.url,
      { table: 'locked', set: 'counter = counter + 1', batch_size: 500, lock_timeout: '50ms' },
      {
        onEvent: (e) => {
          if (walkDoneAt === undefined && e.type === 'step.log' && /key walk finished/.test(e.message)) {
            walkDoneAt = Date.now();
            // Still holding the lock: everything but row 2500 is done, and 2500 waits in the skip list.
            observed = (async () => {
              seenWhileHeld = await counterHistogram(db, 'locked');
              skippedWhileHeld = (await db.query(`select count(*)::int as n from pgrunbook.backfill_skipped`))[0].n;
            })();
          }
          // The retry pass found the row still locked and waits: only now does the application commit.
          if (e.type === 'step.log' && /still locked by other sessions/.test(e.message)) {
            void observed.then(() => app.query('commit'));
          }
        },
      },
    );
    const { ctx, result, error } = await run;
    await app.end();
    expect(error).toBeUndefined();
    // The key walk did not wait for the application's transaction (which ended only after it).
    expect(walkDoneAt! - started).toBeLessThan(3000);
    expect(seenWhileHeld).toEqual({ '0': 1, '1': 5999 });
    expect(skippedWhileHeld).toBe(1);
    expect(result.skippedRows).toBe(1);
    expect(result.rowsDone).toBe(6000);
    expect(await counterHistogram(db, 'locked')).toEqual({ '1': 6000 });
    expect((await db.query(`select note from locked where id = 2500`))[0].note).toBe('app');
    // No batch stalled behind the lock beyond lock_timeout (reported batch times include the try
    // that hit the timeout and its SKIP LOCKED redo).
    expect(Math.max(...progressEvents(ctx.events).map((p) => p.lastBatchMs))).toBeLessThan(1000);
    expect(ctx.events.some((e) => e.type === 'step.log' && /still locked by other sessions/.test(e.message))).toBe(true);
  });

  it('forgets a skipped row that was deleted or stopped matching `where` before the retry pass', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table gone (id bigint primary key, counter int not null default 0, todo bool not null default true)`);
    await db.query(`insert into gone (id) select g from generate_series(1, 2000) g`);
    const app = new pg.Client(db.url);
    await app.connect();
    await app.query('begin');
    await app.query(`update gone set todo = false where id = 100`);
    await app.query(`delete from gone where id = 200`);
    let committed = false;
    const { result, error } = await runStep(
      db.url,
      { table: 'gone', set: 'counter = counter + 1', where: 'todo', batch_size: 300 },
      {
        onEvent: (e) => {
          if (!committed && e.type === 'step.log' && /key walk finished/.test(e.message)) {
            committed = true;
            void app.query('commit');
          }
        },
      },
    );
    await app.end();
    expect(error).toBeUndefined();
    expect(result.skippedRows).toBe(2);
    expect(result.rowsDone).toBe(1998);
    const rows = await db.query(
      `select count(*) filter (where counter = 1)::int as one, count(*) filter (where counter = 0)::int as zero, count(*)::int as n from gone`,
    );
    expect(rows[0]).toEqual({ one: 1998, zero: 1, n: 1999 });
    expect((await db.query(`select count(*)::int as n from pgrunbook.backfill_skipped`))[0].n).toBe(0);
  });

  it('reports sessions waiting on the batch’s own locks as a throttle reason, and clears it', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table held (id bigint primary key, counter int not null default 0, note text)`);
    await db.query(`insert into held (id) select g from generate_series(1, 1000) g`);
    const app = new pg.Client(db.url);
    await app.connect();
    // The first batch sleeps 1.5 s at row 100, holding locks on rows 1..100 meanwhile. Once it is
    // asleep, an application session tries to update row 10 and has to wait for the batch.
    const set = `counter = counter + 1, note = case when id = 100 then pg_sleep(1.5)::text else note end`;
    const appUpdate = (async () => {
      for (let i = 0; i < 200; i++) {
        const asleep = await db.query(`select 1 from pg_stat_activity where wait_event = 'PgSleep' and datname = current_database()`);
        if (asleep.length) return app.query(`update held set note = 'app' where id = 10`);
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('the batch never reached its pg_sleep');
    })();
    const { ctx, error } = await runStep(db.url, { table: 'held', set, batch_size: 200, throttle: { probe_interval: '100ms' } });
    await appUpdate;
    await app.end();
    expect(error).toBeUndefined();
    const throttles = ctx.events.flatMap((e) => (e.type === 'step.throttle' ? [e] : []));
    const blocked = throttles.find((t) => t.reason === 'blocked_sessions');
    expect(blocked?.detail).toMatch(/1 session\(s\) waited/);
    expect(throttles.at(-1)!.reason).toBeNull();
    expect(await counterHistogram(db, 'held')).toEqual({ '1': 1000 });
  });
});
