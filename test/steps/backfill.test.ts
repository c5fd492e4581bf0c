// The `backfill` step kind: registration, validation, plan (offline and live), timing one batch in a
// rolled-back transaction, verify, reconcile and rollback.
import { describe, expect, it } from 'vitest';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { makeRunbook, makeStep, makeTestStepContext } from '../support/step-context.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';
import { backfill } from '../../src/steps/backfill.js';
import { timeOneBatch } from '../../src/backfill/time-one-batch.js';
import { createStateSchema, counterHistogram } from '../backfill/helpers.js';

describe('backfill step kind (offline)', () => {
  it('is registered, with set / where as SQL fragments', () => {
    expect(STEP_KINDS.get('backfill')).toBe(backfill);
    expect(backfill.sqlFragmentFields).toEqual(['set', 'where']);
  });

  it('validate reports fragments that would change the generated statement', async () => {
    const bad = makeStep('backfill', { table: 't', set: 'a = 1', where: 'x) OR (true' });
    const problems = await backfill.validate!(bad, { runbook: makeRunbook([bad]), step: bad });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/where.*not valid SQL/);
    const good = makeStep('backfill', { table: 't', set: 'a = 1', where: 'a IS NULL' });
    expect(await backfill.validate!(good, { runbook: makeRunbook([good]), step: good })).toEqual([]);
  });

  it('plans offline with placeholders, RowExclusiveLock, and no rollback unless given', async () => {
    const step = makeStep('backfill', { table: 'app.orders', set: 'amount_cents = (amount * 100)::bigint', where: 'amount_cents IS NULL' });
    const plan = await backfill.plan(step, { runbook: makeRunbook([step]) });
    expect(plan.locks).toEqual([{ relation: 'app.orders', mode: 'RowExclusiveLock' }]);
    expect(plan.reversible).toBe(false);
    expect(plan.irreversibleReason).toMatch(/overwrites/);
    expect(plan.statements[0]!.sql).toMatch(/UPDATE "app"."orders" SET amount_cents = \(amount \* 100\)::bigint/);
    expect(plan.statements[0]!.sql).toMatch(/\$1: last key done, exclusive \(primary key\)/);
    expect(plan.statements[0]!.sql).toMatch(
      /\$3: the new cursor\n-- {3}\$4: keys in the range\n-- {3}\$5: batch size\n-- {3}\$6: run id\n-- {3}\$7: step id/,
    );
    expect(plan.notes.join('\n')).toMatch(/offline plan/);
    expect(backfill.defaultGate!(step, plan)).toBe('type');
    const withRollback = makeStep('backfill', { table: 't', set: 'a = 1' }, { rollback: 'UPDATE t SET a = NULL' });
    const p2 = await backfill.plan(withRollback, { runbook: makeRunbook([withRollback]) });
    expect(p2.reversible).toBe(true);
    expect(backfill.defaultGate!(withRollback, p2)).toBe('confirm');
  });
});

describe.each(edgeMajors())('backfill step kind on PostgreSQL %i', (major) => {
  const db = useTestDatabase(major);

  it('plans against the live table: key, estimates, batch SQL with placeholders explained', async () => {
    await db.query(
      `create table orders (tenant int, id uuid default gen_random_uuid(), amount numeric, amount_cents bigint, primary key (tenant, id))`,
    );
    await db.query(`insert into orders (tenant, amount) select g % 10, g from generate_series(1, 5000) g`);
    await db.query('analyze orders');
    const step = makeStep('backfill', { table: 'orders', set: 'amount_cents = (amount * 100)::bigint', where: 'amount_cents IS NULL' });
    const plan = await backfill.plan(step, { runbook: makeRunbook([step]), db: db.pool });
    const sql = plan.statements[0]!.sql;
    expect(sql).toMatch(/\$1: last key done, exclusive \(tenant\)\n-- {3}\$2: last key done, exclusive \(id\)/);
    expect(sql).toMatch(/\$4: last key of this batch, inclusive \(id\)/);
    expect(sql).toMatch(/\("tenant", "id"\) > \(\$1::integer, \$2::uuid\) AND \("tenant", "id"\) <= \(\$3::integer, \$4::uuid\)/);
    expect(sql).toMatch(/UPDATE pgrunbook.backfill_cursors/);
    const notes = plan.notes.join('\n');
    expect(notes).toMatch(/primary key \(tenant integer, id uuid\)/);
    expect(notes).toMatch(/about 5,000 rows in public.orders/);
    expect(notes).toMatch(/not monotonic/);
    expect(plan.locks).toEqual([{ relation: 'public.orders', mode: 'RowExclusiveLock' }]);
  });

  it('times one real batch in a transaction that is rolled back', async () => {
    await db.query(`create table timed (id bigint primary key, counter int not null default 0)`);
    await db.query(`insert into timed select g from generate_series(1, 3000) g`);
    const step = makeStep('backfill', { table: 'timed', set: 'counter = counter + 1', batch_size: 1200 });
    const t = await timeOneBatch(db.pool, step, 170000);
    expect(t.rows).toBe(1200);
    expect(t.batchSize).toBe(1200);
    expect(t.ms).toBeGreaterThan(0);
    expect(await counterHistogram(db, 'timed')).toEqual({ '0': 3000 });
    expect(
      (
        await db.query(
          `select count(*)::int as n from pg_stat_activity where state like 'idle in transaction%' and datname = current_database()`,
        )
      )[0].n,
    ).toBe(0);
  });

  it('verify gives gate evidence, reconcile reads the cursor, apply reports evidence, rollback runs the given SQL', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table vr (id bigint primary key, counter int not null default 0)`);
    await db.query(`insert into vr select g from generate_series(1, 1000) g`);
    await db.query('analyze vr');
    const step = makeStep(
      'backfill',
      { table: 'vr', set: 'counter = counter + 1', where: 'counter = 0' },
      { id: 'vr_fill', rollback: 'UPDATE vr SET counter = counter - 1' },
    );
    const ctx = await makeTestStepContext({ url: db.url, step, runId: 'run-vr' });
    try {
      expect(await backfill.reconcile!(step, ctx)).toEqual({ found: 'not-done', detail: expect.stringMatching(/no backfill cursor/) });
      const before = await backfill.verify!(step, ctx);
      expect(before).toEqual([
        { label: 'primary key (cursor)', value: 'id bigint', ok: true },
        { label: 'rows in table (estimate)', value: 1000, detail: expect.any(String) },
        { label: 'rows matching where (estimate)', value: expect.any(Number), detail: expect.stringMatching(/block sample match/) },
        { label: 'saved cursor', value: 'none', detail: expect.any(String) },
      ]);
      expect(before.some((e) => e.ok === false)).toBe(false);
      await backfill.apply(step, ctx);
      const done = await backfill.reconcile!(step, ctx);
      expect(done.found).toBe('done');
      expect(done.detail).toMatch(/finished: 1000 rows/);
      const evidence = ctx.events.flatMap((e) => (e.type === 'step.evidence' ? e.evidence : []));
      expect(evidence).toContainEqual({ label: 'rows updated', value: 1000, detail: expect.stringMatching(/batches/) });
      expect(evidence).toContainEqual({ label: 'backfill pass', value: 'done', ok: true });
      expect((await backfill.verify!(step, ctx)).at(-1)).toMatchObject({ label: 'saved cursor', value: 'done', ok: true });
      await backfill.rollback!(step, ctx);
      expect(await counterHistogram(db, 'vr')).toEqual({ '0': 1000 });
    } finally {
      await ctx.close();
    }
  });

  it('rollback without rollback: SQL leaves the values, warns, and lets the rollback phase go on', async () => {
    const step = makeStep('backfill', { table: 'nowhere', set: 'x = 1' }, { id: 'fill_nr', phase: 'deploy' });
    const ctx = await makeTestStepContext({ url: db.url, step });
    await expect(backfill.rollback!(step, ctx)).resolves.toBeUndefined();
    expect(ctx.events.find((e) => e.type === 'step.log')).toMatchObject({
      level: 'warn',
      message: expect.stringMatching(/no rollback: SQL; the values it wrote stay/),
    });
    await ctx.close();
  });

  it('refuses clearly: no primary key, missing table, missing state schema', async () => {
    await db.query(`create table nopk (a int)`);
    const ctxFor = async (params: any) => {
      const step = makeStep('backfill', params);
      return { step, ctx: await makeTestStepContext({ url: db.url, step }) };
    };
    for (const [params, re, hint] of [
      [{ table: 'nopk', set: 'a = 1' }, /has no primary key/, /unique index CONCURRENTLY/],
      [{ table: 'nothere', set: 'a = 1' }, /does not exist/, /schema-qualify/],
      [{ table: 'nopk', set: 'a = 1 FROM x' }, /assignments only/, /nothing was run/],
    ] as const) {
      const { step, ctx } = await ctxFor(params);
      try {
        const err: any = await backfill.apply(step, ctx).catch((e) => e);
        expect(err.message).toMatch(re);
        expect(err.hint).toMatch(hint);
      } finally {
        await ctx.close();
      }
    }
    const fresh = await (await import('../support/pg.js')).createDatabase(major);
    try {
      const pg = (await import('pg')).default;
      const c = new pg.Client(fresh.url);
      await c.connect();
      await c.query(`create table t (id int primary key, counter int default 0)`);
      await c.end();
      const step = makeStep('backfill', { table: 't', set: 'counter = 1' });
      const ctx = await makeTestStepContext({ url: fresh.url, step });
      try {
        const err: any = await backfill.apply(step, ctx).catch((e) => e);
        expect(err.message).toMatch(/state tables are missing/);
        expect(err.hint).toMatch(/pgrunbook run/);
      } finally {
        await ctx.close();
      }
    } finally {
      await fresh.drop();
    }
  });
});
