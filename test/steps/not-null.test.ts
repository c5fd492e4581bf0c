import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect, beforeEach } from 'vitest';
import { buildPlan } from '../../src/analyze/plan/build.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';
import { loadOrThrow } from '../support/runbook.js';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { notNull } from '../../src/steps/not-null.js';
import { harness, holdLock, eventsOf } from './ddl/helpers.js';

for (const major of edgeMajors()) {
  describe(`not_null on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    beforeEach(async () => {
      await db.query(
        `DROP TABLE IF EXISTS orders; CREATE TABLE orders (id bigint PRIMARY KEY, cents bigint); INSERT INTO orders SELECT g, g * 100 FROM generate_series(1, 2000) g`,
      );
    });
    const attnotnull = async () =>
      (await db.query(`select attnotnull from pg_attribute where attrelid = 'orders'::regclass and attname = 'cents'`))[0].attnotnull;

    it(`plans the ${major >= 18 ? 'native NOT NULL NOT VALID' : 'CHECK NOT VALID'} sequence`, async () => {
      const h = await harness(notNull, { table: 'orders', column: 'cents' }, { url: db.url });
      const sql = h.plan.statements.map((s) => s.sql);
      if (major >= 18) {
        expect(sql).toEqual([
          'ALTER TABLE "public"."orders" ADD CONSTRAINT "orders_cents_not_null" NOT NULL "cents" NOT VALID',
          'ALTER TABLE "public"."orders" VALIDATE CONSTRAINT "orders_cents_not_null"',
        ]);
      } else {
        expect(sql[0]).toBe('ALTER TABLE "public"."orders" ADD CONSTRAINT "orders_cents_not_null" CHECK ("cents" IS NOT NULL) NOT VALID');
        expect(sql[1]).toBe('ALTER TABLE "public"."orders" VALIDATE CONSTRAINT "orders_cents_not_null"');
        expect(sql[2]).toMatch(/SET NOT NULL;\nALTER TABLE "public"."orders" DROP CONSTRAINT "orders_cents_not_null"/);
      }
      expect(notNull.defaultGate!(h.step, h.plan)).toBe('confirm');
      await h.ctx.close();
    });

    it('plans nothing, no lock and a zero estimate for a column that is already NOT NULL', async () => {
      await db.query(`ALTER TABLE orders ALTER COLUMN cents SET NOT NULL; ANALYZE orders`);
      const h = await harness(notNull, { table: 'orders', column: 'cents' }, { url: db.url });
      expect(h.plan).toMatchObject({ statements: [], locks: [], nothingToDo: 'cents is already NOT NULL: nothing to do' });
      await h.ctx.close();
      const file = join(mkdtempSync(join(tmpdir(), 'pgrunbook-nn-')), 'nn.yaml');
      writeFileSync(file, 'version: 1\nname: nn\nphases:\n  deploy:\n    - id: nn\n      not_null: { table: orders, column: cents }\n');
      const plan = await buildPlan({ kinds: STEP_KINDS, runbook: await loadOrThrow(file), pool: db.pool, phases: ['deploy'] });
      const step = plan.steps[0]!;
      expect(step.error).toBeUndefined();
      expect(step.notes).toContain('cents is already NOT NULL: nothing to do');
      expect(step.locks).toEqual([]);
      expect(step.estimate).toMatchObject({ seconds: 0, low: 0, high: 0 });
    });

    it(`still plans the VALIDATE scan while the column is nullable${major >= 18 ? ' or its NOT NULL is NOT VALID' : ''}`, async () => {
      const before = await harness(notNull, { table: 'orders', column: 'cents' }, { url: db.url });
      expect(before.plan.nothingToDo).toBeUndefined();
      expect(before.plan.statements.some((s) => /VALIDATE CONSTRAINT/.test(s.sql))).toBe(true);
      await before.ctx.close();
      if (major < 18) return;
      await db.query(`ALTER TABLE orders ADD CONSTRAINT orders_cents_not_null NOT NULL cents NOT VALID`);
      const h = await harness(notNull, { table: 'orders', column: 'cents' }, { url: db.url });
      expect(h.plan.nothingToDo).toBeUndefined();
      expect(h.plan.statements.some((s) => /VALIDATE CONSTRAINT/.test(s.sql))).toBe(true);
      await h.ctx.close();
    });

    it('a missing column fails with what to check, and runs nothing', async () => {
      const h = await harness(notNull, { table: 'orders', column: 'nope' }, { url: db.url });
      await expect(notNull.apply(h.step, h.ctx)).rejects.toThrow(/column nope does not exist on public.orders/);
      expect(eventsOf(h.ctx, 'step.sql')).toHaveLength(0);
      await h.ctx.close();
    });

    it('gate evidence shows remaining NULLs; validation fails clearly while NULLs remain; rollback cleans up', async () => {
      await db.query(`UPDATE orders SET cents = NULL WHERE id % 100 = 0`);
      const h = await harness(notNull, { table: 'orders', column: 'cents' }, { url: db.url });
      const ev = await notNull.verify!(h.step, h.ctx);
      expect(ev[0]).toMatchObject({ label: 'remaining NULLs in cents', value: 20, ok: false });
      await expect(notNull.apply(h.step, h.ctx)).rejects.toThrow(/still has NULL values/);
      expect(await notNull.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'not-done' });
      await notNull.rollback!(h.step, h.ctx);
      expect(
        await db.query(`select conname from pg_constraint where conrelid = 'orders'::regclass and conname = 'orders_cents_not_null'`),
      ).toHaveLength(0);
      expect(await attnotnull()).toBe(false);
      await h.ctx.close();
    });

    it('sets NOT NULL without a long ACCESS EXCLUSIVE scan, leaves no helper, and rolls back', async () => {
      const h = await harness(notNull, { table: 'orders', column: 'cents' }, { url: db.url });
      expect((await notNull.verify!(h.step, h.ctx))[0]).toMatchObject({ value: 0, ok: true });
      await notNull.apply(h.step, h.ctx);
      expect(await attnotnull()).toBe(true);
      const cons = await db.query(
        `select conname, contype::text, convalidated from pg_constraint where conrelid = 'orders'::regclass and conname = 'orders_cents_not_null'`,
      );
      if (major >= 18) expect(cons).toEqual([{ conname: 'orders_cents_not_null', contype: 'n', convalidated: true }]);
      else expect(cons).toEqual([]);
      expect(await notNull.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'done' });
      // The validation ran under SHARE UPDATE EXCLUSIVE: a statement of its own.
      expect(
        eventsOf(h.ctx, 'step.sql')
          .map((e) => e.sql)
          .some((s: string) => /^ALTER TABLE .* VALIDATE CONSTRAINT/.test(s)),
      ).toBe(true);
      // Running again is a no-op.
      const again = await harness(notNull, { table: 'orders', column: 'cents' }, { url: db.url });
      expect(await notNull.apply(again.step, again.ctx)).toEqual({ changed: false });
      await notNull.rollback!(again.step, again.ctx); // not ours: leaves it
      expect(await attnotnull()).toBe(true);
      await again.ctx.close();
      await notNull.rollback!(h.step, h.ctx);
      expect(await attnotnull()).toBe(false);
      await h.ctx.close();
    });

    it('its brief ACCESS EXCLUSIVE statements retry under lock_timeout around an open reader', async () => {
      // An open reader holds ACCESS SHARE: the brief ACCESS EXCLUSIVE steps must retry around it.
      const holder = await holdLock(db.url, 'SELECT 1 FROM orders LIMIT 1');
      const h = await harness(
        notNull,
        { table: 'orders', column: 'cents' },
        { url: db.url, settings: { lockTimeoutMs: 150, ddlRetries: 30 } },
      );
      const p = notNull.apply(h.step, h.ctx);
      await new Promise((r) => setTimeout(r, 500));
      await holder.release();
      await p;
      expect(eventsOf(h.ctx, 'step.retry').length).toBeGreaterThan(0);
      expect(await attnotnull()).toBe(true);
      await h.ctx.close();
    });
  });
}
