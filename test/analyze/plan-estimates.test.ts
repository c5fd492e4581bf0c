// Every step kind that reads or moves rows gets a size-based estimate with its basis and a band
// from plan: never "instant" for a backfill, a validation scan, an index build or a swap copy. The
// backfill and the swap copy are timed on sample batches (rolled back, nothing left behind) and run
// through the engine's tuner. Real PostgreSQL, the bench's table and runbook (plan-estimates-fixture.ts).
// Estimate against real time: plan-estimates-real.test.ts (150,000 rows) and bench/plan-estimates.ts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/analyze/plan/build.js';
import { estimateText } from '../../src/analyze/plan/estimate.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';
import { loadOrThrow } from '../support/runbook.js';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { ESTIMATED_STEPS, estimatesRunbook, seedOrders } from './plan-estimates-fixture.js';

const ROWS = 30_000;

describe.each(edgeMajors())('plan estimates for every row-moving kind, PostgreSQL %i', (major) => {
  const db = useTestDatabase(major);

  it('gives each a size-based estimate with a basis and a band, timing batches without changing anything', async () => {
    await seedOrders({ query: (sql) => db.query(sql) }, ROWS);
    const file = join(mkdtempSync(join(tmpdir(), 'pgrunbook-estimates-')), 'kinds.yaml');
    writeFileSync(file, estimatesRunbook({ lockTimeoutSeconds: 2, ddlRetries: 2 }));
    const plan = await buildPlan({ kinds: STEP_KINDS, runbook: await loadOrThrow(file), pool: db.pool, phases: ['deploy'] });
    expect(plan.steps.map((s) => s.kind)).toEqual(ESTIMATED_STEPS.map((s) => s.kind));
    for (const s of plan.steps) {
      const why = `${s.kind}: ${JSON.stringify({ error: s.error, notes: s.notes, estimate: s.estimate })}`;
      expect(s.error, why).toBeUndefined();
      const e = s.estimate!;
      expect(e, why).toBeDefined();
      expect(e.seconds, why).toBeGreaterThan(0);
      expect(e.low, why).toBeGreaterThan(0);
      expect(e.low, why).toBeLessThan(e.seconds);
      expect(e.high, why).toBeGreaterThan(e.seconds);
      expect(e.basis.length, why).toBeGreaterThan(20);
      expect(e.basis, why).not.toBe('sum of its parts');
      expect(estimateText(e), why).not.toMatch(/instant/);
    }
    const fill = plan.steps.find((s) => s.kind === 'backfill')!;
    expect(fill.estimate!.basis).toMatch(
      /^6 timed UPDATE batches \(rolled back, at random key ranges\): .* per key.*to open each batch; the engine's tuner/,
    );
    expect(fill.estimate!.basis).toMatch(/~30,000 keys take ~[\d,]+ batches/);
    const copy = plan.steps.find((s) => s.kind === 'swap_table')!.work!.find((w) => w.work === 'copy')!;
    expect(copy.estimate!.basis).toMatch(/^6 timed copy batches \(rolled back, at random key ranges\): /);
    expect(copy.estimate!.basis).not.toMatch(/assumed/);
    // The steps before the swap add row versions, a check, a key and an index to orders first: the sample replays them.
    expect(copy.estimate!.basis).toMatch(
      /the sample replays what earlier steps do to .*orders.* first: the backfill of fill \(.*\); the check of chk; the foreign key of fk \(a per-row lookup of customers FOR KEY SHARE stands in for its check\); the index of idx$/,
    );
    const swap = plan.steps.find((s) => s.kind === 'swap_table')!;
    expect(swap.work!.map((w) => w.description)).toContain('VALIDATE on the shadow of the foreign key fk adds first');
    // The copy's recipe (its SQL) stays out of the plan's JSON.
    expect(JSON.stringify(plan)).not.toMatch(/pgrunbook_sample/);
    // Nothing the samples did is left behind.
    expect(await db.query(`SELECT count(*)::int AS n FROM orders WHERE note IS NOT NULL`)).toEqual([{ n: 0 }]);
    expect(await db.query(`SELECT count(*)::int AS n FROM pg_class WHERE relname LIKE '%pgrunbook_sample%'`)).toEqual([{ n: 0 }]);
    expect(await db.query(`SELECT count(*)::int AS n FROM pg_proc WHERE proname LIKE 'pgrunbook_sample%'`)).toEqual([{ n: 0 }]);

    // A foreign key the table has already: the sample stands in for its check too, and the swap validates it on the shadow.
    await db.query('ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)');
    writeFileSync(file, estimatesRunbook({ lockTimeoutSeconds: 2, ddlRetries: 2, only: ['swap'] }));
    const alone = await buildPlan({ kinds: STEP_KINDS, runbook: await loadOrThrow(file), pool: db.pool, phases: ['deploy'] });
    const swapAlone = alone.steps[0]!;
    const copyAlone = swapAlone.work!.find((w) => w.work === 'copy')!;
    expect(copyAlone.estimate!.basis).toMatch(
      /the sample replays the check of the foreign key orders_customer_fk \(a per-row lookup of public\.customers FOR KEY SHARE stands in for it\)$/,
    );
    expect(swapAlone.work!.map((w) => w.description)).toContain('VALIDATE on orders_new of its foreign key orders_customer_fk');
    expect(await db.query(`SELECT count(*)::int AS n FROM pg_proc WHERE proname LIKE 'pgrunbook_sample%'`)).toEqual([{ n: 0 }]);
  });
});
