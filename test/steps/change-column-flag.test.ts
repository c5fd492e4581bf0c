// change_column with `flag`: after the backfill the step switches reads itself (the flag to 100,
// read back) and its rollback sets the flag back to what it was before the run, before dropping the
// new column. Real PostgreSQL (the postgres backend) on the edge majors, and a real redis-server.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openFlagBackend } from '../../src/flags/open-flag-backend.js';
import { RedisFlags } from '../../src/flags/redis.js';
import { changeColumnKind } from '../../src/steps/change-column.js';
import { findRedisServer, type RedisHandle, startRedis } from '../flags/redis-server.js';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { eventsOf, harness } from './ddl/helpers.js';

const changeColumn = changeColumnKind(openFlagBackend);
const SETUP = `
  DROP TABLE IF EXISTS items CASCADE;
  CREATE SCHEMA IF NOT EXISTS pgrunbook; ${changeColumn.stateSql};
  CREATE TABLE items (id bigserial PRIMARY KEY, qty int NOT NULL DEFAULT 1);
  INSERT INTO items (qty) SELECT g FROM generate_series(1, 3000) g;
`;
const logs = (ctx: Parameters<typeof eventsOf>[0]) => eventsOf(ctx, 'step.log').map((e) => e.message as string);

for (const major of edgeMajors()) {
  describe(`change_column switching reads behind a postgres flag, PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    beforeEach(async () => db.query(`${SETUP} DROP TABLE IF EXISTS pgrunbook.feature_flags`));
    const flagValue = async () =>
      (await db.query(`select percentage from pgrunbook.feature_flags where name = 'read_items_amount'`))[0]?.percentage ?? null;
    const params = {
      table: 'items',
      column: 'qty',
      to: 'amount',
      flag: { backend: 'postgres', key: 'read_items_amount', table: 'pgrunbook.feature_flags' },
    };

    it('sets the flag to 100 only after the backfill, and rollback removes it (it was not set) before dropping the column', async () => {
      const h = await harness(changeColumn, params, { url: db.url, id: 'expand' });
      expect(h.plan.notes.join('\n')).toMatch(
        /after the backfill, switches reads: sets flag read_items_amount in table pgrunbook.feature_flags to 100/,
      );
      await changeColumn.apply(h.step, h.ctx);
      expect(await flagValue()).toBe(100);
      expect(await db.query(`select count(*)::int n from items where amount is distinct from qty`)).toEqual([{ n: 0 }]);
      const said = logs(h.ctx);
      const switched = said.findIndex((m) =>
        m.startsWith('reads switched to amount: flag read_items_amount in table pgrunbook.feature_flags is 100 (was not set)'),
      );
      expect(switched).toBeGreaterThan(-1);
      expect(await changeColumn.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'done' });

      await changeColumn.rollback!(h.step, h.ctx);
      expect(await flagValue()).toBeNull();
      expect(logs(h.ctx)).toContain('reads switched back to qty: flag read_items_amount in table pgrunbook.feature_flags removed');
      expect(
        await db.query(`select attname from pg_attribute where attrelid = 'items'::regclass and attname = 'amount' and not attisdropped`),
      ).toEqual([]);
      await h.ctx.close();
    });

    it('restores the value the flag had before the run, and a flag left at another value makes reconcile say not done', async () => {
      await db.query(
        `CREATE TABLE pgrunbook.feature_flags (name text PRIMARY KEY, percentage int NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), updated_by text);
         INSERT INTO pgrunbook.feature_flags (name, percentage) VALUES ('read_items_amount', 0)`,
      );
      const h = await harness(changeColumn, params, { url: db.url, id: 'expand' });
      await changeColumn.apply(h.step, h.ctx);
      expect(await flagValue()).toBe(100);
      await db.query(`update pgrunbook.feature_flags set percentage = 50`);
      expect(await changeColumn.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'not-done' });
      await changeColumn.apply(h.step, h.ctx); // resumes: the backfill is done, the switch runs again
      expect(await flagValue()).toBe(100);
      await changeColumn.rollback!(h.step, h.ctx);
      expect(await flagValue()).toBe(0);
      await h.ctx.close();
    });
  });
}

const redisBin = findRedisServer();
describe.skipIf(!redisBin.path && process.env.CI !== 'true')('change_column switching reads behind a Redis flag', () => {
  const db = useTestDatabase();
  let redis: RedisHandle;
  beforeAll(async () => {
    if (!redisBin.path) throw new Error(`redis-server is needed: ${redisBin.reason}`);
    redis = await startRedis(redisBin.path);
  });
  afterAll(async () => redis?.stop());
  beforeEach(async () => db.query(SETUP));

  it('sets the key to 100 after the backfill and restores the previous value on rollback', async () => {
    const pre = await RedisFlags.connect(redis.url);
    await pre.set('items.amount', 5, 'x');
    const h = await harness(
      changeColumn,
      { table: 'items', column: 'qty', to: 'amount', flag: { backend: 'redis', key: 'items.amount', url: redis.url } },
      { url: db.url },
    );
    await changeColumn.apply(h.step, h.ctx);
    expect(await pre.get('items.amount')).toBe(100);
    await changeColumn.rollback!(h.step, h.ctx);
    expect(await pre.get('items.amount')).toBe(5);
    await pre.close();
    await h.ctx.close();
  });
});
