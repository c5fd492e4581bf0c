import { describe, it, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { runRunbookFile } from '../support/runbook.js';
import { seedOrders, failure, completedSteps } from './seed.js';

const FILE = fileURLToPath(new URL('../../runbooks/jsonb-derived-column.yaml', import.meta.url));

for (const major of edgeMajors()) {
  describe(`runbooks/jsonb-derived-column.yaml on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);

    it('derives the JSONB column, indexes a key, switches reads 5% → 100% with validation, then rolls back', async () => {
      await seedOrders(db, 6000);
      const dep = await runRunbookFile(FILE, { url: db.url });
      expect(dep.outcome.status, failure(dep.events)).toBe('completed');
      expect(completedSteps(dep.events)).toEqual([
        'deploy/add_snapshot_column',
        'deploy/backfill_snapshot',
        'deploy/index_snapshot_key',
        'deploy/switch_reads',
        'deploy/snapshot_not_null',
      ]);
      expect(
        await db.query(`select count(*)::int n from orders o join customers c on c.id = o.customer_id
                         where o.customer_snapshot->>'tier' is distinct from c.tier or (o.customer_snapshot->>'lifetime_orders')::int <> 12`),
      ).toEqual([{ n: 0 }]);
      expect(await db.query(`select percentage from feature_flags where name = 'orders.read_customer_snapshot'`)).toEqual([
        { percentage: 100 },
      ]);
      // Each stage was validated (evidence), and the move to 100% went through a gate.
      const stages = dep.events.filter((e) => e.type === 'step.evidence' && e.stepId === 'switch_reads') as any[];
      expect(stages.map((e) => e.evidence[0].value)).toEqual(['5%', '100%']);
      for (const e of stages) expect(e.evidence[1]).toMatchObject({ label: 'validation query', value: true, ok: true });
      const stageGate = dep.events.find((e) => e.type === 'gate.decided' && (e as any).request.id === 'switch_reads:stage:100') as any;
      expect(stageGate.decision.approved).toBe(true);
      expect(stageGate.request.evidence).toContainEqual(expect.objectContaining({ label: 'validation query', value: true, ok: true }));
      expect(await db.query(`select indisvalid from pg_index where indexrelid = to_regclass('orders_customer_snapshot_tier_idx')`)).toEqual(
        [{ indisvalid: true }],
      );
      expect(
        await db.query(`select attnotnull from pg_attribute where attrelid = 'orders'::regclass and attname = 'customer_snapshot'`),
      ).toEqual([{ attnotnull: true }]);

      const rb = await runRunbookFile(FILE, { url: db.url, phases: ['rollback'] });
      expect(rb.outcome.status, failure(rb.events)).toBe('completed');
      expect(await db.query(`select count(*)::int n from feature_flags where name = 'orders.read_customer_snapshot'`)).toEqual([{ n: 0 }]);
      expect(completedSteps(rb.events)).toContain('rollback/reads_back_on_join');
    });
  });
}
