// swap_table's verify on real tables: equal tables compare equal over several key ranges, a changed
// row is named by the range it sits in, and a key whose order may change is checked in one snapshot.
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../../support/pg.js';
import { makeRunbook, makeStep, makeTestStepContext } from '../../support/step-context.js';
import { describeForSwap } from '../../../src/steps/ddl/swap-catalog.js';
import { keyOrderChange, verifyShadow } from '../../../src/steps/ddl/swap-verify.js';
import { requireTable } from '../../../src/steps/ddl/ddl-catalog.js';
import type { Settings, StepSpec } from '../../../src/runbook/model.js';
import type { TypeChanges } from '../../../src/steps/ddl/swap-sql.js';

describe('swap_table verify', () => {
  const db = useTestDatabase();

  async function setUp(keyType: string, shadowKeyType: string) {
    await db.query(`drop table if exists live, live_new;
      create table live (id ${keyType} primary key, v text not null);
      create table live_new (id ${shadowKeyType} primary key, v text not null);
      insert into live select g, 'v' || g from generate_series(1, 20000) g;
      insert into live_new select id::${shadowKeyType}, v from live`);
    const step = makeStep('swap_table', {}, { settings: { lockTimeoutMs: 2000, statementTimeoutMs: 0, ddlRetries: 1 } as Settings }) as StepSpec;
    const ctx = await makeTestStepContext({ url: db.url, step, runbook: makeRunbook([step]) });
    const info = await describeForSwap(ctx.pool, await requireTable(ctx.pool, 'live'));
    const changes: TypeChanges = keyType === shadowKeyType ? {} : { id: { type: shadowKeyType } };
    // A 1 ms target keeps the ranges small, so 20,000 rows make many of them.
    const target = { table: '"public"."live"', shadow: '"public"."live_new"', info, changes, targetMs: 1 };
    return { ctx, info, changes, target };
  }

  it('compares equal tables over several key ranges', async () => {
    const { ctx, target } = await setUp('integer', 'bigint');
    try {
      const v = await verifyShadow(ctx, target);
      expect(v.whole).toBeUndefined();
      expect(v.mismatch).toBeUndefined();
      expect(v.rows).toEqual([20000n, 20000n]);
      expect(v.hashes[0]).toBe(v.hashes[1]);
      expect(v.ranges).toBeGreaterThan(3);
    } finally {
      await ctx.close();
    }
  });

  it('names the key range of a row that differs', async () => {
    const { ctx, target } = await setUp('integer', 'bigint');
    try {
      await db.query(`update live_new set v = 'changed' where id = 12345`);
      const v = await verifyShadow(ctx, target);
      expect(v.rows).toEqual([20000n, 20000n]);
      expect(v.hashes[0]).not.toBe(v.hashes[1]);
      const { after, upTo } = v.mismatch!;
      expect(Number(after?.[0] ?? 0)).toBeLessThan(12345);
      expect(upTo === null || Number(upTo[0]) >= 12345).toBe(true);
      // A missing row shows in the counts of its range too.
      await db.query(`update live_new set v = 'v12345' where id = 12345; delete from live_new where id = 7`);
      const gone = await verifyShadow(ctx, target);
      expect(gone.rows).toEqual([20000n, 19999n]);
      expect(gone.mismatch?.after).toBeNull();
      expect(Number(gone.mismatch?.upTo?.[0])).toBeGreaterThanOrEqual(7);
    } finally {
      await ctx.close();
    }
  });

  it('checks in one snapshot when the key type change may reorder the keys', async () => {
    const { ctx, info, target } = await setUp('integer', 'text');
    try {
      expect(keyOrderChange(info, { id: { type: 'bigint' } })).toBeNull();
      expect(keyOrderChange(info, { id: { type: 'numeric(12)' } })).toBeNull();
      expect(keyOrderChange(info, { id: { type: 'bigint', using: 'id * -1' } })).toMatch(/through using/);
      const v = await verifyShadow(ctx, target);
      expect(v.whole).toMatch(
        /^the key column id changes from integer to text, so key ranges of the two tables need not hold the same rows$/,
      );
      expect(v.ranges).toBe(1);
      expect(v.mismatch).toBeUndefined();
      await db.query(`delete from live_new where id = '19999'`);
      expect((await verifyShadow(ctx, target)).mismatch).toEqual({ after: null, upTo: null });
    } finally {
      await ctx.close();
    }
  });
});
