// Clone: schema via pg_dump, a TABLESAMPLE sample via COPY, FK-consistent, sizes recorded, and the
// source opened read-only (a write attempt through that session fails).
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { cloneSample } from '../../src/rehearsal/clone.js';
import { readOnlySourceClient } from '../../src/rehearsal/source-read-only.js';
import { seedOrders, sourceFingerprint, useSourceDatabase } from './support.js';
import { withDatabase } from '../support/pg.js';

describe('cloneSample', () => {
  const src = useSourceDatabase(async (q) => {
    await seedOrders(q, 20_000);
    // Things a table-scoped dump misses (an enum type), a generated column, a child table, a view.
    await q(`create type state as enum ('new', 'paid');
             alter table orders add column state state not null default 'new';
             alter table orders add column label text generated always as ('o' || id::text) stored;
             create table order_notes (id bigserial primary key, order_id bigint not null references orders(id), body text);
             insert into order_notes (order_id, body) select g, 'n' from generate_series(1, 20000, 3) g;
             create view big_orders as select id, amount from orders where amount > 50;
             analyze;`);
  });

  it('copies a consistent sample and records source vs sample sizes', async () => {
    const target = `${src.name}_sb`;
    const admin = new pg.Client(src.adminUrl);
    await admin.connect();
    await admin.query(`create database ${target}`);
    const sbUrl = withDatabase(src.adminUrl, target);
    const before = await sourceFingerprint(src.query);
    try {
      const r = await cloneSample({ sourceUrl: src.url, sandboxUrl: sbUrl, sourceMajor: src.major, tableNames: ['orders'], samplePct: 5 });
      const t = (name: string) => r.tables.find((x) => x.table === name)!;
      expect(r.schemaScope).toBe('database'); // the enum is outside the table set
      expect(t('orders').role).toBe('touched');
      expect(t('order_notes').role).toBe('referencing');
      expect(t('customers').role).toBe('referenced');
      expect(t('big_orders').method).toBe('schema-only');
      expect(t('orders').sourceRows).toBe(20_000);
      expect(t('orders').sampleRows).toBeGreaterThan(400);
      expect(t('orders').sampleRows).toBeLessThan(2_000);
      expect(t('orders').sampleBytes).toBeLessThan(t('orders').sourceBytes);
      expect(r.snapshot).toBeTruthy();

      const sb = new pg.Client(sbUrl);
      await sb.connect();
      try {
        // FKs restored (validated) on the sample: no orphans either way.
        const fks = await sb.query(`select conname, convalidated from pg_constraint where contype = 'f' order by 1`);
        expect(fks.rows.map((x) => [x.conname, x.convalidated])).toEqual([
          ['order_notes_order_id_fkey', true],
          ['orders_customer_id_fkey', true],
        ]);
        const gen = await sb.query(`select count(*)::int n from orders where label <> 'o' || id::text`);
        expect(gen.rows[0].n).toBe(0);
        const idx = await sb.query(`select indexrelid::regclass::text i from pg_index where indrelid = 'orders'::regclass order by 1`);
        expect(idx.rows.map((x) => x.i)).toEqual(['orders_customer_idx', 'orders_pkey']);
        // New rows from the sandbox do not collide with sampled keys.
        const next = await sb.query(`select nextval('orders_id_seq')::int n`);
        expect(next.rows[0].n).toBeGreaterThan(20_000);
      } finally {
        await sb.end();
      }
      expect(await sourceFingerprint(src.query)).toEqual(before);
    } finally {
      await admin.query(`drop database if exists ${target} with (force)`);
      await admin.end();
    }
  });

  it('opens the source read-only: a write through that session fails', async () => {
    const c = readOnlySourceClient(src.url);
    await c.connect();
    try {
      const err = await c.query(`create table should_not_exist (x int)`).catch((e) => e);
      expect(err.code).toBe('25006'); // read_only_sql_transaction
      const err2 = await c.query(`update orders set note = 'x' where id = 1`).catch((e) => e);
      expect(err2.code).toBe('25006');
    } finally {
      await c.end();
    }
    expect(await src.query(`select to_regclass('should_not_exist') r`)).toEqual([{ r: null }]);
  });
});
