import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/pg.js';
import { readIndexShapes, readSourceMemory } from '../../src/rehearsal/index-shape.js';

describe('indexShape', () => {
  const db = useTestDatabase();

  it('reads rows per key of each index from the statistics, and the cache settings', async () => {
    await db.query(`create schema app;
      create table app.orders (id bigint primary key, customer_id bigint not null, code text not null, total numeric);
      insert into app.orders select g, 1 + g % 200, 'c' || (g % 20), g from generate_series(1, 20000) g;
      create index orders_customer on app.orders (customer_id);
      create index orders_customer_code on app.orders (customer_id, code);
      create index orders_expr on app.orders ((total * 2));
      analyze app.orders;`);
    const shapes = await readIndexShapes(db.pool, ['"app"."orders"', 'app.missing']);
    const by = (i: string) => shapes.find((s) => s.index === i)!;
    expect(shapes.every((s) => s.table === 'app.orders')).toBe(true);
    expect(by('orders_pkey')).toMatchObject({ unique: true, rowsPerKey: 1 });
    expect(by('orders_customer').rowsPerKey).toBeCloseTo(100, -1);
    // Two columns: bounded by the most distinct of them (customer_id), an upper bound on rows per key.
    expect(by('orders_customer_code').rowsPerKey).toBeCloseTo(100, -1);
    expect(by('orders_expr').rowsPerKey).toBeNull();

    const mem = await readSourceMemory(db.pool);
    const settings = await db.query<{ sb: string; ec: string }>(
      `select pg_size_bytes(current_setting('shared_buffers'))::text sb, pg_size_bytes(current_setting('effective_cache_size'))::text ec`,
    );
    expect(mem).toEqual({ sharedBuffersBytes: Number(settings[0]!.sb), effectiveCacheBytes: Number(settings[0]!.ec) });
  });
});
