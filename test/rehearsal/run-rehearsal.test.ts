// End to end on real PostgreSQL: a rehearsal on an embedded sandbox (deploy + rollback traced,
// rollback verified by schema diff), the source untouched; and drill mode.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { rehearse } from '../../src/cli/composition-root.js';
import { rehearsalMarkdown } from '../../src/report/rehearsal-md.js';
import { rehearsalJson } from '../../src/report/rehearsal-json.js';
import { loadOrThrow } from '../support/runbook.js';
import { seedOrders, sourceFingerprint, useSourceDatabase } from './support.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/add-column-sql.yaml', import.meta.url));
const SHIPPED = fileURLToPath(new URL('../../runbooks/add-column-backfill.yaml', import.meta.url));

describe('rehearse on an embedded sandbox', () => {
  const src = useSourceDatabase((q) => seedOrders(q));

  it('runs deploy and rollback on a sample, traces locks, verifies the rollback and leaves the source untouched', async () => {
    const runbook = await loadOrThrow(FIXTURE);
    const before = await sourceFingerprint(src.query);
    const r = await rehearse({ runbook, sourceUrl: src.url, samplePct: 10 });

    expect(r.deploy.status).toBe('completed');
    expect(r.rollback?.status).toBe('completed');
    expect(r.schemaDiff?.same).toBe(true);
    expect(r.rollbackVerified).toBe(true);
    expect(r.sandbox.kind).toBe('embedded');
    expect(r.sandbox.major).toBe(src.major);

    // Sample: about 10% of orders, the referenced customers fetched so the FK holds.
    const orders = r.clone!.tables.find((t) => t.table === 'orders')!;
    expect(orders.sourceRows).toBe(40_000);
    expect(orders.sampleRows).toBeGreaterThan(2_000);
    expect(orders.sampleRows).toBeLessThan(6_000);
    const customers = r.clone!.tables.find((t) => t.table === 'customers')!;
    expect(customers.role).toBe('referenced');
    expect(customers.sampleRows).toBeGreaterThan(0);

    // Observed locks: ADD COLUMN's ACCESS EXCLUSIVE (held for well under a millisecond) is caught.
    const step = (id: string) => r.steps.find((s) => s.stepId === id)!;
    expect(r.deploy.ddlCapture).toBe(true);
    expect(step('add_col').predicted?.source).toBe('analyze');
    expect(step('add_col').observed.some((l) => l.relation === 'orders' && l.mode === 'AccessExclusiveLock' && l.granted)).toBe(true);
    expect(step('fill').observed.some((l) => l.relation === 'orders' && l.mode === 'RowExclusiveLock')).toBe(true);
    expect(step('nn').observed.some((l) => l.mode === 'ShareUpdateExclusiveLock')).toBe(true);
    for (const s of r.steps) expect(s.comparison.filter((c) => c.mismatch === 'unpredicted')).toEqual([]);
    expect(r.steps.every((s) => !s.rewrite)).toBe(true);
    expect(step('fill').walBytes).toBeGreaterThan(100_000);
    expect(step('fill').rows).toBe(orders.sampleRows);

    // Projection: the UPDATE scales with rows; the catalog-only ADD COLUMN does not.
    expect(step('fill').basis).toBe('rows');
    expect(step('fill').projectedSeconds).toBeGreaterThan(step('fill').sampleSeconds * 3);
    expect(step('add_col').basis).toBe('constant');
    expect(step('add_col').projectedSeconds).toBeCloseTo(step('add_col').sampleSeconds, 5);
    expect(r.projection.steps.map((s) => s.id)).toEqual(['add_col', 'fill', 'nn', 'idx']);
    expect(r.projection.total_seconds).toBeCloseTo(
      r.projection.steps.reduce((a, s) => a + s.seconds, 0),
      2,
    );
    expect(r.projection.steps[0]!.locks[0]).toEqual({ relation: 'orders', mode: 'AccessExclusiveLock' });

    // Reports.
    const md = rehearsalMarkdown(r);
    expect(md).toContain('rollback verified');
    expect(md).toContain('identical');
    expect(md).toMatch(/AccessExclusiveLock on orders ✓/);
    const json = rehearsalJson(r) as any;
    expect(json.rollback_verified).toBe(true);
    expect(json.projection.steps).toHaveLength(4);

    // The source: not one write.
    expect(await sourceFingerprint(src.query)).toEqual(before);
  });

  it('rehearses the shipped runbooks/add-column-backfill.yaml end to end, rollback verified', async () => {
    // The backfill kind declares its cursor tables (StepKind.stateSql): the sandbox runner creates them.
    const runbook = await loadOrThrow(SHIPPED);
    const before = await sourceFingerprint(src.query);
    const r = await rehearse({ runbook, sourceUrl: src.url, samplePct: 10 });
    expect(r.warnings.filter((w) => !/never analyzed/.test(w) && !/^projection: /.test(w))).toEqual([]);
    // The sample holds whole key groups of orders_customer_idx (every sampled customer with all of
    // its orders), so its rows per key are the source's: no note, only the kept-shape range.
    const orders = r.clone!.tables.find((t) => t.table === 'orders')!;
    expect(orders.method).toBe('key-groups');
    expect(orders.slices?.index).toBe('orders_customer_idx');
    expect(r.warnings.some((w) => /index orders_customer_idx holds/.test(w))).toBe(false);
    expect(r.projection.high_seconds!).toBeGreaterThan(r.projection.total_seconds);
    expect(r.deploy.status).toBe('completed');
    expect(r.steps.map((s) => s.stepId)).toEqual(['add_column', 'backfill', 'not_null', 'create_index']);
    expect(r.steps.every((s) => s.status === 'completed')).toBe(true);
    const backfill = r.steps.find((s) => s.stepId === 'backfill')!;
    expect(backfill.basis).toBe('rows');
    expect(backfill.rows).toBe(orders.sampleRows);
    expect(backfill.observed.some((l) => l.relation === 'orders' && l.mode === 'RowExclusiveLock')).toBe(true);
    expect(r.steps.find((s) => s.stepId === 'add_column')!.observed.some((l) => l.mode === 'AccessExclusiveLock')).toBe(true);
    expect(r.rollback?.status).toBe('completed');
    expect(r.schemaDiff?.same).toBe(true);
    expect(r.rollbackVerified).toBe(true);
    expect(r.projection.steps.find((s) => s.id === 'backfill')!.seconds).toBeGreaterThan(backfill.sampleSeconds);
    expect(await sourceFingerprint(src.query)).toEqual(before);
  });

  it('drill mode injects a blocker, a long transaction and reports how each was handled', async () => {
    const runbook = await loadOrThrow(FIXTURE);
    const r = await rehearse({ runbook, sourceUrl: src.url, samplePct: 10, drill: true, drillOptions: { longTransactionMs: 1500 } });
    expect(r.deploy.status).toBe('completed');
    expect(r.rollbackVerified).toBe(true);
    const blocker = r.drill!.find((d) => d.fault === 'blocking-transaction')!;
    expect(blocker.injected).toBe(true);
    expect(blocker.stepId).toBe('add_col');
    expect(blocker.metrics.retries).toBeGreaterThanOrEqual(1);
    expect(blocker.metrics.blocked_by_drill).toBe('yes');
    expect(blocker.handled).toMatch(/retried, and completed/);
    const long = r.drill!.find((d) => d.fault === 'long-transaction')!;
    expect(long.injected).toBe(true);
    expect(long.stepId).toBe('idx');
    expect(Number(long.metrics.waiting_phase_ms)).toBeGreaterThan(0);
    const burst = r.drill!.find((d) => d.fault === 'write-burst')!;
    expect(burst.handled).toMatch(/not applicable: no backfill/);
    expect(r.warnings.some((w) => /drill mode/.test(w))).toBe(true);
    expect(rehearsalMarkdown(r)).toContain('## Drill');
  });
});
