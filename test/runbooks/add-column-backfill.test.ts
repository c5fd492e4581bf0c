import { describe, it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { runRunbookFile } from '../support/runbook.js';
import { seedOrders, failure, completedSteps } from './seed.js';

const FILE = fileURLToPath(new URL('../../runbooks/add-column-backfill.yaml', import.meta.url));

for (const major of edgeMajors()) {
  describe(`runbooks/add-column-backfill.yaml on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);

    it('deploys (column, backfill, NOT NULL, index) and rolls back to the original shape', async () => {
      await seedOrders(db);
      const dep = await runRunbookFile(FILE, { url: db.url });
      expect(dep.outcome.status, failure(dep.events)).toBe('completed');
      expect(completedSteps(dep.events)).toEqual([
        'plan/table_has_rows',
        'deploy/add_column',
        'deploy/backfill',
        'deploy/not_null',
        'deploy/create_index',
      ]);
      expect(await db.query(`select count(*)::int n from orders where amount_cents is distinct from (amount * 100)::bigint`)).toEqual([
        { n: 0 },
      ]);
      expect(
        await db.query(`select attnotnull from pg_attribute where attrelid = 'orders'::regclass and attname = 'amount_cents'`),
      ).toEqual([{ attnotnull: true }]);
      expect(await db.query(`select indisvalid from pg_index where indexrelid = to_regclass('orders_amount_cents_idx')`)).toEqual([
        { indisvalid: true },
      ]);

      const rb = await runRunbookFile(FILE, { url: db.url, phases: ['rollback'] });
      expect(rb.outcome.status, failure(rb.events)).toBe('completed');
      expect(completedSteps(rb.events)).toContain('rollback/column_gone');
      expect(await db.query(`select to_regclass('orders_amount_cents_idx') r`)).toEqual([{ r: null }]);
    });

    it('index=false leaves the index step out; other vars retarget the runbook', async () => {
      await seedOrders(db, 5000);
      const dep = await runRunbookFile(FILE, {
        url: db.url,
        phases: ['deploy'],
        vars: { index: 'false', column: 'amount_x10', type: 'numeric(14,1)', expression: 'amount * 10' },
      });
      expect(dep.outcome.status, failure(dep.events)).toBe('completed');
      expect(completedSteps(dep.events)).toEqual(['deploy/add_column', 'deploy/backfill', 'deploy/not_null']);
      expect(
        await db.query(
          `select format_type(atttypid, atttypmod) t from pg_attribute where attrelid = 'orders'::regclass and attname = 'amount_x10'`,
        ),
      ).toEqual([{ t: 'numeric(14,1)' }]);
      expect(await db.query(`select count(*)::int n from pg_index where indrelid = 'orders'::regclass`)).toEqual([{ n: 2 }]);
    });
  });
}
