import { describe, it, expect, beforeEach } from 'vitest';
import pg from 'pg';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { addColumn } from '../../src/steps/add-column.js';
import { harness, holdLock, relfilenode, eventsOf } from './ddl/helpers.js';
import type { StepSpec } from '../../src/runbook/model.js';
import { makeStep } from '../support/step-context.js';

describe('add_column validate (offline)', () => {
  const problems = async (params: unknown) =>
    addColumn.validate!(makeStep('add_column', addColumn.schema.parse(params)) as StepSpec<any>, { runbook: {} as any, step: {} as any });
  it('rejects a type that carries more than a type', async () => {
    expect((await problems({ table: 't', column: 'c', type: 'int; DROP TABLE t' }))[0]!.message).toMatch(
      /not a single column type|does not parse/,
    );
    expect((await problems({ table: 't', column: 'c', type: 'int DEFAULT random()' }))[0]!.message).toMatch(/only a type name/);
  });
  it('refuses serial and known volatile defaults, naming the safe way', async () => {
    const [s] = await problems({ table: 't', column: 'c', type: 'bigserial' });
    expect(s!.message).toMatch(/rewrites the table.*backfill/);
    const [r] = await problems({ table: 't', column: 'c', type: 'uuid', default: 'gen_random_uuid()' });
    expect(r!.message).toMatch(/volatile gen_random_uuid.*backfill/);
    expect(await problems({ table: 't', column: 'c', type: 'timestamptz', default: 'now()' })).toEqual([]);
  });
  it('takes YAML numbers and booleans as SQL constants; strings stay SQL expressions', () => {
    const d = (v: unknown) => addColumn.schema.safeParse({ table: 't', column: 'c', type: 'int', default: v });
    expect([0, 1.5, -3, true, false, "'x'"].map((v) => (d(v) as any).data?.default)).toEqual(['0', '1.5', '-3', 'true', 'false', "'x'"]);
    // An integer past 2^53 has already lost digits when YAML read it: it must be quoted.
    expect(d(2 ** 60).error!.issues[0]!.message).toMatch(/too large for an exact YAML number: quote it/);
    expect(d(Infinity).success).toBe(false);
    expect(d(null).success).toBe(false);
  });
});

for (const major of edgeMajors()) {
  describe(`add_column on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    beforeEach(async () => {
      await db.query(
        `DROP TABLE IF EXISTS orders; CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric); INSERT INTO orders SELECT g, g FROM generate_series(1, 1000) g`,
      );
    });

    it('plans the exact SQL and ACCESS EXCLUSIVE, so the default gate is confirm', async () => {
      const h = await harness(addColumn, { table: 'orders', column: 'amount_cents', type: 'bigint' }, { url: db.url });
      expect(h.plan.statements.map((s) => s.sql)).toEqual(['ALTER TABLE "public"."orders" ADD COLUMN "amount_cents" bigint']);
      expect(h.plan.locks).toEqual([{ relation: '"public"."orders"', mode: 'AccessExclusiveLock' }]);
      expect(addColumn.defaultGate!(h.step, h.plan)).toBe('confirm');
      await h.ctx.close();
    });

    it('adds a nullable column without a rewrite; rollback drops it; reconcile sees it', async () => {
      const before = await relfilenode(db.pool, 'orders');
      const h = await harness(addColumn, { table: 'orders', column: 'created', type: 'timestamptz', default: 'now()' }, { url: db.url });
      expect(await addColumn.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'not-done' });
      // Before the step, the absent column is a fact for the gate, not a failure.
      const pre = await addColumn.verify!(h.step, h.ctx);
      expect(pre[0]).toEqual({ label: 'column created', value: 'absent: this step adds it' });
      await addColumn.apply(h.step, h.ctx);
      expect(await relfilenode(db.pool, 'orders')).toBe(before);
      expect(await addColumn.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'done' });
      const ev = await addColumn.verify!(h.step, h.ctx);
      expect(ev[0]).toMatchObject({ value: 'timestamp with time zone', ok: true });
      expect(eventsOf(h.ctx, 'step.sql').map((e) => e.sql)).toEqual([
        'ALTER TABLE "public"."orders" ADD COLUMN "created" timestamptz DEFAULT now()',
      ]);
      await addColumn.rollback!(h.step, h.ctx);
      expect(
        await db.query(`select 1 from pg_attribute where attrelid = 'orders'::regclass and attname = 'created' and not attisdropped`),
      ).toHaveLength(0);
      await h.ctx.close();
    });

    it('default: 0 and default: true (YAML scalars) add the column catalog-only; existing rows read them', async () => {
      const before = await relfilenode(db.pool, 'orders');
      const zero = await harness(addColumn, { table: 'orders', column: 'qty', type: 'int', default: 0 }, { url: db.url });
      expect(zero.plan.statements.map((s) => s.sql)).toEqual(['ALTER TABLE "public"."orders" ADD COLUMN "qty" int DEFAULT 0']);
      expect(zero.plan.notes.join('\n')).toMatch(/catalog-only/);
      expect(zero.plan.notes.join('\n')).not.toMatch(/REFUSED/);
      await addColumn.apply(zero.step, zero.ctx);
      const flag = await harness(addColumn, { table: 'orders', column: 'active', type: 'boolean', default: true }, { url: db.url });
      await addColumn.apply(flag.step, flag.ctx);
      const ratio = await harness(addColumn, { table: 'orders', column: 'ratio', type: 'numeric', default: 1.5 }, { url: db.url });
      await addColumn.apply(ratio.step, ratio.ctx);
      expect(await relfilenode(db.pool, 'orders')).toBe(before); // no rewrite
      // PG 11+ fast default: the value lives in pg_attribute (atthasmissing), not in the rows.
      expect(
        await db.query(
          `select attname, atthasmissing from pg_attribute where attrelid = 'orders'::regclass and attname in ('qty', 'active', 'ratio') order by attname`,
        ),
      ).toEqual([
        { attname: 'active', atthasmissing: true },
        { attname: 'qty', atthasmissing: true },
        { attname: 'ratio', atthasmissing: true },
      ]);
      expect(
        await db.query(`select count(*)::int n, min(qty) lo, max(qty) hi, bool_and(active) a, min(ratio)::text r from orders`),
      ).toEqual([{ n: 1000, lo: 0, hi: 0, a: true, r: '1.5' }]);
      await db.query(`INSERT INTO orders (id, amount) VALUES (5000, 1)`);
      expect(await db.query(`select qty, active from orders where id = 5000`)).toEqual([{ qty: 0, active: true }]);
      for (const h of [zero, flag, ratio]) await h.ctx.close();
    });

    it('rollback leaves a column this run did not add', async () => {
      await db.query(`ALTER TABLE orders ADD COLUMN note text`);
      const h = await harness(addColumn, { table: 'orders', column: 'note', type: 'text' }, { url: db.url });
      expect(await addColumn.apply(h.step, h.ctx)).toMatchObject({ added: false });
      await addColumn.rollback!(h.step, h.ctx);
      expect(
        await db.query(`select 1 from pg_attribute where attrelid = 'orders'::regclass and attname = 'note' and not attisdropped`),
      ).toHaveLength(1);
      expect(eventsOf(h.ctx, 'step.log').map((e) => e.message)).toContain(
        'column note was there before this run added anything; leaving it in place',
      );
      await h.ctx.close();
    });

    it('rollback of a column that does not exist says so, not that this run did not add it', async () => {
      const h = await harness(addColumn, { table: 'orders', column: 'never_there', type: 'text' }, { url: db.url });
      await addColumn.rollback!(h.step, h.ctx);
      expect(eventsOf(h.ctx, 'step.log').map((e) => e.message)).toEqual(['column orders.never_there does not exist; nothing to undo']);
      expect(eventsOf(h.ctx, 'step.sql')).toEqual([]);
      await h.ctx.close();
    });

    it('refuses a volatile default found only by asking the server (user function), runs nothing', async () => {
      await db.query(`CREATE OR REPLACE FUNCTION pick() RETURNS int LANGUAGE plpgsql VOLATILE AS 'begin return 1; end'`);
      const h = await harness(addColumn, { table: 'orders', column: 'x', type: 'int', default: 'pick()' }, { url: db.url });
      expect(h.plan.notes.join('\n')).toMatch(/REFUSED: .*rewrite the whole table/);
      await expect(addColumn.apply(h.step, h.ctx)).rejects.toThrow(/refused.*rewrite.*backfill/);
      expect(eventsOf(h.ctx, 'step.sql')).toHaveLength(0);
      expect(await db.query(`select 1 from pg_attribute where attrelid = 'orders'::regclass and attname = 'x'`)).toHaveLength(0);
      await h.ctx.close();
    });

    it('refuses NOT NULL without a default on a non-empty table, allows it on an empty one', async () => {
      const h = await harness(addColumn, { table: 'orders', column: 'y', type: 'int', not_null: 'true' }, { url: db.url });
      await expect(addColumn.apply(h.step, h.ctx)).rejects.toThrow(/NOT NULL without a default.*not_null/);
      await db.query(`TRUNCATE orders`);
      await addColumn.apply(h.step, h.ctx);
      expect(
        (await db.query(`select attnotnull from pg_attribute where attrelid = 'orders'::regclass and attname = 'y'`))[0].attnotnull,
      ).toBe(true);
      await h.ctx.close();
    });

    it('waits for its lock only lock_timeout at a time, retries, never blocks readers for long, then succeeds', async () => {
      const holder = await holdLock(db.url, 'SELECT count(*) FROM orders');
      const h = await harness(
        addColumn,
        { table: 'orders', column: 'z', type: 'int' },
        { url: db.url, settings: { lockTimeoutMs: 200, ddlRetries: 20 } },
      );
      const applying = addColumn.apply(h.step, h.ctx);
      // While the DDL waits in the lock queue, a plain SELECT queues behind it: it must get through
      // within about one lock_timeout.
      await new Promise((r) => setTimeout(r, 300));
      const reader = new pg.Client(db.url);
      await reader.connect();
      const t0 = Date.now();
      await reader.query('SELECT count(*) FROM orders');
      const waited = Date.now() - t0;
      await reader.end();
      expect(waited).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 400));
      await holder.release();
      await applying;
      expect(eventsOf(h.ctx, 'step.retry').length).toBeGreaterThan(0);
      expect(eventsOf(h.ctx, 'step.sql').some((e) => e.sqlstate === '55P03')).toBe(true);
      await h.ctx.close();
    });

    it('fails clearly when retries run out (non-interactive)', async () => {
      const holder = await holdLock(db.url, 'SELECT count(*) FROM orders');
      const h = await harness(
        addColumn,
        { table: 'orders', column: 'w', type: 'int' },
        { url: db.url, settings: { lockTimeoutMs: 100, ddlRetries: 2 } },
      );
      await expect(addColumn.apply(h.step, h.ctx)).rejects.toThrow(/could not get the lock after 2 retries/);
      await holder.release();
      await h.ctx.close();
    });
  });
}
