import { describe, it, expect, beforeAll } from 'vitest';
import pg from 'pg';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { swapTable } from '../../src/steps/swap-table.js';
import { loadRunbookText } from '../../src/runbook/load.js';
import { makeStep } from '../support/step-context.js';
import { harness, holdLock, eventsOf } from './ddl/helpers.js';
import { diffSchemas, schemaSnapshot } from '../../src/rehearsal/schema-diff.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';
import { createStateSchema } from '../backfill/helpers.js';

describe('swap_table using / rollback_using (offline)', () => {
  const problems = async (column: Record<string, unknown>) =>
    (
      await swapTable.validate!(
        makeStep('swap_table', swapTable.schema.parse({ table: 't', columns: [{ name: 'c', type: 'numeric', ...column }] })) as any,
        { runbook: {} as any, step: {} as any },
      )
    ).map((p) => p.message);

  it('parses each expression as one SQL expression', async () => {
    expect(await problems({ using: "replace(c, ',', '.')::numeric", rollback_using: "replace(c::text, '.', ',')" })).toEqual([]);
    expect(await problems({ using: 'c::numeric; DROP TABLE t' })).toEqual([
      expect.stringMatching(/^swap_table: column c: using: .*(not a single expression|does not parse)/),
    ]);
    expect(await problems({ rollback_using: 'c FROM t' })).toEqual([
      expect.stringMatching(/^swap_table: column c: rollback_using: .*(not a single expression|does not parse)/),
    ]);
    expect(await problems({ using: '(SELECT max(x) FROM u)' })).toEqual([
      expect.stringMatching(/^swap_table: column c: using: .*contains a subquery/),
    ]);
  });

  it('renders {{ var }} in them with SQL quoting, as in other SQL fragments', async () => {
    const text = [
      'version: 1',
      'name: u',
      'vars: { col: price, sep: "," }',
      'phases:',
      '  deploy:',
      '    - id: s',
      '      swap_table:',
      '        table: prices',
      '        columns:',
      '          - name: "{{ col }}"',
      '            type: numeric(10,2)',
      '            using: "replace({{ col }}, {{ sep | literal }}, \'.\')::numeric"',
      '            rollback_using: "replace({{ col }}::text, \'.\', {{ sep | literal }})"',
    ].join('\n');
    const { runbook, problems: found } = await loadRunbookText(text, 'u.yaml', { kinds: STEP_KINDS });
    expect(found).toEqual([]);
    expect((runbook!.phases.deploy[0]!.params as any).columns).toEqual([
      {
        name: 'price',
        type: 'numeric(10,2)',
        using: `replace("price", ',', '.')::numeric`,
        rollback_using: `replace("price"::text, '.', ',')`,
      },
    ]);
  });
});

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
  return {
    stop: async () => ((stop = true), await done),
    get ops() {
      return ops;
    },
  };
}

for (const major of edgeMajors()) {
  describe(`swap_table on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    beforeAll(async () => {
      await createStateSchema(db.pool);
      await db.query(SETUP);
    });
    const colType = async (t: string, c: string) =>
      (
        await db.query(`select format_type(atttypid, atttypmod) t from pg_attribute where attrelid = $1::regclass and attname = $2`, [t, c])
      )[0]?.t;
    const snapshot = async (t: string) => db.query(`select id::text, customer_id, amount::text, code, note from ${t} order by id`);

    it('refuses what it cannot carry over, before touching anything', async () => {
      await db.query(`CREATE TABLE nopk (a int); CREATE TABLE trig (id int primary key);
        CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS 'begin return new; end';
        CREATE TRIGGER t BEFORE INSERT ON trig FOR EACH ROW EXECUTE FUNCTION noop()`);
      for (const [table, msg] of [
        ['nopk', /no primary key/],
        ['trig', /has triggers \(t\)/],
      ] as const) {
        const h = await harness(swapTable, { table, columns: [{ name: table === 'nopk' ? 'a' : 'id', type: 'bigint' }] }, { url: db.url });
        expect(h.plan.notes.join('\n')).toMatch(msg);
        await expect(swapTable.apply(h.step, h.ctx)).rejects.toThrow(msg);
        expect(await db.query(`select to_regclass('${table}_new') r`)).toEqual([{ r: null }]);
        await h.ctx.close();
      }
    });

    it('int → bigint on the key under live writes: copy, verify, swap, FKs/views/sequence/grants follow; rollback swaps back losslessly', async () => {
      const h = await harness(
        swapTable,
        { table: 'orders', columns: [{ name: 'id', type: 'bigint' }], batch_size: 3000 },
        { url: db.url, settings: { lockTimeoutMs: 500, ddlRetries: 20 } },
      );
      expect(swapTable.defaultGate!(h.step, h.plan)).toBe('confirm');
      expect(h.plan.notes.join('\n')).toMatch(/re-points 1 referencing foreign key.*\n.*recreates 2 dependent view/);
      // Every relation the swap locks is in the plan (and so in the gate's evidence), not only orders.
      expect(h.plan.locks.filter((l) => !l.relation.includes('"orders"'))).toEqual([
        { relation: '"public"."order_items"', mode: 'AccessExclusiveLock' },
        { relation: '"public"."big_orders"', mode: 'AccessExclusiveLock' },
        { relation: '"public"."big_order_ids"', mode: 'AccessExclusiveLock' },
        { relation: '"public"."orders_id_seq"', mode: 'ShareRowExclusiveLock' },
        { relation: '"public"."customers"', mode: 'ShareRowExclusiveLock' },
      ]);
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
      // The copy reports progress (every 250 ms and at its end; a 7-batch copy here gives 3-4 reports): the last has every row.
      const progress = eventsOf(h.ctx, 'step.progress');
      const copied = Number(
        /^copied (\d+) rows/.exec(
          eventsOf(h.ctx, 'step.log')
            .map((e) => e.message)
            .find((m) => m.startsWith('copied')) ?? '',
        )?.[1],
      );
      expect(progress.length).toBeGreaterThanOrEqual(2);
      expect(progress.at(-1).progress.rowsDone).toBe(copied);

      // Index and constraint names moved to the new table; the old keeps *_old.
      const idx = await db.query(`select indexrelid::regclass::text i from pg_index where indrelid = 'orders'::regclass order by 1`);
      expect(idx.map((r) => r.i)).toEqual(['orders_code_key', 'orders_customer_idx', 'orders_pkey']);
      // Referencing FK re-pointed and validated; views read the new table; grants carried.
      expect(
        await db.query(
          `select confrelid::regclass::text r, convalidated v from pg_constraint where conrelid = 'order_items'::regclass and contype = 'f'`,
        ),
      ).toEqual([{ r: 'orders', v: true }]);
      expect(
        await db.query(
          `select distinct d.refobjid::regclass::text r from pg_depend d join pg_rewrite w on w.oid = d.objid where w.ev_class = 'big_orders'::regclass and d.refobjid <> 'big_orders'::regclass`,
        ),
      ).toEqual([{ r: 'orders' }]);
      expect(await db.query(`select count(*)::int n from big_order_ids`)).toEqual([{ n: expect.any(Number) }]);
      expect(
        await db.query(
          `select has_table_privilege('app_reader', 'orders', 'SELECT') a, has_table_privilege('app_reader', 'big_orders', 'SELECT') b`,
        ),
      ).toEqual([{ a: true, b: true }]);
      // The serial sequence belongs to the new table and is bigint now.
      expect(
        await db.query(
          `select pg_get_serial_sequence('orders', 'id') s, (select format_type(seqtypid, null) from pg_sequence where seqrelid = 'orders_id_seq'::regclass) t`,
        ),
      ).toEqual([{ s: 'public.orders_id_seq', t: 'bigint' }]);
      expect(await swapTable.reconcile!(h.step, h.ctx)).toMatchObject({ found: 'done' });
      // New rows still get ids.
      await db.query(`INSERT INTO orders (customer_id, amount) VALUES (1, 1)`);

      await swapTable.rollback!(h.step, h.ctx);
      expect(await colType('orders', 'id')).toBe('integer');
      expect(await db.query(`select to_regclass('orders_old') a, to_regclass('orders_new') b`)).toEqual([{ a: null, b: null }]);
      expect(
        await db.query(
          `select confrelid::regclass::text r, convalidated v from pg_constraint where conrelid = 'order_items'::regclass and contype = 'f'`,
        ),
      ).toEqual([{ r: 'orders', v: true }]);
      expect(await db.query(`select count(*)::int n from orders where customer_id = 1 and amount = 1 and code is null`)).toEqual([
        { n: 1 },
      ]);
      const idx2 = await db.query(`select indexrelid::regclass::text i from pg_index where indrelid = 'orders'::regclass order by 1`);
      expect(idx2.map((r) => r.i)).toEqual(['orders_code_key', 'orders_customer_idx', 'orders_pkey']);
      expect(await db.query(`select pg_get_serial_sequence('orders', 'id') s`)).toEqual([{ s: 'public.orders_id_seq' }]);
      await h.ctx.close();
    });

    it('the copy runs in the backfill engine: steps around a row an application holds, copies it in the retry pass, reports backfill progress', async () => {
      await db.query(`CREATE TABLE held (id int PRIMARY KEY, v int); INSERT INTO held SELECT g, g FROM generate_series(1, 3000) g`);
      const h = await harness(swapTable, { table: 'held', columns: [{ name: 'v', type: 'bigint' }], batch_size: 500 }, { url: db.url });
      expect(h.plan.notes.join('\n')).toMatch(/the copy runs as a backfill does: fixed batches of 500 rows, throttled on replication lag/);
      expect(h.plan.notes.join('\n')).toMatch(/latency on the table over 1.5x its baseline, throughput under 10% of the early rate;/);
      // FOR UPDATE conflicts with the copy's FOR KEY SHARE, not with the trigger install.
      const app = new pg.Client(db.url);
      await app.connect();
      await app.query('BEGIN');
      await app.query('SELECT * FROM held WHERE id = 1234 FOR UPDATE');
      const applying = swapTable.apply(h.step, h.ctx);
      const skipped = () => db.query(`select key from pgrunbook.backfill_skipped where run_id = $1`, [h.ctx.runId]);
      for (let i = 0; i < 400 && (await skipped()).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      expect(await skipped()).toEqual([{ key: ['1234'] }]);
      await app.query('ROLLBACK');
      await app.end();
      await applying;
      expect(await colType('held', 'v')).toBe('bigint');
      expect(await db.query(`select count(*)::int n, sum(v)::int s from held`)).toEqual([{ n: 3000, s: 4501500 }]);
      const progress = eventsOf(h.ctx, 'step.progress').map((e: any) => e.progress);
      expect(progress.at(-1)).toMatchObject({ kind: 'backfill', rowsDone: 3000, batchSize: 500 });
      // The batches are not logged one by one with their SQL.
      expect(eventsOf(h.ctx, 'step.sql').filter((e: any) => /__pgrunbook_src/.test(e.sql))).toEqual([]);
      await h.ctx.close();
    });

    it('carries what LIKE does not (owner, comment, options, statistics, replica identity, publication); rollback restores the schema exactly, sequence type included', async () => {
      await db.query(`
        DO $$ BEGIN CREATE ROLE ledger_owner; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
        CREATE TABLE ledger (id serial PRIMARY KEY, ref text NOT NULL, amount int);
        CREATE UNIQUE INDEX ledger_ref_key ON ledger (ref);
        INSERT INTO ledger (ref, amount) SELECT 'r' || g, g FROM generate_series(1, 3000) g;
        ALTER TABLE ledger OWNER TO ledger_owner;
        COMMENT ON TABLE ledger IS 'money moves';
        COMMENT ON COLUMN ledger.amount IS 'cents';
        ALTER TABLE ledger SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02);
        ALTER TABLE ledger ALTER COLUMN ref SET STATISTICS 900, ALTER COLUMN amount SET (n_distinct = 50);
        ALTER TABLE ledger REPLICA IDENTITY USING INDEX ledger_ref_key;
        ALTER SEQUENCE ledger_id_seq CACHE 5;
        CREATE PUBLICATION ledger_pub FOR TABLE ledger ${major >= 15 ? '(id, ref) WHERE (amount > 0)' : ''}`);
      const mine = (lines: string[]) => lines.filter((l) => /ledger/.test(l) && !/_old\b|_missed|pgrunbook_swap/.test(l));
      const before = await schemaSnapshot(db.pool);
      const h = await harness(swapTable, { table: 'ledger', columns: [{ name: 'id', type: 'bigint' }], batch_size: 1000 }, { url: db.url });
      await swapTable.apply(h.step, h.ctx);
      // The rebuilt table differs from the original only in what the step changed: the key's type and the sequence's.
      const swapped = diffSchemas({ lines: mine(before.lines) }, { lines: mine((await schemaSnapshot(db.pool)).lines) });
      expect(swapped.removed).toEqual([
        "column public.ledger.id integer not null default nextval('ledger_id_seq'::regclass)",
        expect.stringMatching(/^sequence public\.ledger_id_seq integer start 1 increment 1 min 1 max 2147483647 cache 5$/),
      ]);
      expect(swapped.added).toEqual([
        "column public.ledger.id bigint not null default nextval('ledger_id_seq'::regclass)",
        expect.stringMatching(/^sequence public\.ledger_id_seq bigint start 1 increment 1 min 1 max 9223372036854775807 cache 5$/),
      ]);
      await db.query(`INSERT INTO ledger (ref, amount) VALUES ('after', 1)`);

      await swapTable.rollback!(h.step, h.ctx);
      const back = diffSchemas(before, await schemaSnapshot(db.pool));
      expect(back).toEqual({ same: true, added: [], removed: [] });
      expect(await db.query(`select format_type(seqtypid, null) t from pg_sequence where seqrelid = 'ledger_id_seq'::regclass`)).toEqual([
        { t: 'integer' },
      ]);
      expect(await db.query(`select count(*)::int n from ledger where ref = 'after'`)).toEqual([{ n: 1 }]);
      await h.ctx.close();
    });

    it('carries column-level grants over to the rebuilt table and its views; rollback keeps them', async () => {
      await db.query(`
        DO $$ BEGIN CREATE ROLE app_col_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
        DO $$ BEGIN CREATE ROLE app_col_writer; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
        CREATE TABLE accounts (id int PRIMARY KEY, email text, secret text, balance int);
        INSERT INTO accounts SELECT g, 'u' || g || '@example.com', 's' || g, g FROM generate_series(1, 500) g;
        CREATE VIEW account_emails AS SELECT id, email FROM accounts;
        GRANT SELECT (id, email) ON accounts TO app_col_reader;
        GRANT UPDATE (balance) ON accounts TO app_col_writer WITH GRANT OPTION;
        GRANT INSERT (email, secret) ON accounts TO PUBLIC;
        GRANT SELECT (email) ON account_emails TO app_col_reader`);
      const privileges = (t: string) =>
        db.query(`select has_column_privilege('app_col_reader', '${t}', 'email', 'SELECT') email,
                         has_column_privilege('app_col_reader', '${t}', 'secret', 'SELECT') secret,
                         has_table_privilege('app_col_reader', '${t}', 'SELECT') whole_table,
                         has_column_privilege('app_col_writer', '${t}', 'balance', 'UPDATE WITH GRANT OPTION') balance`);
      const acl = (t: string) =>
        db.query(
          `select attname, array(select x::text from unnest(attacl) x order by 1) acl from pg_attribute where attrelid = '${t}'::regclass and attacl is not null order by attname`,
        );
      const before = await acl('accounts');
      expect(before.map((r) => r.attname)).toEqual(['balance', 'email', 'id', 'secret']);

      const h = await harness(swapTable, { table: 'accounts', columns: [{ name: 'id', type: 'bigint' }] }, { url: db.url });
      expect(h.plan.notes.join('\n')).toMatch(/carries over 3 column-level grant/);
      await swapTable.apply(h.step, h.ctx);
      expect(await colType('accounts', 'id')).toBe('bigint');
      expect(await privileges('accounts')).toEqual([{ email: true, secret: false, whole_table: false, balance: true }]);
      expect(await acl('accounts')).toEqual(before);
      expect(
        await db.query(
          `select has_column_privilege('app_col_reader', 'account_emails', 'email', 'SELECT') e, has_column_privilege('app_col_reader', 'account_emails', 'id', 'SELECT') i`,
        ),
      ).toEqual([{ e: true, i: false }]);
      expect(
        await db.query(
          `select has_column_privilege('public', 'accounts', 'secret', 'INSERT') s, has_column_privilege('public', 'accounts', 'balance', 'INSERT') b`,
        ),
      ).toEqual([{ s: true, b: false }]);

      await swapTable.rollback!(h.step, h.ctx);
      expect(await colType('accounts', 'id')).toBe('integer');
      expect(await privileges('accounts')).toEqual([{ email: true, secret: false, whole_table: false, balance: true }]);
      expect(await acl('accounts')).toEqual(before);
      expect(await db.query(`select has_column_privilege('app_col_reader', 'account_emails', 'email', 'SELECT') e`)).toEqual([{ e: true }]);
      await h.ctx.close();
    });

    it('using converts existing rows, rows the trigger mirrors during the copy, and (rollback_using) writes mirrored back; rollback restores the old table intact', async () => {
      // Prices stored as text with a decimal comma ('12,50'), moved to numeric(10,2).
      await db.query(`CREATE TABLE prices (id int PRIMARY KEY, price text NOT NULL, qty int);
        INSERT INTO prices SELECT g, (g / 100) || ',' || lpad((g % 100)::text, 2, '0'), g FROM generate_series(1, 3000) g`);
      const column = {
        name: 'price',
        type: 'numeric(10,2)',
        using: "replace(price, ',', '.')::numeric",
        rollback_using: "replace(price::text, '.', ',')",
      };
      // A pause between batches stretches the copy past the first progress tick.
      const h = await harness(swapTable, { table: 'prices', columns: [column], batch_size: 50, pause: '10ms' }, { url: db.url });
      expect(h.plan.statements.map((x) => x.sql)).toContain(
        `ALTER TABLE "public"."prices_new" ALTER COLUMN "price" TYPE numeric(10,2) USING (replace(price, ',', '.')::numeric)::numeric(10,2)`,
      );
      expect(h.plan.notes.join('\n')).not.toMatch(/REFUSED/);

      // Hold the copy before its first batch, and again once it reported rows, to write while it runs.
      h.ctx.control.setPaused(true);
      let firstBatch!: () => void;
      const afterFirstBatch = new Promise<void>((r) => (firstBatch = r));
      const emit = h.ctx.emit;
      let held = false;
      h.ctx.emit = (b) => {
        emit(b);
        if (!held && b.type === 'step.progress' && b.progress.kind === 'backfill' && b.progress.rowsDone >= 50) {
          held = true;
          h.ctx.control.setPaused(true);
          firstBatch();
        }
      };
      const applying = swapTable.apply(h.step, h.ctx);
      for (let i = 0; i < 200 && (await db.query(`select 1 from pg_trigger where tgname = 'pgrunbook_swap_sync'`)).length === 0; i++)
        await new Promise((r) => setTimeout(r, 25));
      // Sync trigger on, nothing copied yet: new rows, updates and deletes of rows the copy has not reached.
      await db.query(`INSERT INTO prices SELECT g, '1,25', g FROM generate_series(10001, 10010) g;
        UPDATE prices SET price = '99,99' WHERE id BETWEEN 2001 AND 2010;
        DELETE FROM prices WHERE id BETWEEN 2991 AND 3000`);
      expect(await db.query(`select count(*)::int n from prices_new`)).toEqual([{ n: 20 }]);
      h.ctx.control.setPaused(false);
      await afterFirstBatch;
      expect(await db.query(`select count(*)::int n from prices_new where id <= 50`)).toEqual([{ n: 50 }]);
      // Rows 1..50 are copied: update, delete and re-key some of them.
      await db.query(`UPDATE prices SET price = '0,01' WHERE id BETWEEN 1 AND 10;
        DELETE FROM prices WHERE id BETWEEN 11 AND 20;
        UPDATE prices SET id = 20001, price = '5,05' WHERE id = 30`);
      h.ctx.control.setPaused(false);
      await applying;
      // The copy ran through the backfill engine: its cursor saw every batch and finished.
      expect(
        await db.query(`select pass, batches::int from pgrunbook.backfill_cursors where run_id = $1 and step_id = $2`, [
          h.ctx.runId,
          h.step.id,
        ]),
      ).toEqual([{ pass: 'done', batches: expect.any(Number) }]);

      expect(await colType('prices', 'price')).toBe('numeric(10,2)');
      expect(await colType('prices_old', 'price')).toBe('text');
      expect(eventsOf(h.ctx, 'step.evidence')[0].evidence).toContainEqual(
        expect.objectContaining({ label: 'checksum', value: 'equal', ok: true }),
      );
      // Every row, copied or mirrored, is the old table's row converted.
      const converted = await db.query(`select id, replace(price, ',', '.')::numeric(10,2)::text price, qty from prices_old order by id`);
      expect(await db.query(`select id, price::text, qty from prices order by id`)).toEqual(converted);
      expect(converted).toHaveLength(3000 + 10 - 10 - 10);
      expect(await db.query(`select id, price::text from prices where id in (1, 30, 1250, 2005, 10001, 20001) order by id`)).toEqual([
        { id: 1, price: '0.01' },
        { id: 1250, price: '12.50' },
        { id: 2005, price: '99.99' },
        { id: 10001, price: '1.25' },
        { id: 20001, price: '5.05' },
      ]);

      // After the swap, writes are mirrored back through rollback_using (decimal comma again).
      await db.query(
        `INSERT INTO prices VALUES (30001, 7.5, 1); UPDATE prices SET price = 3.14 WHERE id = 2; DELETE FROM prices WHERE id = 3`,
      );
      expect(await db.query(`select id, price from prices_old where id in (2, 3, 30001) order by id`)).toEqual([
        { id: 2, price: '3,14' },
        { id: 30001, price: '7,50' },
      ]);
      const oldRows = await db.query(`select id, price, qty from prices_old order by id`);

      await swapTable.rollback!(h.step, h.ctx);
      expect(await colType('prices', 'price')).toBe('text');
      expect(await db.query(`select id, price, qty from prices order by id`)).toEqual(oldRows);
      // Rows nobody touched still hold exactly what they held before the swap.
      expect(
        await db.query(
          `select count(*)::int n from prices where id between 100 and 2000 and price <> (id / 100) || ',' || lpad((id % 100)::text, 2, '0')`,
        ),
      ).toEqual([{ n: 0 }]);
      expect(await db.query(`select to_regclass('prices_old') a, to_regclass('prices_new') b`)).toEqual([{ a: null, b: null }]);
      await h.ctx.close();
    });

    it('without rollback_using, writes are mirrored back with a plain cast; one the cast refuses blocks the swap back', async () => {
      await db.query(`CREATE TABLE codes (id int PRIMARY KEY, code int NOT NULL);
        INSERT INTO codes SELECT g, g FROM generate_series(1, 200) g`);
      const h = await harness(
        swapTable,
        { table: 'codes', columns: [{ name: 'code', type: 'text', using: "'C' || lpad(code::text, 4, '0')" }] },
        { url: db.url },
      );
      expect(h.plan.notes.join('\n')).toMatch(/code: writes mirrored back into the old table convert with a plain cast/);
      await swapTable.apply(h.step, h.ctx);
      expect(await db.query(`select code from codes where id in (7, 200) order by id`)).toEqual([{ code: 'C0007' }, { code: 'C0200' }]);
      await db.query(`INSERT INTO codes VALUES (1001, '42')`); // '42'::int works
      await db.query(`INSERT INTO codes VALUES (1002, 'C1002')`); // the application's write succeeds...
      expect(await db.query(`select id, code from codes_old where id > 1000`)).toEqual([{ id: 1001, code: 42 }]);
      expect(await db.query(`select op, pk from codes_old_missed`)).toEqual([{ op: 'INSERT', pk: '(1002)' }]); // ...and the miss is recorded
      await expect(swapTable.rollback!(h.step, h.ctx)).rejects.toThrow(
        /cannot swap back without losing data: 1 writes could not be mirrored/,
      );
      expect(await colType('codes', 'code')).toBe('text'); // the new table stays live
      await h.ctx.close();
    });

    it('checks every conversion against the live table before creating anything', async () => {
      await db.query(`CREATE TABLE shapes (id int PRIMARY KEY, p point, n text); INSERT INTO shapes VALUES (1, point(1, 2), '1')`);
      const cases: [unknown[], RegExp][] = [
        [[{ name: 'n', type: 'int', using: 'nope::int' }], /column "nope" does not exist/],
        [[{ name: 'p', type: 'int' }], /cannot cast type point to integer/],
        // rollback_using reads the new types: lower() of an integer does not exist.
        [[{ name: 'n', type: 'int', rollback_using: 'lower(n)' }], /function lower\(integer\) does not exist/],
      ];
      for (const [columns, why] of cases) {
        const h = await harness(swapTable, { table: 'shapes', columns }, { url: db.url });
        expect(h.plan.notes.join('\n')).toMatch(new RegExp(`REFUSED: a column conversion does not work on shapes: .*${why.source}`));
        const err = await swapTable.apply(h.step, h.ctx).then(
          () => undefined,
          (e) => e,
        );
        expect(err?.message).toMatch(why);
        expect(err?.hint).toMatch(/check `columns:` .*nothing was created/);
        expect(
          await db.query(`select to_regclass('shapes_new') t, (select count(*)::int from pg_trigger where tgrelid = 'shapes'::regclass) n`),
        ).toEqual([{ t: null, n: 0 }]);
        expect(eventsOf(h.ctx, 'step.sql')).toHaveLength(0);
        await h.ctx.close();
      }
    });

    it('swap waits for its lock under lock_timeout and retries; drop_old is a separate irreversible step', async () => {
      const h = await harness(
        swapTable,
        { table: 'orders', columns: [{ name: 'id', type: 'bigint' }] },
        { url: db.url, settings: { lockTimeoutMs: 150, ddlRetries: 40 } },
      );
      const holder = await holdLock(db.url, 'SELECT 1 FROM orders LIMIT 1');
      const p = swapTable.apply(h.step, h.ctx);
      // A failure before the lock (e.g. a leftover orders_old) is the test's failure at `await p`, not an unhandled rejection meanwhile.
      p.catch(() => {});
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
      expect(await db.query(`select count(*)::int n from pg_trigger where tgrelid = 'orders'::regclass and not tgisinternal`)).toEqual([
        { n: 0 },
      ]);
      await expect(swapTable.rollback!(h.step, h.ctx)).rejects.toThrow(/no longer exists/);
      await h.ctx.close();
      await d.ctx.close();
    });
  });
}
