import { describe, it, expect, beforeEach } from 'vitest';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { addCheck } from '../../src/steps/add-check.js';
import { harness, holdLock, eventsOf } from './ddl/helpers.js';
import { makeStep } from '../support/step-context.js';

describe('add_check validate (offline)', () => {
  it('rejects an expression that is not one expression', async () => {
    const step = makeStep('add_check', addCheck.schema.parse({ table: 't', name: 'c', expression: 'x > 0); DROP TABLE t; SELECT (1' }));
    const problems = await addCheck.validate!(step as any, { runbook: {} as any, step: step as any });
    expect(problems[0]!.message).toMatch(/not a single expression/);
  });
});

for (const major of edgeMajors()) {
  describe(`add_check on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    beforeEach(async () => {
      await db.query(
        `DROP TABLE IF EXISTS orders; CREATE TABLE orders (id bigint PRIMARY KEY, cents bigint); INSERT INTO orders SELECT g, g FROM generate_series(1, 5000) g`,
      );
    });
    const con = async () =>
      db.query(`select conname, convalidated from pg_constraint where conrelid = 'orders'::regclass and contype = 'c'`);
    const P = { table: 'orders', name: 'orders_cents_positive', expression: 'cents >= 0' };

    it('plans NOT VALID (brief ACCESS EXCLUSIVE) then VALIDATE (SHARE UPDATE EXCLUSIVE)', async () => {
      const h = await harness(addCheck, P, { url: db.url });
      expect(h.plan.statements.map((s) => s.sql)).toEqual([
        'ALTER TABLE "public"."orders" ADD CONSTRAINT "orders_cents_positive" CHECK (cents >= 0) NOT VALID',
        'ALTER TABLE "public"."orders" VALIDATE CONSTRAINT "orders_cents_positive"',
      ]);
      expect(h.plan.locks.map((l) => l.mode)).toEqual(['AccessExclusiveLock', 'ShareUpdateExclusiveLock']);
      expect(addCheck.defaultGate!(h.step, h.plan)).toBe('confirm');
      await h.ctx.close();
    });

    it('adds, validates, rolls back; violations give a clear error and keep guarding new rows', async () => {
      const h = await harness(addCheck, P, { url: db.url });
      await addCheck.apply(h.step, h.ctx);
      expect(await con()).toEqual([{ conname: 'orders_cents_positive', convalidated: true }]);
      expect(await addCheck.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'done' });
      await addCheck.rollback!(h.step, h.ctx);
      expect(await con()).toEqual([]);
      await h.ctx.close();

      await db.query(`UPDATE orders SET cents = -1 WHERE id = 3`);
      const h2 = await harness(addCheck, P, { url: db.url });
      await expect(addCheck.apply(h2.step, h2.ctx)).rejects.toThrow(/violate orders_cents_positive/);
      await expect(db.query(`INSERT INTO orders VALUES (9999999, -5)`)).rejects.toThrow(/check constraint/);
      await db.query(`UPDATE orders SET cents = 1 WHERE id = 3`);
      await addCheck.apply(h2.step, h2.ctx);
      expect(await con()).toEqual([{ conname: 'orders_cents_positive', convalidated: true }]);
      await h2.ctx.close();
    });

    it('retries its ACCESS EXCLUSIVE statement under lock_timeout', async () => {
      const holder = await holdLock(db.url, 'SELECT 1 FROM orders LIMIT 1');
      const h = await harness(addCheck, P, { url: db.url, settings: { lockTimeoutMs: 100, ddlRetries: 40 } });
      const p = addCheck.apply(h.step, h.ctx);
      await new Promise((r) => setTimeout(r, 400));
      await holder.release();
      await p;
      expect(eventsOf(h.ctx, 'step.retry').length).toBeGreaterThan(0);
      await h.ctx.close();
    });
  });
}
