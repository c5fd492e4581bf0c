import { describe, it, expect, beforeEach } from 'vitest';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { addForeignKey } from '../../src/steps/add-foreign-key.js';
import { harness, holdLock, eventsOf } from './ddl/helpers.js';

const FK = { table: 'orders', columns: 'customer_id', references: { table: 'customers', columns: 'id' } };

for (const major of edgeMajors()) {
  describe(`add_foreign_key on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    beforeEach(async () => {
      await db.query(`DROP TABLE IF EXISTS orders, customers;
        CREATE TABLE customers (id bigint PRIMARY KEY); INSERT INTO customers SELECT generate_series(1, 100);
        CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint); INSERT INTO orders SELECT g, g % 100 + 1 FROM generate_series(1, 5000) g`);
    });
    const con = async () =>
      db.query(`select conname, convalidated from pg_constraint where conrelid = 'orders'::regclass and contype = 'f'`);

    it('plans NOT VALID then VALIDATE, with the locks of each, and warns about a missing index', async () => {
      const h = await harness(addForeignKey, { ...FK, on_delete: 'cascade' }, { url: db.url });
      expect(h.plan.statements.map((s) => s.sql)).toEqual([
        'ALTER TABLE "public"."orders" ADD CONSTRAINT "orders_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "public"."customers" ("id") ON DELETE CASCADE NOT VALID',
        'ALTER TABLE "public"."orders" VALIDATE CONSTRAINT "orders_customer_id_fkey"',
      ]);
      expect(h.plan.locks.map((l) => l.mode)).toEqual([
        'ShareRowExclusiveLock',
        'ShareRowExclusiveLock',
        'ShareUpdateExclusiveLock',
        'RowShareLock',
      ]);
      expect(h.plan.notes.join('\n')).toMatch(/no index on orders \(customer_id\)/);
      expect(addForeignKey.defaultGate!(h.step, h.plan)).toBe('none');
      await h.ctx.close();
    });

    it('adds and validates; reconcile and verify agree; rollback drops it', async () => {
      const h = await harness(addForeignKey, FK, { url: db.url });
      await addForeignKey.apply(h.step, h.ctx);
      expect(await con()).toEqual([{ conname: 'orders_customer_id_fkey', convalidated: true }]);
      expect(await addForeignKey.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'done' });
      expect(await addForeignKey.verify!(h.step, h.ctx)).toEqual([expect.objectContaining({ value: 'validated', ok: true })]);
      await addForeignKey.rollback!(h.step, h.ctx);
      expect(await con()).toEqual([]);
      await h.ctx.close();
    });

    it('orphan rows: a clear error, the NOT VALID constraint guards new rows, a re-run after the fix validates', async () => {
      await db.query(`UPDATE orders SET customer_id = 999 WHERE id = 7`);
      const h = await harness(addForeignKey, FK, { url: db.url });
      await expect(addForeignKey.apply(h.step, h.ctx)).rejects.toThrow(/reference missing customers rows/);
      expect(await con()).toEqual([{ conname: 'orders_customer_id_fkey', convalidated: false }]);
      await expect(db.query(`INSERT INTO orders VALUES (100000, 12345)`)).rejects.toThrow(/foreign key/);
      expect(await addForeignKey.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'not-done' });
      await db.query(`UPDATE orders SET customer_id = 1 WHERE id = 7`);
      await addForeignKey.apply(h.step, h.ctx);
      expect(await con()).toEqual([{ conname: 'orders_customer_id_fkey', convalidated: true }]);
      await h.ctx.close();
    });

    it('waits under lock_timeout behind a writer on the referenced table, retries, then succeeds', async () => {
      const holder = await holdLock(db.url, 'INSERT INTO customers VALUES (1000)');
      const h = await harness(addForeignKey, FK, { url: db.url, settings: { lockTimeoutMs: 150, ddlRetries: 30 } });
      const p = addForeignKey.apply(h.step, h.ctx);
      await new Promise((r) => setTimeout(r, 500));
      await holder.release();
      await p;
      expect(eventsOf(h.ctx, 'step.retry').length).toBeGreaterThan(0);
      expect(await con()).toEqual([{ conname: 'orders_customer_id_fkey', convalidated: true }]);
      await h.ctx.close();
    });
  });
}
