// A DDL statement does not queue the application behind an autovacuum of its table: a real, slowed
// autovacuum worker holds SHARE UPDATE EXCLUSIVE on the table, and the executor cancels it before the
// statement asks for its lock. deadlock_timeout is 20 s on this server, so without the cancel the
// statement would wait past its 3 s lock_timeout (PostgreSQL cancels autovacuum only after deadlock_timeout).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventBody } from '../../src/engine/events.js';
import { EmbeddedServer } from '../../src/pg/embedded-server.js';
import { recordingExecutor } from '../support/executor.js';
import { majors, testPool, withDatabase } from '../support/pg.js';

const RUN = { lockTimeoutMs: 3_000, statementTimeoutMs: 0, retries: 0 };

/**
 * A table whose autovacuum crawls (every page costs more than the cost limit, so the worker sleeps 100 ms a page),
 * started by an UPDATE only (not by the inserts here). Drop it through the executor when done, so its worker goes.
 */
async function crawlingTable(db: pg.Pool | pg.Client, table: string): Promise<void> {
  await db.query(`create table ${table} (id int primary key, v int) with (autovacuum_vacuum_threshold = 0,
    autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_insert_threshold = -1, autovacuum_analyze_threshold = 1000000000,
    autovacuum_vacuum_cost_delay = 100)`);
  await db.query(`insert into ${table} select g, 0 from generate_series(1, 200000) g`);
}

/** The pid of the autovacuum worker on `table` in the database `db` is connected to, once one runs (up to 60 s). */
async function workerOn(db: pg.Pool | pg.Client, table: string): Promise<number> {
  for (let i = 0; i < 300; i++) {
    const r = await db.query<{ pid: number }>(
      `select a.pid from pg_locks l join pg_stat_activity a using (pid)
        where a.backend_type = 'autovacuum worker' and l.relation = $1::regclass and l.granted
          and l.database = (select oid from pg_database where datname = current_database())`,
      [table],
    );
    if (r.rows[0]) return r.rows[0].pid;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`no autovacuum worker on ${table} within 60 s`);
}

const logs = (events: EventBody[]) => events.filter((e) => e.type === 'step.log') as Extract<EventBody, { type: 'step.log' }>[];

describe('autovacuum on the table a DDL statement locks', () => {
  let server: EmbeddedServer;
  let pool: pg.Pool;
  beforeAll(async () => {
    server = await EmbeddedServer.start({
      major: majors()[0],
      settings: { autovacuum_naptime: '1', deadlock_timeout: '20s', autovacuum_vacuum_cost_limit: '1', autovacuum_max_workers: 6 },
    });
    pool = testPool(server.url, 4, 'pgrunbook:test-autovacuum');
  }, 120_000);
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('is cancelled before the ALTER, which then gets its lock without a retry, and the log says so', async () => {
    await crawlingTable(pool, 'crawled');
    await pool.query('update crawled set v = 1');
    const worker = await workerOn(pool, 'crawled');

    const events: EventBody[] = [];
    await recordingExecutor(pool, events).run('-- widen it\nalter table crawled add column note text', { stepId: 'add_note', ...RUN });

    expect(logs(events), JSON.stringify(events)).toContainEqual(
      expect.objectContaining({
        stepId: 'add_note',
        level: 'info',
        message: expect.stringMatching(
          new RegExp(`^cancelled an autovacuum of crawled \\(pid ${worker}\\) before ALTER TABLE: waiting behind it would queue`),
        ),
      }),
    );
    expect(events.filter((e) => e.type === 'step.retry')).toEqual([]);
    const cols = await pool.query(`select 1 from information_schema.columns where table_name = 'crawled' and column_name = 'note'`);
    expect(cols.rowCount).toBe(1);
    await recordingExecutor(pool, []).run('drop table crawled', { stepId: 'x', ...RUN });
  }, 120_000);

  it("is cancelled before a step kind's own DDL too (sent as written, with transactional set), and the statement waits for no lock", async () => {
    await crawlingTable(pool, 'stepped');
    await pool.query('update stepped set v = 1');
    const worker = await workerOn(pool, 'stepped');
    const events: EventBody[] = [];
    // As not_null's first statement runs (runDdl): schema-qualified, quoted, transactional given.
    await recordingExecutor(pool, events).run(
      'ALTER TABLE "public"."stepped" ADD CONSTRAINT stepped_v_not_null CHECK ("v" IS NOT NULL) NOT VALID',
      { stepId: 'not_null', ...RUN, transactional: true },
    );
    expect(logs(events).map((l) => l.message)).toContainEqual(
      expect.stringMatching(new RegExp(`^cancelled an autovacuum of stepped \\(pid ${worker}\\) before ALTER TABLE: [^(]*$`)),
    );
    // The worker had let go before the ALTER was sent: no wait behind it, no retry.
    expect(events.filter((e) => e.type === 'step.lock_wait' || e.type === 'step.retry')).toEqual([]);
    await recordingExecutor(pool, []).run('drop table stepped', { stepId: 'x', ...RUN });
  }, 120_000);

  it('is cancelled before a LOCK TABLE too (swap_table takes its locks that way)', async () => {
    await crawlingTable(pool, 'locked');
    await pool.query('update locked set v = 1');
    const worker = await workerOn(pool, 'locked');
    const events: EventBody[] = [];
    await recordingExecutor(pool, events).run('begin; lock table locked in access exclusive mode; commit', { stepId: 'lock', ...RUN });
    expect(logs(events).map((l) => l.message)).toContainEqual(
      expect.stringMatching(new RegExp(`^cancelled an autovacuum of locked \\(pid ${worker}\\) before LOCK TABLE`)),
    );
    expect(events.filter((e) => e.type === 'step.retry')).toEqual([]);
    await recordingExecutor(pool, []).run('drop table locked', { stepId: 'x', ...RUN });
  }, 120_000);

  it('leaves an autovacuum of the same table oid in another database alone', async () => {
    // Two databases from one template: the same table has the same oid in both.
    await pool.query('create database av_tpl');
    const tpl = new pg.Client({ connectionString: withDatabase(server.url, 'av_tpl') });
    await tpl.connect();
    await crawlingTable(tpl, 'twin');
    await tpl.end();
    await pool.query('create database av_a template av_tpl');
    await pool.query('create database av_b template av_tpl');
    const a = new pg.Pool({ connectionString: withDatabase(server.url, 'av_a'), max: 3 });
    const b = new pg.Client({ connectionString: withDatabase(server.url, 'av_b') });
    await b.connect();
    try {
      await b.query('update twin set v = 1');
      const other = await workerOn(b, 'twin');
      const events: EventBody[] = [];
      await recordingExecutor(a, events).run('alter table twin add column note text', { stepId: 'a', ...RUN });
      expect(logs(events)).toEqual([]);
      // The other database's worker goes on.
      expect(await workerOn(b, 'twin')).toBe(other);
      await recordingExecutor(a, []).run('drop table twin', { stepId: 'x', ...RUN });
    } finally {
      await a.end();
      await b.end();
    }
  }, 120_000);

  it('warns instead of cancelling when the role sees the worker (pg_read_all_stats) but may not signal it', async () => {
    await crawlingTable(pool, 'owned');
    await pool.query(
      'create role av_owner; alter table owned owner to av_owner; grant usage on schema public to av_owner; grant pg_read_all_stats to av_owner',
    );
    await pool.query('update owned set v = 1');
    const worker = await workerOn(pool, 'owned');
    const url = new URL(server.url);
    url.searchParams.set('options', '-c role=av_owner');
    const asOwner = new pg.Pool({ connectionString: url.toString(), max: 3 });
    try {
      const events: EventBody[] = [];
      // The statement then waits behind the worker until lock_timeout: the warning said it would.
      await recordingExecutor(asOwner, events)
        .run('alter table owned add column note text', { stepId: 'o', ...RUN })
        .catch(() => {});
      expect(logs(events)).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          message: expect.stringMatching(
            new RegExp(`^an autovacuum of owned \\(pid ${worker}\\) is running and this role may not cancel it`),
          ),
        }),
      );
    } finally {
      await asOwner.end();
    }
  }, 120_000);

  it('leaves the table alone when no autovacuum runs on it: no log line', async () => {
    await pool.query('create table quiet (id int primary key)');
    const events: EventBody[] = [];
    await recordingExecutor(pool, events).run('alter table quiet add column note text', { stepId: 'q', ...RUN });
    expect(logs(events)).toEqual([]);
  });
});
