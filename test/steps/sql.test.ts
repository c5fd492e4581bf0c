import { afterEach, describe, expect, it } from 'vitest';
import { sqlKind } from '../../src/steps/sql.js';
import { makeRunbook, makeStep, makeTestStepContext, type TestStepContext } from '../support/step-context.js';
import { useTestDatabase } from '../support/pg.js';

const db = useTestDatabase();
let ctx: TestStepContext | undefined;
afterEach(async () => {
  await ctx?.close();
  ctx = undefined;
});

describe('sql step', () => {
  it('runs multi-statement SQL, non-transactional statements on their own', async () => {
    await db.query('CREATE TABLE orders (id int primary key, amount int)');
    await db.query('INSERT INTO orders SELECT g, g FROM generate_series(1, 10) g');
    const sql =
      'ALTER TABLE orders ADD COLUMN amount_cents bigint;\nUPDATE orders SET amount_cents = amount * 100;\nCREATE INDEX CONCURRENTLY orders_cents_idx ON orders (amount_cents);';
    const step = makeStep('sql', sql, {
      rollback: 'DROP INDEX CONCURRENTLY orders_cents_idx; ALTER TABLE orders DROP COLUMN amount_cents',
    });
    ctx = await makeTestStepContext({ url: db.url, step });
    const result = (await sqlKind.apply(step, ctx)) as { statements: { command: string; rowCount: number | null }[] };
    expect(result.statements.map((s) => s.command)).toEqual(['ALTER', 'UPDATE', 'CREATE']);
    expect(result.statements[1]!.rowCount).toBe(10);
    const [row] = await db.query(
      `SELECT sum(amount_cents)::int AS s, (SELECT indisvalid FROM pg_index WHERE indexrelid = 'orders_cents_idx'::regclass) AS valid FROM orders`,
    );
    expect(row).toEqual({ s: 5500, valid: true });
    expect(ctx.events.filter((e) => e.type === 'step.sql').map((e) => (e as any).ok)).toEqual([true, true, true]);
  });

  it('plans statements, transactionality, obvious locks and reversibility', async () => {
    const step = makeStep(
      'sql',
      'ALTER TABLE app.orders ADD COLUMN c int; CREATE INDEX CONCURRENTLY i ON app.orders (c); UPDATE t SET a = 1; ALTER TABLE t VALIDATE CONSTRAINT c_chk; LOCK TABLE u IN SHARE MODE; VACUUM v',
    );
    const plan = await sqlKind.plan(step, { runbook: makeRunbook([step]) });
    expect(plan.statements.map((s) => s.transactional)).toEqual([true, false, true, true, true, false]);
    expect(plan.locks).toEqual([
      { relation: 'app.orders', mode: 'AccessExclusiveLock' },
      { relation: 't', mode: 'ShareUpdateExclusiveLock' },
      { relation: 'u', mode: 'ShareLock' },
      { relation: 'v', mode: 'ShareUpdateExclusiveLock' },
    ]);
    expect(plan.reversible).toBe(false);
    expect(plan.irreversibleReason).toMatch(/no rollback/);
    expect(plan.notes.join('\n')).toMatch(/CREATE INDEX CONCURRENTLY .* outside a transaction/);
    const withRollback = makeStep('sql', 'SELECT 1', { rollback: 'SELECT 2' });
    expect((await sqlKind.plan(withRollback, { runbook: makeRunbook([withRollback]) })).reversible).toBe(true);
  });

  it('plans with the analyzer: rewrites, full scans and the lock of each ALTER TABLE form', async () => {
    const step = makeStep(
      'sql',
      'ALTER TABLE t ADD COLUMN d timestamptz DEFAULT clock_timestamp(); ALTER TABLE u ALTER COLUMN a SET NOT NULL; ALTER TABLE w SET (fillfactor = 90)',
    );
    const plan = await sqlKind.plan(step, { runbook: makeRunbook([step]), serverVersionNum: 170000 });
    const notes = plan.notes.join('\n');
    expect(notes).toMatch(/ALTER TABLE t .*rewrites/);
    expect(notes).toMatch(/ALTER TABLE u .*reads .*u.* in full/);
    expect(plan.locks).toContainEqual({ relation: 'w', mode: 'ShareUpdateExclusiveLock' });
    expect(plan.locks).toContainEqual({ relation: 't', mode: 'AccessExclusiveLock' });
  });

  it('rolls a failing transaction back and reports the error', async () => {
    await db.query('CREATE TABLE t_fail (a int)');
    const step = makeStep('sql', 'INSERT INTO t_fail VALUES (1); INSERT INTO missing_table VALUES (2)');
    ctx = await makeTestStepContext({ url: db.url, step });
    await expect(sqlKind.apply(step, ctx)).rejects.toThrow(/relation "missing_table" does not exist/);
    expect(await db.query('SELECT * FROM t_fail')).toEqual([]);
  });
});
