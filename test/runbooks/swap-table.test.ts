import { describe, it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { runRunbookFile } from '../support/runbook.js';
import { seedOrders, failure, completedSteps } from './seed.js';

const FILE = fileURLToPath(new URL('../../runbooks/swap-table.yaml', import.meta.url));

for (const major of edgeMajors()) {
  describe(`runbooks/swap-table.yaml on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    const idType = async () =>
      (
        await db.query(`select format_type(atttypid, atttypmod) t from pg_attribute where attrelid = 'orders'::regclass and attname = 'id'`)
      )[0].t;

    it('swaps int → bigint, rolls back losslessly, then swaps again and drops the old table', async () => {
      await seedOrders(db, 20_000, 'serial');
      const dep = await runRunbookFile(FILE, { url: db.url, phases: ['plan', 'deploy'] });
      expect(dep.outcome.status, failure(dep.events)).toBe('completed');
      expect(await idType()).toBe('bigint');
      await db.query(`INSERT INTO orders (customer_id, amount) VALUES (1, 99999.99)`);

      const rb = await runRunbookFile(FILE, { url: db.url, phases: ['rollback'] });
      expect(rb.outcome.status, failure(rb.events)).toBe('completed');
      expect(await idType()).toBe('integer');
      expect(await db.query(`select count(*)::int n from orders where amount = 99999.99`)).toEqual([{ n: 1 }]);
      expect(
        await db.query(`select confrelid::regclass::text r from pg_constraint where conrelid = 'order_items'::regclass and contype = 'f'`),
      ).toEqual([{ r: 'orders' }]);

      const full = await runRunbookFile(FILE, { url: db.url });
      expect(full.outcome.status, failure(full.events)).toBe('completed');
      expect(completedSteps(full.events)).toEqual(['plan/id_headroom', 'deploy/swap', 'monitor/new_table_serves', 'monitor/drop_old']);
      const gate = full.events.find((e) => e.type === 'gate.requested' && (e as any).request.stepId === 'drop_old') as any;
      expect(gate.request.level).toBe('type');
      expect(await idType()).toBe('bigint');
      expect(await db.query(`select to_regclass('orders_old') a, to_regclass('orders_new') b`)).toEqual([{ a: null, b: null }]);
      expect(await db.query(`select count(*)::int n from recent_orders`)).toEqual([{ n: 20_001 }]);
    });
  });
}
