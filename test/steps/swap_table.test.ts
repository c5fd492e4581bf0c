import { describe, it, expect, beforeAll } from 'vitest';
import pg from 'pg';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { swapTable } from '../../src/steps/swap_table.js';
import { harness, holdLock, eventsOf } from './ddl/helpers.js';

const SETUP = `
  DO $$ BEGIN CREATE ROLE app_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
  CREATE TABLE customers (id int PRIMARY KEY);
  INSERT INTO customers SELECT generate_series(1, 50);
  CREATE TABLE orders (
    id serial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers (id),
    amount numeric(12,2) NOT NULL CHECK (amount >= 0),
    code text UNIQUE,
    note text,
    amount_x2 numeric GENERATED ALWAYS AS (amount * 2) STORED
  );
  CREATE INDEX orders_customer_idx ON orders (customer_id) WHERE note IS NULL;
  INSERT INTO orders (customer_id, amount, code) SELECT g % 50 + 1, g, 'c' || g FROM generate_series(1, 20000) g;
  CREATE TABLE order_items (order_id int NOT NULL REFERENCES orders (id), qty int);
  INSERT INTO order_items SELECT g, 1 FROM generate_series(1, 2000) g;
  CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 100;
  CREATE VIEW big_order_ids AS SELECT id FROM big_orders;
  GRANT SELECT ON orders TO app_reader;
  GRANT SELECT ON big_orders TO app_reader;
`;

/** Writes while the swap runs: inserts, updates (incl. a key change), deletes. */
function traffic(url: string) {
  let stop = false;
  let ops = 0;
  const done = (async () => {
    const c = new pg.Client(url);
    await c.connect();
    let i = 0;
    while (!stop) {
      i++;
      try {
        await c.query(`INSERT INTO orders (customer_id, amount, code) VALUES ($1, $2, $3)`, [(i % 50) + 1, i, `t${i}`]);
        await c.query(`UPDATE orders SET note = 'touched', amount = amount + 1 WHERE id = $1`, [((i * 7919) % 19000) + 1]);
        await c.query(`DELETE FROM orders WHERE id = $1 AND id NOT IN (SELECT order_id FROM order_items)`, [((i * 104729) % 18000) + 2001]);
        ops += 3;
      } catch {
        /* a write may meet the brief swap lock; never fatal here */
      }
    }
    await c.end();
  })();
  return { stop: async () => ((stop = true), await done), get ops() { return ops; } };
}

for (const major of edgeMajors()) {
  describe(`swap_table on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    beforeAll(async () => {
      await db.query(SETUP);
    });
    const colType = async (t: string, c: string) => (await db.query(`select format_type(atttypid, atttypmod) t from pg_attribute where attrelid = $1::regclass and attname = $2`, [t, c]))[0]?.t;
    const snapshot = async (t: string) => db.query(`select id::text, customer_id, amount::text, code, note from ${t} order by id`);

    it('refuses what it cannot carry over, before touching anything', async () => {
      await db.query(`CREATE TABLE nopk (a int); CREATE TABLE trig (id int primary key);
        CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS 'begin return new; end';
        CREATE TRIGGER t BEFORE INSERT ON trig FOR EACH ROW EXECUTE FUNCTION noop()`);
      for (const [table, msg] of [['nopk', /no primary key/], ['trig', /has triggers \(t\)/]] as const) {
        const h = await harness(swapTable, { table, columns: [{ name: table === 'nopk' ? 'a' : 'id', type: 'bigint' }] }, { url: db.url });
        expect(h.plan.notes.join('\n')).toMatch(msg);
        await expect(swapTable.apply(h.step, h.ctx)).rejects.toThrow(msg);
        expect(await db.query(`select to_regclass('${table}_new') r`)).toEqual([{ r: null }]);
        await h.ctx.close();
      }
    });

    it('int → bigint on the key under live writes: copy, verify, swap, FKs/views/sequence/grants follow; rollback swaps back losslessly', async () => {
      const h = await harness(swapTable, { table: 'orders', columns: [{ name: 'id', type: 'bigint' }], batch_size: 3000 }, { url: db.url, settings: { lockTimeoutMs: 500, ddlRetries: 20 } });
      expect(swapTable.defaultGate!(h.step, h.plan)).toBe('confirm');
      expect(h.plan.notes.join('\n')).toMatch(/re-points 1 referencing foreign key.*\n.*recreates 2 dependent view/);
      const load = traffic(db.url);
      await new Promise((r) => setTimeout(r, 200));
      await swapTable.apply(h.step, h.ctx);
      await new Promise((r) => setTimeout(r, 300));
      await load.stop();
      expect(load.ops).toBeGreaterThan(30);

      expect(await colType('orders', 'id')).toBe('bigint');
      expect(await colType('orders_old', 'id')).toBe('integer');
      // Writes after the swap were mirrored back into the old table.
      expect(await snapshot('orders')).toEqual(await snapshot('orders_old'));
      const ev = eventsOf(h.ctx, 'step.evidence')[0].evidence;
      expect(ev).toContainEqual(expect.objectContaining({ label: 'checksum', value: 'equal', ok: true }));
      expect(eventsOf(h.ctx, 'step.progress').length).toBeGreaterThan(3);

      // Index and constraint names moved to the new table; the old keeps *_old.
      const idx = await db.query(`select indexrelid::regclass::text i from pg_index where indrelid = 'orders'::regclass order by 1`);
      expect(idx.map((r) => r.i)).toEqual(['orders_code_key', 'orders_customer_idx', 'orders_pkey']);
      // Referencing FK re-pointed and validated; views read the new table; grants carried.
      expect(await db.query(`select confrelid::regclass::text r, convalidated v from pg_constraint where conrelid = 'order_items'::regclass and contype = 'f'`)).toEqual([{ r: 'orders', v: true }]);
      expect(await db.query(`select distinct d.refobjid::regclass::text r from pg_depend d join pg_rewrite w on w.oid = d.objid where w.ev_class = 'big_orders'::regclass and d.refobjid <> 'big_orders'::regclass`)).toEqual([{ r: 'orders' }]);
      expect(await db.query(`select count(*)::int n from big_order_ids`)).toEqual([{ n: expect.any(Number) }]);
      expect(await db.query(`select has_table_privilege('app_reader', 'orders', 'SELECT') a, has_table_privilege('app_reader', 'big_orders', 'SELECT') b`)).toEqual([{ a: true, b: true }]);
      // The serial sequence belongs to the new table and is bigint now.
      expect(await db.query(`select pg_get_serial_sequence('orders', 'id') s, (select format_type(seqtypid, null) from pg_sequence where seqrelid = 'orders_id_seq'::regclass) t`)).toEqual([{ s: 'public.orders_id_seq', t: 'bigint' }]);
      expect(await swapTable.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'done' });
      // New rows still get ids.
      await db.query(`INSERT INTO orders (customer_id, amount) VALUES (1, 1)`);

      await swapTable.rollback!(h.step, h.ctx);
      expect(await colType('orders', 'id')).toBe('integer');
      expect(await db.query(`select to_regclass('orders_old') a, to_regclass('orders_new') b`)).toEqual([{ a: null, b: null }]);
      expect(await db.query(`select confrelid::regclass::text r, convalidated v from pg_constraint where conrelid = 'order_items'::regclass and contype = 'f'`)).toEqual([{ r: 'orders', v: true }]);
      expect(await db.query(`select count(*)::int n from orders where customer_id = 1 and amount = 1 and code is null`)).toEqual([{ n: 1 }]);
      const idx2 = await db.query(`select indexrelid::regclass::text i from pg_index where indrelid = 'orders'::regclass order by 1`);
      expect(idx2.map((r) => r.i)).toEqual(['orders_code_key', 'orders_customer_idx', 'orders_pkey']);
      expect(await db.query(`select pg_get_serial_sequence('orders', 'id') s`)).toEqual([{ s: 'public.orders_id_seq' }]);
      await h.ctx.close();
    });

    it('swap waits for its lock under lock_timeout and retries; drop_old is a separate irreversible step', async () => {
      const h = await harness(swapTable, { table: 'orders', columns: [{ name: 'id', type: 'bigint' }] }, { url: db.url, settings: { lockTimeoutMs: 150, ddlRetries: 40 } });
      const holder = await holdLock(db.url, 'SELECT 1 FROM orders LIMIT 1');
      const p = swapTable.apply(h.step, h.ctx);
      for (let i = 0; i < 200 && eventsOf(h.ctx, 'step.retry').length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      await holder.release();
      await p;
      expect(eventsOf(h.ctx, 'step.retry').length).toBeGreaterThan(0);
      expect(await colType('orders', 'id')).toBe('bigint');

      const d = await harness(swapTable, { table: 'orders', drop_old: true }, { url: db.url });
      expect(d.plan.reversible).toBe(false);
      expect(swapTable.defaultGate!(d.step, d.plan)).toBe('type');
      await swapTable.apply(d.step, d.ctx);
      expect(await db.query(`select to_regclass('orders_old') a`)).toEqual([{ a: null }]);
      expect(await db.query(`select count(*)::int n from pg_trigger where tgrelid = 'orders'::regclass and not tgisinternal`)).toEqual([{ n: 0 }]);
      await expect(swapTable.rollback!(h.step, h.ctx)).rejects.toThrow(/no longer exists/);
      await h.ctx.close();
      await d.ctx.close();
    });
  });
}
