// Drill faults on a table whose name needs quoting (mixed case and a reserved word): every fault
// is injected, on the right table.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { rehearse, STEP_KINDS } from '../../src/cli/composition-root.js';
import { loadRunbookText } from '../../src/runbook/load.js';
import { loadOrThrow } from '../support/runbook.js';
import { useSourceDatabase } from './support.js';

const SHIPPED = fileURLToPath(new URL('../../runbooks/add-column-backfill.yaml', import.meta.url));

describe('drill on a quoted table name', () => {
  const src = useSourceDatabase(async (q) => {
    await q(`create table "Order" (id bigserial primary key, amount numeric(12,2) not null)`);
    await q(`insert into "Order" (amount) select (g % 1000) / 10.0 from generate_series(1, 20000) g`);
    await q(`analyze "Order"`);
  });

  it('"Order": the blocker, the long transaction and the write burst are all injected', async () => {
    const runbook = await loadOrThrow(SHIPPED, { table: '"Order"' });
    const r = await rehearse({ runbook, sourceUrl: src.url, samplePct: 20, drill: true, drillOptions: { longTransactionMs: 1000 } });
    expect(r.deploy.status, `${r.deploy.error ?? ''} ${JSON.stringify(r.drill)}`).toBe('completed');
    const byFault = Object.fromEntries(r.drill!.map((d) => [d.fault, d]));
    for (const fault of ['blocking-transaction', 'long-transaction', 'write-burst']) {
      expect(byFault[fault], JSON.stringify(r.drill)).toMatchObject({ injected: true });
    }
    expect(byFault['blocking-transaction']!.what).toMatch(/on Order\b/);
    // The burst's inserts fill the new column, as the runbook asks of the application: one committed
    // after the backfill's last catch-up pass would otherwise fail not_null, depending on timing alone.
    expect(byFault['write-burst']!.what).toMatch(/inserts when the key has a default that set the backfilled columns/);
  }, 120_000);

  it('"Order" from plain sql steps (the plan names the raw relation): blocker and long transaction injected', async () => {
    const runbook = await loadRunbookText(
      `version: 1
name: quoted-sql
settings: { lock_timeout: 1s, ddl_retries: 5 }
phases:
  deploy:
    - id: add_col
      sql: ALTER TABLE "Order" ADD COLUMN note text
      rollback: ALTER TABLE "Order" DROP COLUMN note
    - id: idx
      sql: CREATE INDEX CONCURRENTLY order_note_idx ON "Order" (note)
      rollback: DROP INDEX CONCURRENTLY order_note_idx
`,
      'quoted-sql.yaml',
      { kinds: STEP_KINDS },
    );
    expect(runbook.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const r = await rehearse({
      runbook: runbook.runbook!,
      sourceUrl: src.url,
      samplePct: 20,
      drill: true,
      drillOptions: { longTransactionMs: 1000 },
    });
    const byFault = Object.fromEntries(r.drill!.map((d) => [d.fault, d]));
    expect(byFault['blocking-transaction'], JSON.stringify(r.drill)).toMatchObject({ injected: true, stepId: 'add_col' });
    expect(byFault['long-transaction'], JSON.stringify(r.drill)).toMatchObject({ injected: true, stepId: 'idx' });
  }, 120_000);
});
