import { describe, it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { runRunbookFile } from '../support/runbook.js';
import { seedOrders, failure, completedSteps } from './seed.js';

const FILE = fileURLToPath(new URL('../../runbooks/create-index.yaml', import.meta.url));

for (const major of edgeMajors()) {
  describe(`runbooks/create-index.yaml on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);

    it('builds the index concurrently with progress, checks it, and rolls back', async () => {
      await seedOrders(db);
      const vars = { column: 'amount', name: 'orders_amount_idx' };
      const dep = await runRunbookFile(FILE, { url: db.url, vars });
      expect(dep.outcome.status, failure(dep.events)).toBe('completed');
      expect(completedSteps(dep.events)).toEqual([
        'plan/no_invalid_indexes',
        'plan/no_long_transactions',
        'deploy/create_index',
        'monitor/index_is_valid',
      ]);
      expect(
        dep.events.find((e) => e.type === 'step.sql' && /CREATE INDEX CONCURRENTLY "orders_amount_idx"/.test((e as any).sql)),
      ).toBeTruthy();

      const rb = await runRunbookFile(FILE, { url: db.url, vars, phases: ['rollback'] });
      expect(rb.outcome.status, failure(rb.events)).toBe('completed');
      expect(
        rb.events.some((e) => e.type === 'step.sql' && (e as any).sql === 'DROP INDEX CONCURRENTLY IF EXISTS "public"."orders_amount_idx"'),
      ).toBe(true);
      expect(completedSteps(rb.events)).toContain('rollback/index_gone');
    });

    it('stops at the plan check when an INVALID index exists, and nothing is built', async () => {
      await seedOrders(db, 2000);
      await db.query(`UPDATE orders SET amount = 1 WHERE id <= 2`);
      await db.query(`CREATE UNIQUE INDEX CONCURRENTLY orders_amount_key ON orders (amount)`).catch(() => {});
      const dep = await runRunbookFile(FILE, { url: db.url, vars: { column: 'amount', name: 'orders_amount_idx' } });
      expect(dep.outcome.status).toBe('failed');
      expect(failure(dep.events)).toMatch(/no_invalid_indexes/);
      expect(await db.query(`select to_regclass('orders_amount_idx') r`)).toEqual([{ r: null }]);
    });
  });
}
