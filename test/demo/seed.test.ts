import { describe, expect, it } from 'vitest';
import { seedOrders } from '../../src/demo/seed.js';
import { readStatementStats } from '../../src/pg/statement-stats.js';
import { useTestDatabase } from '../support/pg.js';

describe('seedOrders', () => {
  const db = useTestDatabase();

  it('creates orders with a primary key, fresh statistics and a sequence past the seeded ids', async () => {
    const r = await seedOrders(db.pool, 20_000);
    expect(r.rows).toBe(20_000);
    const [c] = await db.query<{ n: string; min: string; max: string; nulls: string }>(
      `select count(*) n, min(id) min, max(id) max, count(*) filter (where amount is null or status is null) nulls from orders`,
    );
    expect(c).toEqual({ n: '20000', min: '1', max: '20000', nulls: '0' });
    const [pk] = await db.query(`select conname from pg_constraint where conrelid = 'orders'::regclass and contype = 'p'`);
    expect(pk).toBeDefined();
    // ANALYZE ran: the planner's estimate (what the backfill uses for its total) is exact here.
    const [est] = await db.query<{ reltuples: number }>(`select reltuples from pg_class where oid = 'orders'::regclass`);
    expect(est!.reltuples).toBe(20_000);
    const [next] = await db.query<{ id: string }>(`insert into orders (customer_id, status, amount) values (1, 'new', 1) returning id`);
    expect(Number(next!.id)).toBe(20_001);
    // Deterministic content: the same table on every run.
    const [sum] = await db.query<{ s: string }>(`select sum(amount)::text s from orders where id <= 20000`);
    const again = await seedOrders(db.pool, 20_000);
    expect(again.rows).toBe(20_000);
    const [sum2] = await db.query<{ s: string }>(`select sum(amount)::text s from orders`);
    expect(sum2!.s).toBe(sum!.s);
  });

  it('creates pg_stat_statements, so the app_latency throttle sees the traffic on orders', async () => {
    await seedOrders(db.pool, 500);
    for (let i = 1; i <= 5; i++) await db.query(`select amount from orders where id = $1`, [i]);
    const [v] = await db.query<{ v: number }>(`select current_setting('server_version_num')::int v`);
    const r = await readStatementStats(db.pool, ['orders'], v!.v, Date.now());
    if (!r.ok) throw new Error(r.note);
    const lookup = r.stats.find((s) => /select amount from orders where id/i.test(s.query));
    expect(lookup?.calls).toBe(5);
  });

  it('refuses a nonsensical row count before touching the database', async () => {
    await expect(seedOrders(db.pool, 0)).rejects.toThrow('positive whole number');
    await expect(seedOrders(db.pool, 1.5)).rejects.toThrow('positive whole number');
  });
});
