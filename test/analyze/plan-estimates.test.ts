// Every step kind that reads or moves rows gets a size-based estimate with its basis and a band
// from plan: never "instant" for a backfill, a validation scan, an index build or a swap copy.
// Real PostgreSQL (the estimates come from the table's size and a measured read rate).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/analyze/plan/build.js';
import { estimateText } from '../../src/analyze/plan/estimate.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';
import { loadOrThrow } from '../support/runbook.js';
import { useTestDatabase } from '../support/pg.js';

const RUNBOOK = `version: 1
name: every row-moving kind
phases:
  deploy:
    - id: fill
      backfill: { table: orders, set: "note = 'n' || id", where: "note IS NULL" }
    - id: nn
      not_null: { table: orders, column: amount }
    - id: chk
      add_check: { table: orders, name: orders_amount_nonneg, expression: "amount >= 0" }
    - id: fk
      add_foreign_key: { table: orders, columns: [customer_id], references: { table: customers, columns: [id] } }
    - id: idx
      create_index: { table: orders, columns: [status] }
    - id: swap
      swap_table: { table: orders, columns: [{ name: amount, type: "numeric(14,2)" }] }
`;

describe('plan estimates for every row-moving kind', () => {
  const db = useTestDatabase();

  it('gives each a size-based estimate with a basis and a band', async () => {
    await db.query(`
      CREATE TABLE customers (id int PRIMARY KEY);
      INSERT INTO customers SELECT generate_series(1, 100);
      CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, amount numeric(12,2), status text, note text);
      INSERT INTO orders SELECT g, 1 + g % 100, g % 500, 'new', NULL FROM generate_series(1, 30000) g;
      ANALYZE`);
    const file = join(mkdtempSync(join(tmpdir(), 'pgrunbook-estimates-')), 'kinds.yaml');
    writeFileSync(file, RUNBOOK);
    const plan = await buildPlan({ kinds: STEP_KINDS, runbook: await loadOrThrow(file), pool: db.pool, phases: ['deploy'] });
    const kinds = ['backfill', 'not_null', 'add_check', 'add_foreign_key', 'create_index', 'swap_table'];
    expect(plan.steps.map((s) => s.kind)).toEqual(kinds);
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
  });
});
