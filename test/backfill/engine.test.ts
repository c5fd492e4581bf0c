// The batch engine against real PostgreSQL (oldest and newest requested majors): key shapes,
// `where`, the catch-up pass, abort + resume, live control and dropped connections. Every test
// uses a non-idempotent `set` (counter = counter + 1), so "exactly once" is checked directly.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { readCursor } from '../../src/backfill/cursor-store.js';
import { counterHistogram, createStateSchema, progressEvents, runStep } from './helpers.js';

describe.each(edgeMajors())('backfill engine on PostgreSQL %i', (major) => {
  const db = useTestDatabase(major);

  it('updates every row of a bigint-keyed table exactly once, in tuned batches, with progress', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table big (id bigint primary key, counter int not null default 0, note text)`);
    await db.query(`insert into big (id) select g * 3 from generate_series(1, 20000) g`);
    await db.query('analyze big');
    const { ctx, result, error } = await runStep(db.url, { table: 'big', set: 'counter = counter + 1', target_batch_time: '20ms' });
    expect(error).toBeUndefined();
    expect(result.rowsDone).toBe(20000);
    expect(await counterHistogram(db, 'big')).toEqual({ '1': 20000 });
    const progress = progressEvents(ctx.events);
    expect(progress.length).toBeGreaterThan(0);
    const last = progress.at(-1)!;
    expect(last.rowsDone).toBe(20000);
    expect(last.rowsTotal).toBe(20000); // reltuples after ANALYZE
    expect(last.etaSeconds).toBe(0);
    // The tuner moved away from the initial 1000 rows.
    expect(progress.some((p) => p.batchSize !== 1000)).toBe(true);
    const cur = await readCursor(db.pool, ctx.runId, 'fill');
    expect(cur?.pass).toBe('done');
    expect(cur?.rowsDone).toBe(20000);
  });

  it('handles uuid keys', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table u (id uuid primary key default gen_random_uuid(), counter int not null default 0)`);
    await db.query(`insert into u select from generate_series(1, 5000)`);
    const { result, error } = await runStep(db.url, { table: 'u', set: 'counter = counter + 1', batch_size: 700 });
    expect(error).toBeUndefined();
    expect(result.rowsDone).toBe(5000);
    expect(await counterHistogram(db, 'u')).toEqual({ '1': 5000 });
  });

  it('handles composite keys of mixed types, including awkward text values', async () => {
    await createStateSchema(db.pool);
    await db.query(`create schema app`);
    await db.query(
      `create table app."Odd Table" (tenant int, made timestamptz, code text, counter int not null default 0, primary key (tenant, made, code))`,
    );
    await db.query(
      `insert into app."Odd Table" (tenant, made, code)
       select t, timestamptz '2024-01-01 00:00:00+00' + (d || ' hours')::interval, c
         from generate_series(1, 4) t, generate_series(1, 30) d,
              unnest(array['a', 'b,c', '{x}', 'quote''s', 'back\\slash', 'sp ace', 'ü', '"dq"']) c`,
    );
    const { result, error } = await runStep(db.url, { table: 'app."Odd Table"', set: 'counter = counter + 1', batch_size: 37 });
    expect(error).toBeUndefined();
    expect(result.rowsDone).toBe(4 * 30 * 8);
    expect(await counterHistogram(db, 'app."Odd Table"')).toEqual({ '1': 960 });
  });

  it('updates only rows matching `where`', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table w (id bigint primary key, counter int not null default 0, amount numeric, amount_cents bigint)`);
    await db.query(`insert into w select g, 0, g / 10.0, case when g % 4 = 0 then -1 end from generate_series(1, 8000) g`);
    const { result, error } = await runStep(db.url, {
      table: 'w',
      set: 'amount_cents = (amount * 100)::bigint, counter = counter + 1',
      where: 'amount_cents IS NULL',
      batch_size: 1000,
    });
    expect(error).toBeUndefined();
    expect(result.rowsDone).toBe(6000);
    const rows = await db.query(`select count(*) filter (where counter = 1 and amount_cents = (amount * 100)::bigint)::int as done,
                                        count(*) filter (where counter = 0 and amount_cents = -1)::int as untouched,
                                        count(*) filter (where counter > 1)::int as twice from w`);
    expect(rows[0]).toEqual({ done: 6000, untouched: 2000, twice: 0 });
  });

  it('covers rows added meanwhile: ahead of the cursor in the main pass, above the bound in a catch-up pass', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table grow (id bigint primary key, counter int not null default 0)`);
    await db.query(`insert into grow select g * 2 from generate_series(1, 5000) g`); // even keys 2..10000
    let paused = false;
    const { ctx, result, error } = await runStep(
      db.url,
      { table: 'grow', set: 'counter = counter + 1', batch_size: 500 },
      {
        onEvent: (e, c) => {
          // The first batch's progress event is never rate-limited away: pause right after it.
          if (!paused && e.type === 'step.progress' && e.progress.kind === 'backfill' && e.progress.rowsDone > 0) {
            paused = true;
            c.control.setPaused(true);
            // While paused: odd keys all over the range (those ahead of the cursor belong to the main
            // pass) and keys above the bound (the catch-up pass).
            void (async () => {
              await db.query(`insert into grow select g * 2 + 1 from generate_series(1, 5000) g`);
              await db.query(`insert into grow select g from generate_series(10002, 10500) g`);
              c.control.setPaused(false);
            })();
          }
        },
      },
    );
    expect(error).toBeUndefined();
    const hist = await counterHistogram(db, 'grow');
    // Odd keys behind the cursor when they arrived are not visited (the application writes new rows);
    // every other row is updated exactly once.
    expect(hist['2']).toBeUndefined();
    const behind = hist['0'] ?? 0;
    expect(behind).toBeGreaterThan(0);
    expect(behind).toBeLessThan(5000);
    expect(result.rowsDone).toBe(hist['1']);
    const caught = await db.query(`select count(*)::int as n from grow where id > 10000 and counter = 1`);
    expect(caught[0].n).toBe(500);
    expect(ctx.events.some((e) => e.type === 'step.log' && /catch-up pass 1/.test(e.message))).toBe(true);
    expect(progressEvents(ctx.events).some((p) => p.paused)).toBe(true);
    expect(progressEvents(ctx.events).some((p) => p.pass === 'catch-up')).toBe(true);
  });

  it('stops at a batch boundary on abort and resumes from the cursor, also inside the catch-up pass', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table res (id bigint primary key, counter int not null default 0)`);
    await db.query(`insert into res select g from generate_series(1, 6000) g`);
    const runId = 'resume-run';
    let aborted = false;
    const first = await runStep(
      db.url,
      { table: 'res', set: 'counter = counter + 1', batch_size: 400 },
      {
        runId,
        onEvent: (e, c) => {
          if (!aborted && e.type === 'step.progress' && e.progress.kind === 'backfill' && e.progress.rowsDone > 0) {
            aborted = true;
            c.abort.abort();
          }
        },
      },
    );
    expect(first.error?.constructor?.name).toBe('AbortedError');
    const mid = await readCursor(db.pool, runId, 'fill');
    expect(mid?.pass).toBe('main');
    const hist = await counterHistogram(db, 'res');
    expect(hist['1']).toBe(mid!.rowsDone);
    expect(hist['2']).toBeUndefined();
    const reconcile = await (await import('../../src/steps/backfill.js')).backfill.reconcile!(
      { id: 'fill' } as any,
      { pool: db.pool, runId } as any,
    );
    expect(reconcile.found).toBe('not-done');
    expect(reconcile.detail).toMatch(/main pass, cursor at \(\d+\)/);

    // Rows above the bound, then a second attempt that is aborted during the catch-up pass.
    await db.query(`insert into res select g from generate_series(6001, 12000) g`);
    let abortedAgain = false;
    const second = await runStep(
      db.url,
      // The pause spaces batches out so a (rate-limited) progress event lands mid catch-up.
      { table: 'res', set: 'counter = counter + 1', batch_size: 400, pause: '40ms' },
      {
        runId,
        onEvent: (e, c) => {
          if (
            !abortedAgain &&
            e.type === 'step.progress' &&
            e.progress.kind === 'backfill' &&
            e.progress.pass === 'catch-up' &&
            e.progress.rowsDone >= 7000
          ) {
            abortedAgain = true;
            c.abort.abort();
          }
        },
      },
    );
    expect(second.error?.constructor?.name).toBe('AbortedError');
    expect((await readCursor(db.pool, runId, 'fill'))?.pass).toBe('catch-up');
    const third = await runStep(db.url, { table: 'res', set: 'counter = counter + 1', batch_size: 400 }, { runId });
    expect(third.error).toBeUndefined();
    expect(third.result.resumed).toBe(true);
    expect(third.result.rowsDone).toBe(12000);
    expect(await counterHistogram(db, 'res')).toEqual({ '1': 12000 });
    // Applying a finished backfill again changes nothing.
    const again = await runStep(db.url, { table: 'res', set: 'counter = counter + 1', batch_size: 400 }, { runId });
    expect(again.result.rowsDone).toBe(12000);
    expect(await counterHistogram(db, 'res')).toEqual({ '1': 12000 });
  });

  it('follows live control: batch size and pause overrides between batches', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table ctl (id bigint primary key, counter int not null default 0)`);
    await db.query(`insert into ctl select g from generate_series(1, 3000) g`);
    const { ctx, error } = await runStep(
      db.url,
      { table: 'ctl', set: 'counter = counter + 1' },
      {
        before: (c) => {
          c.control.setBatchSize(250);
          c.control.setPauseMs(30);
        },
      },
    );
    expect(error).toBeUndefined();
    const progress = progressEvents(ctx.events);
    expect(progress.every((p) => p.batchSize === 250 && p.pauseMs === 30)).toBe(true);
    expect(progress.at(-1)!.batches).toBeGreaterThanOrEqual(12);
    expect(await counterHistogram(db, 'ctl')).toEqual({ '1': 3000 });
    // Each change is acknowledged once in the step's log, with the value it replaces.
    const logs = ctx.events.flatMap((e) => (e.type === 'step.log' ? [e.message] : []));
    expect(logs.filter((m) => /^batch size [\d,]+ → 250 rows \(set by the operator\)/.test(m))).toHaveLength(1);
    expect(logs.filter((m) => m.startsWith('pause between batches 0ms → 30ms (set by the operator)'))).toHaveLength(1);
  });

  it('logs a batch-size change made mid-run, and a pause and resume, when they take effect', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table ack (id bigint primary key, counter int not null default 0)`);
    await db.query(`insert into ack select g from generate_series(1, 4000) g`);
    let changed = false;
    const { ctx, error } = await runStep(
      db.url,
      { table: 'ack', set: 'counter = counter + 1', batch_size: 500 },
      {
        onEvent: (e, c) => {
          if (!changed && e.type === 'step.progress' && e.progress.kind === 'backfill' && e.progress.rowsDone > 0) {
            changed = true;
            c.control.setBatchSize(300);
            c.control.setPaused(true);
            setTimeout(() => c.control.setPaused(false), 50);
          }
        },
      },
    );
    expect(error).toBeUndefined();
    const logs = ctx.events.flatMap((e) => (e.type === 'step.log' ? [e.message] : []));
    expect(logs).toContain('batch size 500 → 300 rows (set by the operator), from the next batch');
    expect(logs.some((m) => /paused between batches at 500 rows done \(p resumes\)$/.test(m))).toBe(true);
    expect(logs.some((m) => m.endsWith(' resumed'))).toBe(true);
    expect(await counterHistogram(db, 'ack')).toEqual({ '1': 4000 });
  });

  it('survives its connection being terminated mid-run without losing or repeating a batch', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table drop_conn (id bigint primary key, counter int not null default 0)`);
    await db.query(`insert into drop_conn select g from generate_series(1, 20000) g`);
    const admin = new pg.Client(db.url);
    await admin.connect();
    let kills = 0;
    const { ctx, result, error } = await runStep(
      db.url,
      { table: 'drop_conn', set: 'counter = counter + 1', batch_size: 200, pause: '20ms' },
      {
        onEvent: (e) => {
          if (kills < 3 && e.type === 'step.progress' && e.progress.kind === 'backfill' && e.progress.rowsDone >= (kills + 1) * 4000) {
            kills++;
            void admin.query(
              `select pg_terminate_backend(pid) from pg_stat_activity
                where datname = current_database() and pid <> pg_backend_pid() and application_name = 'pgrunbook:test'`,
            );
          }
        },
      },
    );
    await admin.end();
    expect(error).toBeUndefined();
    expect(kills).toBe(3);
    expect(ctx.events.some((e) => e.type === 'step.retry' && /connection lost/.test(e.reason))).toBe(true);
    expect(result.rowsDone).toBe(20000);
    expect(await counterHistogram(db, 'drop_conn')).toEqual({ '1': 20000 });
  });

  it('finishes at once on an empty table, and stops with a hint when `set` fails on a row', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table empty_t (id bigint primary key, counter int not null default 0)`);
    const empty = await runStep(db.url, { table: 'empty_t', set: 'counter = counter + 1' });
    expect(empty.error).toBeUndefined();
    expect(empty.result.rowsDone).toBe(0);

    await db.query(`create table bad (id bigint primary key, counter int not null default 0, d int not null)`);
    await db.query(`insert into bad select g, 0, case when g = 1500 then 0 else 1 end from generate_series(1, 3000) g`);
    const failed = await runStep(db.url, { table: 'bad', set: 'counter = counter + 1 / d', batch_size: 500 });
    expect(failed.error?.message).toMatch(/division by zero/);
    expect(failed.error?.hint).toMatch(/resume/);
    // The batches before the failing one are committed, exactly once.
    expect(await counterHistogram(db, 'bad')).toEqual({ '0': 2000, '1': 1000 });
  });
});
