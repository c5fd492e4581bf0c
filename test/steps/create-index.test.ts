import { describe, it, expect, beforeEach } from 'vitest';
import pg from 'pg';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { createIndex } from '../../src/steps/create-index.js';
import { harness, holdLock, eventsOf } from './ddl/helpers.js';

async function waitFor<T>(fn: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A session with an old snapshot: CREATE INDEX CONCURRENTLY waits for it to end. */
async function oldSnapshot(url: string) {
  const c = new pg.Client(url);
  await c.connect();
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  await c.query('SELECT count(*) FROM pg_class');
  await c.query('SELECT txid_current()');
  return {
    end: async () => {
      await c.query('COMMIT');
      await c.end();
    },
  };
}

describe('create_index validate (offline)', () => {
  it('rejects an expression or predicate that smuggles in another statement', async () => {
    const { makeStep } = await import('../support/step-context.js');
    for (const params of [
      { table: 't', expressions: ['(a)); DROP TABLE t; --'] },
      { table: 't', columns: 'a', where: 'a > 0; DROP TABLE t' },
    ]) {
      const step = makeStep('create_index', createIndex.schema.parse(params));
      const problems = await createIndex.validate!(step as any, { runbook: {} as any, step: step as any });
      expect(problems[0]!.message).toMatch(/create_index: .*(not a single|does not parse)/);
    }
  });
});

for (const major of edgeMajors()) {
  describe(`create_index on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    beforeEach(async () => {
      await db.query(`DROP TABLE IF EXISTS orders CASCADE; CREATE TABLE orders (id bigint PRIMARY KEY, cents bigint, payload jsonb);
        INSERT INTO orders SELECT g, g % 500, jsonb_build_object('status', CASE WHEN g % 3 = 0 THEN 'paid' ELSE 'open' END) FROM generate_series(1, 20000) g`);
    });
    const invalid = async () =>
      db.query(
        `select c.relname from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = 'orders'::regclass and not i.indisvalid`,
      );

    it('plans CREATE INDEX CONCURRENTLY outside a transaction under SHARE UPDATE EXCLUSIVE (no gate)', async () => {
      const h = await harness(createIndex, { table: 'orders', columns: 'cents', where: 'cents > 0' }, { url: db.url });
      expect(h.plan.statements).toEqual([
        expect.objectContaining({
          sql: 'CREATE INDEX CONCURRENTLY "orders_cents_idx" ON "public"."orders" USING btree ("cents") WHERE cents > 0',
          transactional: false,
        }),
      ]);
      expect(h.plan.locks).toEqual([{ relation: '"public"."orders"', mode: 'ShareUpdateExclusiveLock' }]);
      expect(createIndex.defaultGate!(h.step, h.plan)).toBe('none');
      await h.ctx.close();
    });

    it('parallel_workers: 0 keeps the build on one core; without it the server may add workers', async () => {
      await db.query(`DROP TABLE IF EXISTS wide; CREATE TABLE wide (id bigint PRIMARY KEY, v bigint);
        INSERT INTO wide SELECT g, hashint8(g) FROM generate_series(1, 600000) g`);
      await db.query('VACUUM ANALYZE wide');
      // Parallel workers of any build, sampled from another session while the build runs.
      const build = async (params: Record<string, unknown>) => {
        const h = await harness(createIndex, { table: 'wide', columns: 'v', ...params }, { url: db.url });
        let done = false;
        let workers = 0;
        const watch = (async () => {
          while (!done) {
            const r = await db.query(
              `select count(*)::int n from pg_stat_activity where backend_type = 'parallel worker' and query like 'CREATE INDEX CONCURRENTLY%'`,
            );
            workers = Math.max(workers, r[0].n);
            await new Promise((res) => setTimeout(res, 5));
          }
        })();
        await createIndex.apply(h.step, h.ctx);
        done = true;
        await watch;
        await createIndex.rollback!(h.step, h.ctx);
        await h.ctx.close();
        return { workers, plan: h.plan };
      };
      const one = await build({ parallel_workers: 0 });
      expect(one.workers).toBe(0);
      expect(one.plan.notes).toContain('built with max_parallel_maintenance_workers = 0 (one core; the others stay with the application)');
      // The contrast that makes the first figure mean something: the same build with workers allowed.
      const two = await build({ parallel_workers: 2 });
      expect(two.workers).toBeGreaterThan(0);
    });

    it('builds a JSONB expression index, emits progress, rolls back with DROP INDEX CONCURRENTLY', async () => {
      const h = await harness(
        createIndex,
        { table: 'orders', name: 'orders_status_idx', expressions: ["(payload->>'status')"] },
        { url: db.url },
      );
      // An old snapshot keeps the build in a waiting phase long enough to be observed.
      const snap = await oldSnapshot(db.url);
      const p = createIndex.apply(h.step, h.ctx);
      await waitFor(async () => eventsOf(h.ctx, 'step.progress').length > 0);
      await snap.end();
      await p;
      const prog = eventsOf(h.ctx, 'step.progress')[0].progress;
      expect(prog).toMatchObject({ kind: 'index', index: 'orders_status_idx' });
      expect(typeof prog.phase).toBe('string');
      const idx = await db.query(`select indisvalid from pg_index where indexrelid = 'orders_status_idx'::regclass`);
      expect(idx).toEqual([{ indisvalid: true }]);
      expect(await createIndex.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'done' });
      expect((await createIndex.verify!(h.step, h.ctx))[0]).toMatchObject({ value: 'valid', ok: true });
      await createIndex.rollback!(h.step, h.ctx);
      expect(eventsOf(h.ctx, 'step.sql').at(-1).sql).toBe('DROP INDEX CONCURRENTLY IF EXISTS "public"."orders_status_idx"');
      expect(await db.query(`select to_regclass('orders_status_idx') as r`)).toEqual([{ r: null }]);
      await h.ctx.close();
    });

    it('a lock_timeout while waiting for old snapshots: drops the INVALID index, retries, succeeds', async () => {
      const snap = await oldSnapshot(db.url);
      const h = await harness(
        createIndex,
        { table: 'orders', columns: ['cents'] },
        { url: db.url, settings: { lockTimeoutMs: 200, ddlRetries: 30 } },
      );
      const p = createIndex.apply(h.step, h.ctx);
      await waitFor(async () => eventsOf(h.ctx, 'step.retry').length >= 2);
      await snap.end();
      await p;
      expect(eventsOf(h.ctx, 'step.log').some((e) => /dropping INVALID index .*timed out/.test(e.message))).toBe(true);
      expect(await invalid()).toEqual([]);
      expect(await db.query(`select indisvalid from pg_index where indexrelid = 'orders_cents_idx'::regclass`)).toEqual([
        { indisvalid: true },
      ]);
      await h.ctx.close();
    });

    it('a cancelled build is cleaned up and retried (bounded)', async () => {
      const snap = await oldSnapshot(db.url);
      const h = await harness(
        createIndex,
        { table: 'orders', columns: ['cents'], retries: 1 },
        { url: db.url, settings: { lockTimeoutMs: 20_000 } },
      );
      const p = createIndex.apply(h.step, h.ctx);
      const pid = await waitFor(
        async () => (await db.query(`select pid from pg_stat_progress_create_index where relid = 'orders'::regclass`))[0]?.pid,
      );
      await db.query('select pg_cancel_backend($1)', [pid]);
      await waitFor(async () => eventsOf(h.ctx, 'step.retry').length >= 1);
      await snap.end();
      await p;
      expect(eventsOf(h.ctx, 'step.log').some((e) => /dropping INVALID index .*failed/.test(e.message))).toBe(true);
      expect(await invalid()).toEqual([]);
      await h.ctx.close();
    });

    it('a unique build over duplicates fails without retry and leaves no invalid index', async () => {
      const h = await harness(createIndex, { table: 'orders', columns: ['cents'], unique: true }, { url: db.url });
      const err: any = await createIndex.apply(h.step, h.ctx).catch((e: unknown) => e);
      expect(err.message).toMatch(/duplicate values exist/);
      expect(err.hint).toMatch(/the INVALID index orders_cents_key it left was dropped/);
      expect(eventsOf(h.ctx, 'step.retry')).toHaveLength(0);
      expect(await invalid()).toEqual([]);
      await h.ctx.close();
    });

    it('a leftover whose DROP fails is reported as still there, with the statement to run', async () => {
      // A real failure of the drop: an event trigger that refuses to drop this index.
      await db.query(`create function pgrb_keep_index() returns event_trigger language plpgsql as $$
        begin if current_query() ilike '%orders_cents_key%' then raise exception 'policy: indexes are dropped by the DBA'; end if; end $$`);
      await db.query(
        `create event trigger pgrb_keep_index on ddl_command_start when tag in ('DROP INDEX') execute function pgrb_keep_index()`,
      );
      try {
        const h = await harness(createIndex, { table: 'orders', columns: ['cents'], unique: true }, { url: db.url });
        const err: any = await createIndex.apply(h.step, h.ctx).catch((e: unknown) => e);
        expect(err.message).toMatch(/duplicate values exist/);
        expect(err.hint).toMatch(
          /the INVALID index orders_cents_key it left is still there \(the drop failed: policy: indexes are dropped by the DBA\).*run DROP INDEX CONCURRENTLY "public"."orders_cents_key"/,
        );
        expect(err.hint).not.toMatch(/was dropped/);
        expect(await invalid()).toEqual([{ relname: 'orders_cents_key' }]);
        await h.ctx.close();
      } finally {
        await db.query('drop event trigger pgrb_keep_index');
        await db.query('drop function pgrb_keep_index()');
        await db.query('drop index concurrently if exists orders_cents_key');
      }
    });

    it('an invalid leftover from someone else is reported, and dropped only with drop_invalid: true', async () => {
      await db.query(`CREATE UNIQUE INDEX CONCURRENTLY orders_cents_key ON orders (cents)`).catch(() => {});
      expect(await invalid()).toEqual([{ relname: 'orders_cents_key' }]);
      const h = await harness(createIndex, { table: 'orders', name: 'orders_cents_key', columns: ['cents'] }, { url: db.url });
      expect(h.plan.notes.join('\n')).toMatch(/INVALID index orders_cents_key exists/);
      expect(await createIndex.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'not-done' });
      await expect(createIndex.apply(h.step, h.ctx)).rejects.toThrow(/INVALID index public.orders_cents_key already exists/);
      expect(await invalid()).toEqual([{ relname: 'orders_cents_key' }]);
      const h2 = await harness(
        createIndex,
        { table: 'orders', name: 'orders_cents_key', columns: ['cents'], drop_invalid: true },
        { url: db.url },
      );
      await createIndex.apply(h2.step, h2.ctx);
      expect(await invalid()).toEqual([]);
      await h.ctx.close();
      await h2.ctx.close();
    });

    it('an interrupted build of this run (state says building) is dropped and rebuilt on resume', async () => {
      await db.query(`UPDATE orders SET cents = 1 WHERE id = 2`);
      await db.query(`CREATE UNIQUE INDEX CONCURRENTLY orders_id2_key ON orders (cents)`).catch(() => {});
      await db.query(`UPDATE orders SET cents = id`);
      const h = await harness(
        createIndex,
        { table: 'orders', name: 'orders_id2_key', columns: ['cents'], unique: true },
        { url: db.url, state: { building: true } },
      );
      await createIndex.apply(h.step, h.ctx);
      expect(await invalid()).toEqual([]);
      await h.ctx.close();
    });

    it('add_unique attaches the concurrently built index as a constraint; rollback removes both', async () => {
      const h = await harness(createIndex, { table: 'orders', name: 'orders_id_uq', columns: ['id'], add_unique: true }, { url: db.url });
      expect(h.plan.statements[1]!.sql).toBe(
        'ALTER TABLE "public"."orders" ADD CONSTRAINT "orders_id_uq" UNIQUE USING INDEX "orders_id_uq"',
      );
      expect(createIndex.defaultGate!(h.step, h.plan)).toBe('confirm');
      await createIndex.apply(h.step, h.ctx);
      expect(await db.query(`select contype::text from pg_constraint where conname = 'orders_id_uq'`)).toEqual([{ contype: 'u' }]);
      await createIndex.rollback!(h.step, h.ctx);
      expect(await db.query(`select 1 from pg_constraint where conname = 'orders_id_uq'`)).toEqual([]);
      expect(await db.query(`select to_regclass('orders_id_uq') as r`)).toEqual([{ r: null }]);
      await h.ctx.close();
    });

    it('add_primary_key refuses nullable columns and works once they are NOT NULL', async () => {
      await db.query(`CREATE TABLE items (code int, name text); INSERT INTO items SELECT g, 'x' FROM generate_series(1, 100) g`);
      const h = await harness(createIndex, { table: 'items', columns: ['code'], add_primary_key: true }, { url: db.url });
      await expect(createIndex.apply(h.step, h.ctx)).rejects.toThrow(/nullable.*/);
      await db.query(`ALTER TABLE items ALTER COLUMN code SET NOT NULL`);
      await createIndex.apply(h.step, h.ctx);
      expect(
        await db.query(`select conname, contype::text from pg_constraint where conrelid = 'items'::regclass and contype = 'p'`),
      ).toEqual([{ conname: 'items_code_pkey', contype: 'p' }]);
      await h.ctx.close();
    });
  });
}
