import { describe, it, expect, beforeEach } from 'vitest';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { batchedDelete } from '../../src/steps/batched-delete.js';
import { backfillSchemaSql } from '../../src/backfill/cursor-store.js';
import { harness, holdLock, eventsOf } from './ddl/helpers.js';
import { loadRunbookText } from '../../src/runbook/load.js';
import { formatProblem } from '../../src/runbook/model.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';

describe('batched_delete (offline)', () => {
  it('refuses a where that is not one condition, and is irreversible without rollback:', async () => {
    const text = (where: string) =>
      `version: 1\nname: d\nphases:\n  deploy:\n    - id: d\n      batched_delete: { table: t, where: ${JSON.stringify(where)} }\n`;
    const problems = async (where: string) =>
      (await loadRunbookText(text(where), 'd.yaml', { kinds: STEP_KINDS })).problems.map(formatProblem).join('\n');
    expect(await problems("created_at < now() - interval '1 year'")).toBe('');
    expect(await problems('x) OR (true')).toMatch(/d\.yaml:5:7: .*d: /);
  });
});

for (const major of edgeMajors()) {
  describe(`batched_delete on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    beforeEach(async () => {
      await db.query(`CREATE SCHEMA IF NOT EXISTS pgrunbook; ${backfillSchemaSql}`);
      await db.query(`DROP TABLE IF EXISTS logs; CREATE TABLE logs (id bigserial PRIMARY KEY, kind text NOT NULL)`);
      await db.query(`INSERT INTO logs (kind) SELECT CASE WHEN g % 3 = 0 THEN 'keep' ELSE 'old' END FROM generate_series(1, 20000) g`);
      await db.query('ANALYZE logs');
    });

    it('deletes the matching rows in batches, steps around a held row lock and deletes it later; rows added after the start stay', async () => {
      const h = await harness(batchedDelete, { table: 'logs', where: "kind = 'old'", batch_size: 1000 }, { url: db.url, id: 'purge' });
      expect(batchedDelete.defaultGate!(h.step, h.plan)).toBe('type');
      expect(h.plan.statements[0]!.sql).toMatch(
        /DELETE FROM "public"."logs"\s+WHERE \("id"\) > \(\$1::bigint\) AND \("id"\) <= \(\$2::bigint\) AND \(kind = 'old'/,
      );
      expect(h.plan.locks).toEqual([{ relation: 'public.logs', mode: 'RowExclusiveLock' }]);
      const holder = await holdLock(db.url, `SELECT 1 FROM logs WHERE id = 5000 FOR UPDATE`);
      setTimeout(() => void holder.release(), 1500);
      const run = batchedDelete.apply(h.step, h.ctx);
      // Once the start bound is saved, a new row above it is not the delete's business.
      for (let i = 0; i < 200; i++) {
        const cur = await db.query(`select upper_bound from pgrunbook.backfill_cursors where step_id = 'purge'`);
        if (cur[0]?.upper_bound) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      await db.query(`INSERT INTO logs (id, kind) VALUES (30001, 'old')`);
      const result = (await run) as { rowsDone: number; skippedRows: number };
      const expectedDeleted = 20000 - Math.floor(20000 / 3);
      expect(result.rowsDone).toBe(expectedDeleted);
      expect(result.skippedRows).toBeGreaterThanOrEqual(1);
      expect(await db.query(`select kind, count(*)::int n from logs group by kind order by kind`)).toEqual([
        { kind: 'keep', n: Math.floor(20000 / 3) },
        { kind: 'old', n: 1 }, // the row inserted after the start, above the bound
      ]);
      expect(await db.query(`select pass, rows_done::int from pgrunbook.backfill_cursors where step_id = 'purge'`)).toEqual([
        { pass: 'done', rows_done: expectedDeleted },
      ]);
      expect(eventsOf(h.ctx, 'step.evidence')[0].evidence).toContainEqual(
        expect.objectContaining({ label: 'rows deleted', value: expectedDeleted }),
      );
      expect(await batchedDelete.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'done' });
      await h.ctx.close();
    });

    it('stopped in the middle, then resumed: continues from the cursor and counts every row once', async () => {
      const h = await harness(batchedDelete, { table: 'logs', batch_size: 500, pause: '30ms' }, { url: db.url, id: 'wipe', state: {} });
      const run = batchedDelete.apply(h.step, h.ctx);
      for (let i = 0; i < 200; i++) {
        const cur = await db.query(`select rows_done::int n from pgrunbook.backfill_cursors where step_id = 'wipe'`);
        if (cur[0]?.n >= 3000) break;
        await new Promise((r) => setTimeout(r, 30));
      }
      h.ctx.abort.abort();
      await run.catch(() => {});
      const mid = (await db.query(`select count(*)::int n from logs`))[0].n;
      expect(mid).toBeGreaterThan(0);
      expect(mid).toBeLessThan(20000);
      expect(await batchedDelete.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'not-done' });
      const again = await harness(batchedDelete, h.step.params, { url: db.url, id: 'wipe' });
      // Same run id: the resumed step reads the cursor the first attempt committed.
      Object.assign(again.ctx, { runId: h.ctx.runId });
      const result = (await batchedDelete.apply(again.step, again.ctx)) as { rowsDone: number; resumed: boolean };
      expect(result.resumed).toBe(true);
      expect(result.rowsDone).toBe(20000);
      expect(await db.query(`select count(*)::int n from logs`)).toEqual([{ n: 0 }]);
      await h.ctx.close();
      await again.ctx.close();
    });

    it('workers: 2 deletes in two key ranges; stopped with both half done and resumed, every row is counted once', async () => {
      const params = { table: 'logs', where: "kind = 'old'", batch_size: 300, pause: '20ms', workers: 2 as const };
      const h = await harness(batchedDelete, params, { url: db.url, id: 'split', state: {} });
      const run = batchedDelete.apply(h.step, h.ctx);
      const done = async () =>
        (
          await db.query(`select (select rows_done::int from pgrunbook.backfill_cursors where step_id = 'split') a,
                                 (select rows_done::int from pgrunbook.backfill_ranges where step_id = 'split') b`)
        )[0];
      for (let i = 0; i < 500; i++) {
        const d = await done();
        if (d.a >= 1500 && d.b >= 1500) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      h.ctx.abort.abort();
      await run.catch(() => {});
      const mid = await done();
      expect(mid.a).toBeGreaterThan(0);
      expect(mid.b).toBeGreaterThan(0);
      const expectedDeleted = 20000 - Math.floor(20000 / 3);
      // What both ranges counted is what is gone.
      expect((await db.query(`select count(*)::int n from logs where kind = 'old'`))[0].n).toBe(expectedDeleted - mid.a - mid.b);
      const again = await harness(batchedDelete, params, { url: db.url, id: 'split' });
      Object.assign(again.ctx, { runId: h.ctx.runId });
      const result = (await batchedDelete.apply(again.step, again.ctx)) as { rowsDone: number; resumed: boolean };
      expect(result.resumed).toBe(true);
      expect(result.rowsDone).toBe(expectedDeleted);
      expect(await db.query(`select kind, count(*)::int n from logs group by kind`)).toEqual([{ kind: 'keep', n: Math.floor(20000 / 3) }]);
      expect(await db.query(`select count(*)::int n from pgrunbook.backfill_ranges where step_id = 'split'`)).toEqual([{ n: 0 }]);
      expect(eventsOf(h.ctx, 'step.log').some((e: { message: string }) => e.message.startsWith('main pass cut at key'))).toBe(true);
      await h.ctx.close();
      await again.ctx.close();
    });
  });
}
