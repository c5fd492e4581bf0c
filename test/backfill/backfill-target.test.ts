// What the backfill reads about its table before it starts, on real PostgreSQL: the rows its
// `where:` matches. A column an earlier step just added has no statistics, and the planner's guess
// for `col IS NULL` there is a default share (0.5%); a block sample counts what really matches.
import { describe, expect, it } from 'vitest';
import { estimateMatching, introspectTable } from '../../src/backfill/backfill-target.js';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { backfill } from '../../src/steps/backfill.js';
import { makeStep, makeTestStepContext } from '../support/step-context.js';

describe.each(edgeMajors())('the rows a backfill matches, on PostgreSQL %i', (major) => {
  const db = useTestDatabase(major);

  it('counts a new column IS NULL in a block sample, where the planner guesses a fraction; the gate shows the basis', async () => {
    await db.query(`create table fresh (id bigint primary key, amount int not null)`);
    await db.query(`insert into fresh select g, g % 100 from generate_series(1, 200000) g`);
    await db.query('analyze fresh');
    await db.query('alter table fresh add column amount_cents bigint');
    const info = await introspectTable(db.pool, 'fresh');
    const planner = await db.pool.query(`explain (format json) select 1 from fresh where amount_cents is null`);
    // What the estimate used to be: the planner's default share, far from the 200,000 that match.
    expect(planner.rows[0]['QUERY PLAN'][0].Plan['Plan Rows']).toBeLessThan(20_000);
    const all = await estimateMatching(db.pool, info, 'amount_cents is null');
    expect(all!.rows).toBe(info.estimatedRows);
    expect(all!.basis).toMatch(/^[\d,]+ of [\d,]+ rows in a [\d.]+% block sample match, of ~200,000 rows$/);
    // A share of the rows: within the sample's error of the true 30%.
    const some = await estimateMatching(db.pool, info, 'amount < 30');
    expect(some!.rows).toBeGreaterThan(45_000);
    expect(some!.rows).toBeLessThan(75_000);
    // A where the sample cannot run falls back to nothing rather than failing.
    expect(await estimateMatching(db.pool, info, 'no_such_column is null')).toBeNull();

    // The gate's evidence before the backfill step: the sampled figure and its basis.
    const step = makeStep('backfill', { table: 'fresh', set: 'amount_cents = amount * 100', where: 'amount_cents is null' });
    const ctx = await makeTestStepContext({ url: db.url, step });
    try {
      const evidence = await backfill.verify!(step, ctx);
      expect(evidence.find((e) => e.label === 'rows matching where (estimate)')).toMatchObject({
        value: info.estimatedRows,
        detail: expect.stringMatching(/block sample match/),
      });
    } finally {
      await ctx.close();
    }
  });
});
