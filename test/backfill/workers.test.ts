// Two workers on disjoint key ranges against real PostgreSQL (oldest and newest requested majors):
// the split at a real key, both ranges exactly once for every key shape the engine supports, an
// abort with both ranges half done and its resume, and `auto` adding the second worker on an idle
// table. Every `set` is non-idempotent (counter = counter + 1), so "exactly once" is checked directly.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { readCursor } from '../../src/backfill/cursor-store.js';
import { readRanges } from '../../src/backfill/range-store.js';
import type { RunEvent } from '../../src/engine/events.js';
import type { HostSignals } from '../../src/engine/ports.js';
import { counterHistogram, createStateSchema, progressEvents, runStep } from './helpers.js';
import type { BackfillParams } from '../../src/backfill/params.js';
import { backfill } from '../../src/steps/backfill.js';
import { makeStep, makeTestStepContext } from '../support/step-context.js';

const logs = (events: RunEvent[]) => events.flatMap((e) => (e.type === 'step.log' ? [e.message] : []));

/** The split key from the engine's log line `main pass cut at key (..)`. */
function splitLine(events: RunEvent[]): string {
  const line = logs(events).find((m) => m.startsWith('main pass cut at key'));
  expect(line).toBeDefined();
  return line!;
}

/** A host endpoint whose CPU figures the test sets (a 1 s window, no disk or memory figures). */
const scriptedHost = (source: string, cpu: () => { busyPct: number; cpus: number }): HostSignals => ({
  source,
  read: async () => {
    const { busyPct, cpus } = cpu();
    const figures = { seconds: 1, cpuBusyPct: busyPct, cpus, ioWaitPct: 0, diskQueueDepth: null, diskAwaitMs: null };
    return { ok: true, figures: { ...figures, memAvailableBytes: null, memTotalBytes: null } };
  },
});

/** An onEvent that stops the step once the second worker has committed batches (or, failing that, before the end, to show why). */
function abortOnceSecondRuns(): (e: RunEvent, c: { abort: AbortController }) => void {
  let done = false;
  return (e, c) => {
    const p = e.type === 'step.progress' && e.progress.kind === 'backfill' ? e.progress : undefined;
    if (!done && p && ((p.workers?.running === 2 && p.workers.batches[1]! >= 2) || p.rowsDone > 250_000)) {
      done = true;
      c.abort.abort();
    }
  };
}

/** The split's block sample, in percent of the table's pages, from its log line. */
const samplePct = (events: RunEvent[]) => Number(/ in a ([\d.]+)% block sample/.exec(splitLine(events))![1]);

/** The key in a split line. */
const splitKey = (line: string) => Number(/cut at key \((\d+)\)/.exec(line)![1]);

describe.each(edgeMajors())('two backfill workers on PostgreSQL %i', (major) => {
  const db = useTestDatabase(major);

  /** `table` with 40,000 rows keyed 7, 14, .. 280,000 and a counter (the state schema made too). */
  async function sevenths(table: string): Promise<void> {
    await createStateSchema(db.pool);
    await db.query(`create table ${table} (id bigint primary key, counter int not null default 0)`);
    await db.query(`insert into ${table} select g * 7 from generate_series(1, 40000) g`);
    await db.query(`analyze ${table}`);
  }

  /** The step finished and updated each of the table's `rows` rows exactly once. */
  async function expectEachRowOnce(table: string, rows: number, run: { result?: { rowsDone: number }; error?: unknown }): Promise<void> {
    expect(run.error).toBeUndefined();
    expect(run.result?.rowsDone).toBe(rows);
    expect(await counterHistogram(db, table)).toEqual({ '1': rows });
  }

  /** The step with both workers from the start, in batches of 500 (throttle off: see below). */
  const twoWorkers = (table: string, extra: Partial<BackfillParams> = {}) =>
    runStep(db.url, { table, set: 'counter = counter + 1', batch_size: 500, workers: 2, throttle: false, ...extra });
  // The cases that need both workers to run turn the throttle off: on a loaded machine a rule (slow
  // batches, low throughput) parks the second worker and the first walks its range instead, which is
  // right but not what these cases are about; parking has its own case below.

  it('workers: 2 cuts the main pass at a sampled key; both ranges run and every row is updated exactly once', async () => {
    await sevenths('w2');
    const { ctx, result, error } = await twoWorkers('w2');
    expect(error).toBeUndefined();
    expect(result.rowsDone).toBe(40000);
    expect(await counterHistogram(db, 'w2')).toEqual({ '1': 40000 });
    const split = splitKey(splitLine(ctx.events));
    // A real key of the table, strictly inside the range: both workers had keys to walk.
    expect(split % 7).toBe(0);
    expect(split).toBeGreaterThan(7);
    expect(split).toBeLessThan(280000);
    const withWorkers = progressEvents(ctx.events).filter((p) => p.workers);
    // Progress is sampled (a few events a second), so only its last figures are certain.
    expect(withWorkers.length).toBeGreaterThan(0);
    const finished = logs(ctx.events).find((m) => m.startsWith('second worker finished its key range'));
    expect(Number(/ rows done in (\d+) batches$/.exec(finished ?? '')?.[1])).toBeGreaterThan(0);
    // The range was folded back into the step's cursor: one row with every batch counted.
    expect(await readRanges(db.pool, ctx.runId, 'fill')).toEqual([]);
    const cur = await readCursor(db.pool, ctx.runId, 'fill');
    expect(cur?.pass).toBe('done');
    expect(cur?.rowsDone).toBe(40000);
    expect(cur?.batches).toBeGreaterThanOrEqual(80);
  });

  it('with where:, cuts at the median of the rows to write, not of the keys to walk past', async () => {
    await sevenths('w_where');
    // Only the top quarter of the keys (above 210,000) is to be written; the where: names the table.
    const { ctx, result, error } = await twoWorkers('w_where', { where: 'w_where.id > 210000' });
    expect(error).toBeUndefined();
    expect(result.rowsDone).toBe(10000);
    expect(await counterHistogram(db, 'w_where')).toEqual({ '0': 30000, '1': 10000 });
    const line = splitLine(ctx.events);
    expect(line).toMatch(/the median of \d+ keys matching where: in a /);
    // The keys' median (all 40,000) would be near 140,000, leaving the second worker all the writes.
    const split = splitKey(line);
    // Near the middle of the rows to write (245,000): the sample reads 100 pages of the range or more.
    expect(split).toBeGreaterThan(230000);
    expect(split).toBeLessThan(260000);
  });

  it('splits a partitioned table with a partial block sample (the parent has no pages of its own)', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table w_parts (id bigint primary key, counter int not null default 0) partition by range (id)`);
    await db.query(`create table w_parts_1 partition of w_parts for values from (0) to (20001)`);
    await db.query(`create table w_parts_2 partition of w_parts for values from (20001) to (40001)`);
    await db.query(`insert into w_parts (id) select g from generate_series(1, 40000) g`);
    await db.query('analyze w_parts');
    const { ctx, result, error } = await twoWorkers('w_parts');
    await expectEachRowOnce('w_parts', 40000, { result, error });
    // 40,000 rows at ~50 a page stand in for the parent's pages: 100 of them is an eighth, not the whole table.
    const pct = samplePct(ctx.events);
    expect(pct).toBeGreaterThan(5);
    expect(pct).toBeLessThan(30);
  });

  it('sizes the split of a column an earlier step just added by the rows that match, not the planner guess', async () => {
    // The add-column runbook's shape: the table has statistics, the new column none, and the
    // planner's default share for `IS NULL` on it (0.5%) once sized the sample at 100% of the pages.
    await createStateSchema(db.pool);
    await db.query('create table w_added (id bigint primary key, counter int not null default 0)');
    await db.query('insert into w_added (id) select g from generate_series(1, 200000) g');
    await db.query('analyze w_added');
    await db.query('alter table w_added add column filled int');
    const { ctx, result, error } = await twoWorkers('w_added', {
      set: 'filled = 1, counter = counter + 1',
      where: 'filled IS NULL',
      batch_size: 2000,
    });
    await expectEachRowOnce('w_added', 200000, { result, error });
    // ~1,000 pages: 100 of them (the precision floor) is about a tenth; every row matches, so
    // 2,000 keys need 1% of them.
    const pct = samplePct(ctx.events);
    expect(pct).toBeGreaterThan(3);
    expect(pct).toBeLessThan(25);
  });

  it('workers: 2 with no keys to share says only that the second worker did not start, once', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table w_few (id bigint primary key, counter int not null default 0)`);
    // Three keys: two lie below the pass bound (3), and the split needs three to cut at a median.
    await db.query(`insert into w_few values (1), (2), (3)`);
    await db.query('analyze w_few');
    const { ctx, result, error } = await twoWorkers('w_few', { batch_size: 1 });
    expect(error).toBeUndefined();
    expect(result.rowsDone).toBe(3);
    expect(await counterHistogram(db, 'w_few')).toEqual({ '1': 3 });
    const second = logs(ctx.events).filter((m) => m.startsWith('second worker'));
    expect(second, JSON.stringify(logs(ctx.events))).toHaveLength(1);
    expect(second[0]).toBe('second worker not started: a 100% block sample found 2 keys left to cut at');
  });

  it('splits composite, uuid and text keys at a key of the table, each row exactly once', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table ck (tenant int, code text, counter int not null default 0, primary key (tenant, code))`);
    await db.query(
      `insert into ck (tenant, code) select t, c || '-' || d from generate_series(1, 6) t, generate_series(1, 500) d,
         unnest(array['a', 'b,c', 'quote''s', 'ü']) c`,
    );
    await db.query(`create table uk (id uuid primary key default gen_random_uuid(), counter int not null default 0)`);
    await db.query(`insert into uk select from generate_series(1, 12000)`);
    await db.query(`create table tk (id text primary key, counter int not null default 0)`);
    await db.query(`insert into tk select 'k ' || md5(g::text) from generate_series(1, 12000) g`);
    await db.query('analyze ck; analyze uk; analyze tk');
    const cases = [
      { table: 'ck', rows: 12000, exists: (k: string[]) => db.query(`select 1 from ck where (tenant, code) = ($1::int, $2)`, k) },
      { table: 'uk', rows: 12000, exists: (k: string[]) => db.query(`select 1 from uk where id = $1::uuid`, k) },
      { table: 'tk', rows: 12000, exists: (k: string[]) => db.query(`select 1 from tk where id = $1`, k) },
    ];
    for (const c of cases) {
      let split: string[] | undefined;
      const { result, error } = await runStep(
        db.url,
        // The pause keeps the range row (read below) alive well past the split on any machine.
        { table: c.table, set: 'counter = counter + 1', batch_size: 300, pause: '10ms', workers: 2, throttle: false },
        {
          onEvent: (e, ctx) => {
            // Read the range row while it exists: its lower bound is the split key, as text.
            if (!split && e.type === 'step.log' && e.message.startsWith('main pass cut at key'))
              void readRanges(db.pool, ctx.runId, 'fill').then((r) => (split ??= r[0]?.lowerBound));
          },
        },
      );
      expect(error).toBeUndefined();
      expect(result.rowsDone).toBe(c.rows);
      expect(await counterHistogram(db, c.table)).toEqual({ '1': c.rows });
      await expect.poll(() => split).toBeDefined();
      expect(await c.exists(split!)).toHaveLength(1);
    }
  });

  it('resumes a run stopped with both ranges half done, with one worker, exactly once', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table half (id bigint primary key, counter int not null default 0)`);
    await db.query(`insert into half select g from generate_series(1, 30000) g`);
    await db.query('analyze half');
    const runId = 'half-run';
    let stopped = false;
    const first = await runStep(
      db.url,
      // 25 ms between batches: each range takes 75 x 25 ms at least, so on a loaded machine the first
      // worker cannot finish its range before the second has done 3 batches (with 5 ms, in CI it did).
      { table: 'half', set: 'counter = counter + 1', batch_size: 200, pause: '25ms', workers: 2, throttle: false },
      {
        runId,
        onEvent: (e, ctx) => {
          const w = e.type === 'step.progress' && e.progress.kind === 'backfill' ? e.progress.workers : undefined;
          if (!stopped && w && w.batches[0]! >= 3 && w.batches[1]! >= 3) {
            stopped = true;
            ctx.abort.abort();
          }
        },
      },
    );
    expect(first.error?.constructor?.name).toBe('AbortedError');
    const cur = (await readCursor(db.pool, runId, 'fill'))!;
    const [range] = await readRanges(db.pool, runId, 'fill');
    expect(cur.pass).toBe('main');
    expect(range).toBeDefined();
    // Both half done: each cursor moved, neither reached its bound.
    expect(cur.cursor).not.toBeNull();
    expect(cur.cursor).not.toEqual(cur.upperBound);
    expect(cur.upperBound).toEqual(range!.lowerBound);
    expect(range!.cursor).not.toEqual(range!.lowerBound);
    expect(range!.cursor).not.toEqual(range!.upperBound);
    const hist = await counterHistogram(db, 'half');
    expect(hist['1']).toBe(cur.rowsDone + range!.rowsDone);
    expect(hist['2']).toBeUndefined();
    // What the gate and the resume reconcile say names both ranges, with their rows.
    const params = { table: 'half', set: 'counter = counter + 1', batch_size: 200, workers: 1 };
    const step = makeStep('backfill', params, { id: 'fill' });
    const ctx = await makeTestStepContext({ url: db.url, step, runId });
    try {
      const saved = (await backfill.verify!(step, ctx)).find((e) => e.label === 'saved cursor');
      const both = new RegExp(
        `^backfill of public\\.half: main pass, cursor at \\(\\d+\\) of \\(${range!.lowerBound[0]}\\), ${cur.rowsDone} rows done .*; second key range: keys above \\(${range!.lowerBound[0]}\\) up to \\(30000\\), cursor at \\(\\d+\\), ${range!.rowsDone} rows done in \\d+ batches$`,
      );
      expect(saved?.detail).toMatch(both);
      expect((await backfill.reconcile!(step, ctx)).detail).toMatch(/; second key range: keys above .*; apply resumes from it$/);
    } finally {
      await ctx.close();
    }

    const second = await runStep(db.url, params, { runId });
    expect(second.error).toBeUndefined();
    expect(second.result.resumed).toBe(true);
    expect(second.result.rowsDone).toBe(30000);
    expect(logs(second.ctx.events).some((m) => m.startsWith('resuming the second key range: keys above'))).toBe(true);
    expect(await counterHistogram(db, 'half')).toEqual({ '1': 30000 });
    expect(await readRanges(db.pool, runId, 'fill')).toEqual([]);
  });

  it('a throttle rule parks the second worker until it clears: no batch of its range meanwhile', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table park (id bigint primary key, counter int not null default 0)`);
    await db.query(`insert into park select g from generate_series(1, 40000) g`);
    await db.query('analyze park');
    // The host's CPU as the test sets it: busy past the 85% limit from the moment the second worker runs.
    let busy = false;
    const host = scriptedHost('the test', () => ({ busyPct: busy ? 95 : 10, cpus: 8 }));
    let flipped = false;
    const whileParked: (number | undefined)[] = [];
    let sampling: Promise<void> | undefined;
    const { ctx, result, error } = await runStep(
      db.url,
      {
        table: 'park',
        set: 'counter = counter + 1',
        // At least 20 ms a batch: the first worker's own range outlasts the parked time on any machine
        // (were it done, it would walk the second range itself).
        batch_size: 100,
        pause: '20ms',
        workers: 2,
        min_throughput: 0,
        throttle: {
          wal_rate: 0,
          checkpoint_pressure: false,
          batch_time_factor: 1000,
          app_latency: 0,
          host_cpu: '85%',
          probe_interval: '100ms',
        },
      },
      {
        before: (c) => (c.host = host),
        onEvent: (e, c) => {
          const w = e.type === 'step.progress' && e.progress.kind === 'backfill' ? e.progress.workers : undefined;
          if (!flipped && w?.running === 2 && w.batches[1]! >= 2) {
            flipped = true;
            busy = true;
          }
          if (!sampling && e.type === 'step.log' && e.message.startsWith('second worker parked')) {
            // Two reads of the second range's batches while parked (after a batch in flight committed).
            const batches = async () => (await readRanges(db.pool, c.runId, 'fill'))[0]?.batches;
            sampling = (async () => {
              await new Promise((r) => setTimeout(r, 300));
              whileParked.push(await batches());
              await new Promise((r) => setTimeout(r, 1000));
              whileParked.push(await batches());
              busy = false;
            })();
          }
        },
      },
    );
    await sampling;
    expect(error).toBeUndefined();
    expect(result.rowsDone).toBe(40000);
    expect(await counterHistogram(db, 'park')).toEqual({ '1': 40000 });
    const messages = logs(ctx.events);
    expect(messages).toContain('second worker parked: throttle host_cpu active; it comes back when that clears');
    expect(messages).toContain('second worker back: no throttle rule active (wal_rate aside: it paces both workers)');
    expect(whileParked[0]).toBeGreaterThanOrEqual(2);
    expect(whileParked[1]).toBe(whileParked[0]);
    expect(ctx.events.some((e) => e.type === 'step.throttle' && e.reason === 'host_cpu')).toBe(true);
  }, 120_000);

  it('wal_rate paces both workers instead of parking the second: the pair stays near the limit', async () => {
    await createStateSchema(db.pool);
    // About 600 bytes of WAL per updated row (the 500-byte pad is written again with every version).
    await db.query(
      `create table paced (id bigint primary key, pad text not null default repeat('x', 500), counter int not null default 0)`,
    );
    await db.query(`insert into paced (id) select g from generate_series(1, 40000) g`);
    await db.query('analyze paced');
    // 8 MB/s: two unpaced workers here write about 55 MB/s. Under 2 MB/s the rule sat at its floor (a
    // gap of at most 20x a batch, the batches' own bookkeeping on top), which held the pair at
    // 5.5-6.5 MB/s: the limit was out of its reach, not the pacing wrong.
    const limit = 8 * 1024 ** 2;
    const lsn = async () => (await db.query(`select pg_current_wal_insert_lsn()::text as l`))[0].l as string;
    const from = await lsn();
    const t0 = Date.now();
    const { ctx, result, error } = await runStep(db.url, {
      table: 'paced',
      set: 'counter = counter + 1',
      batch_size: 200,
      workers: 2,
      min_throughput: 0,
      throttle: { wal_rate: '8MB/s', checkpoint_pressure: false, batch_time_factor: 1000, app_latency: 0, probe_interval: '100ms' },
    });
    const seconds = (Date.now() - t0) / 1000;
    console.log(
      ctx.events
        .filter((e) => e.type === 'step.throttle' || e.type === 'step.log')
        .map((e) => `${e.at} ${JSON.stringify(e).slice(0, 200)}`)
        .join('\n'),
    );
    const wal = Number((await db.query(`select pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1) as b`, [from]))[0].b);
    console.log(`WAL ${(wal / 1024 ** 2).toFixed(1)} MB in ${seconds.toFixed(1)} s`);
    expect(error).toBeUndefined();
    expect(result.rowsDone).toBe(40000);
    expect(await counterHistogram(db, 'paced')).toEqual({ '1': 40000 });
    const messages = logs(ctx.events);
    expect(ctx.events.some((e) => e.type === 'step.throttle' && e.reason === 'wal_rate')).toBe(true);
    expect(messages.filter((m) => m.startsWith('second worker parked'))).toEqual([]);
    expect(messages.some((m) => m.startsWith('second worker finished its key range'))).toBe(true);
    // Both workers honour the rule's gap: unpaced, the pair writes several times the limit. The
    // cluster's WAL counts other test files' writes (132 MB in 4.3 s once), which only slow the pair
    // further, so the bound is on the time the pair's own WAL took: each row version carries its
    // 500-byte pad, so at least 40,000 x 500 bytes, at no more than 2x the limit (here: ~3 s against
    // ~0.45 s unpaced).
    const ownAtLeast = 40000 * 500;
    expect(seconds, `${(wal / 1024 ** 2).toFixed(1)} MB of the cluster's WAL in ${seconds.toFixed(1)} s`).toBeGreaterThan(
      ownAtLeast / (2 * limit),
    );
  }, 120_000);

  /**
   * `auto` on `table`: small fixed batches with a pause keep the main pass going past auto's two
   * measuring windows (at least 20 ms a batch of 100 rows: a minute for 300,000, whatever the
   * machine). The rules that watch the machine and the server (batch time, throughput, WAL,
   * checkpoints) are off: other tests load both, and these cases are about the second worker.
   */
  const autoWalk = (table: string): BackfillParams => ({
    table,
    set: 'counter = counter + 1',
    batch_size: 100,
    pause: '20ms',
    min_throughput: 0,
    throttle: { wal_rate: 0, checkpoint_pressure: false, batch_time_factor: 1000, app_latency: 0 },
  });

  /** `table` with 300,000 rows and a counter (the state schema made too): long enough for auto's windows. */
  async function walkTable(table: string): Promise<void> {
    await createStateSchema(db.pool);
    await db.query(`create table ${table} (id bigint primary key, counter int not null default 0)`);
    await db.query(`insert into ${table} select g from generate_series(1, 300000) g`);
    await db.query(`analyze ${table}`);
  }

  /** The application: one session reading `table` every 100 ms, as an app's pool does, until stopped. */
  async function appReading(table: string): Promise<{ stop(): Promise<void> }> {
    const app = new pg.Client({ connectionString: db.url, application_name: 'shop' });
    await app.connect();
    let reading = true;
    const reads = (async () => {
      while (reading) {
        await app.query(`select count(*) from ${table} where id < 100`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    return {
      async stop() {
        reading = false;
        await reads;
        await app.end();
      },
    };
  }

  it('auto keeps to one worker while the application is at work and no host endpoint is given, and says why', async () => {
    await walkTable('busy');
    const app = await appReading('busy');
    try {
      const { ctx, error } = await runStep(
        db.url,
        autoWalk('busy'), // at least 10 s for 50,000 rows: past auto's measuring windows
        {
          onEvent: (e, c) => {
            const p = e.type === 'step.progress' && e.progress.kind === 'backfill' ? e.progress : undefined;
            if (p && p.rowsDone > 50_000) c.abort.abort();
          },
        },
      );
      expect(error?.constructor?.name).toBe('AbortedError');
      const said = logs(ctx.events).filter((m) => m.startsWith('second worker'));
      // The app, and at first the test's own pool, which made the table just before.
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(
        /^second worker not started: [12] other sessions? ran statements in the last probe window and this run has no host endpoint to show a spare core \(pass --node-exporter or --prometheus, or set workers: 2\)$/,
      );
      expect(await readRanges(db.pool, ctx.runId, 'fill')).toEqual([]);
    } finally {
      await app.stop();
    }
  }, 120_000);

  it('auto with host figures reads the host, not the sessions at work: no spare core, no second worker; one spare, it starts', async () => {
    await walkTable('spare');
    // The host as the test sets it: 2 cores 60% busy (a second worker's core would make 110%), then 4 at 20%.
    let full = true;
    const host = scriptedHost('the test host', () => (full ? { busyPct: 60, cpus: 2 } : { busyPct: 20, cpus: 4 }));
    // The application at work all along: without host figures it would hold the second worker back.
    const app = await appReading('spare');
    try {
      const stop = abortOnceSecondRuns();
      const { ctx, error } = await runStep(db.url, autoWalk('spare'), {
        before: (c) => (c.host = host),
        onEvent: (e, c) => {
          if (e.type === 'step.log' && e.message.startsWith('second worker not started')) full = false;
          stop(e, c);
        },
      });
      expect(error?.constructor?.name).toBe('AbortedError');
      const said = logs(ctx.events).filter((m) => m.startsWith('second worker'));
      expect(said[0]).toMatch(
        /^second worker not started: the database host's CPU reached 60% busy on 2 cores in the last [\d.]+s \(the test host, readings over 1 s\); a second worker's core would take it to 110%, over the host_cpu limit of 85%; measured again every 3s$/,
      );
      expect(said[1], said.join('\n')).toMatch(/^second worker started on its own key range: /);
      const [range] = await readRanges(db.pool, ctx.runId, 'fill');
      expect(range!.batches).toBeGreaterThanOrEqual(2);
    } finally {
      await app.stop();
    }
  }, 120_000);

  it('auto adds the second worker on an idle table and says why', async () => {
    await walkTable('idle');
    const { ctx, error } = await runStep(db.url, autoWalk('idle'), { onEvent: abortOnceSecondRuns() });
    expect(error?.constructor?.name).toBe('AbortedError');
    const line = logs(ctx.events).find((m) => m.startsWith('second worker started'));
    expect(line, logs(ctx.events).join('\n')).toMatch(
      /second worker started on its own key range: about \d+ batches left, no throttle rule active \(wal_rate aside: it paces both workers\), nobody waited on our rows; one worker did [\d,]+ rows\/s over the last/,
    );
    // What was done so far was done exactly once, in both ranges.
    const cur = (await readCursor(db.pool, ctx.runId, 'fill'))!;
    const [range] = await readRanges(db.pool, ctx.runId, 'fill');
    expect(range!.batches).toBeGreaterThanOrEqual(2);
    const hist = await counterHistogram(db, 'idle');
    expect(hist['1']).toBe(cur.rowsDone + range!.rowsDone);
    expect(hist['2']).toBeUndefined();
  }, 120_000);
});
