// Catalog introspection on real PostgreSQL (oldest and newest major of the suite): what the
// analyzer reads for --db, and the table/server facts `plan` shows. All of it read only.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { LiveCatalog, modsFromFormatType, serverFacts, tableFacts } from '../../src/pg/introspect.js';
import { readOnly } from '../../src/analyze/plan/plan-read-only.js';
import { edgeMajors, useTestDatabase } from '../support/pg.js';

const SCHEMA = `
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE parent (id int PRIMARY KEY);
INSERT INTO parent SELECT generate_series(1, 10);
CREATE TABLE orders (
  id bigint PRIMARY KEY,
  name varchar(50),
  amount numeric(10,2) CONSTRAINT orders_amount_check CHECK (amount >= 0),
  at timestamp(3) with time zone,
  qty posint,
  parent_id int CONSTRAINT orders_parent_fkey REFERENCES parent(id),
  note text
);
INSERT INTO orders SELECT g, 'n' || g, g, now(), 1, 1 + g % 10, CASE WHEN g % 3 = 0 THEN 'x' END FROM generate_series(1, 3000) g;
INSERT INTO orders VALUES (3001, 'dup', 1, now(), 1, 1, 'dup'), (3002, 'dup', 1, now(), 1, 1, 'dup');
ALTER TABLE orders ADD CONSTRAINT orders_note_nn CHECK (note IS NOT NULL AND length(note) > 0) NOT VALID;
ALTER TABLE orders ADD CONSTRAINT orders_name_nn CHECK (name IS NOT NULL);
CREATE INDEX orders_name_idx ON orders (name);
CREATE TABLE child (id int, parent_id int REFERENCES parent(id) ON DELETE CASCADE);
CREATE INDEX child_parent_idx ON child (parent_id);
CREATE TABLE loose (id int, parent_id int REFERENCES parent(id));
CREATE VIEW v_orders AS SELECT id, name FROM orders;
CREATE VIEW v_orders2 AS SELECT id FROM v_orders;
CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER orders_trg BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION trg();
CREATE TABLE ev (id int, k text) PARTITION BY LIST (k);
CREATE TABLE ev_a PARTITION OF ev FOR VALUES IN ('a');
CREATE TABLE ev_b PARTITION OF ev FOR VALUES IN ('b') PARTITION BY LIST (id);
CREATE TABLE ev_b1 PARTITION OF ev_b FOR VALUES IN (1);
CREATE TABLE ev_default PARTITION OF ev DEFAULT;
`;

describe('modsFromFormatType', () => {
  it('reads type modifiers back from format_type()', () => {
    expect(modsFromFormatType('character varying(50)')).toEqual([50]);
    expect(modsFromFormatType('numeric(10,2)')).toEqual([10, 2]);
    expect(modsFromFormatType('timestamp(3) with time zone')).toEqual([3]);
    expect(modsFromFormatType('text')).toEqual([]);
  });
});

for (const major of edgeMajors()) {
  describe(`introspection on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);

    it('reads columns, constraints, indexes, partitions, FKs and views', async () => {
      await db.query(SCHEMA);
      // A failed concurrent build leaves an INVALID index behind.
      await db.query('CREATE UNIQUE INDEX CONCURRENTLY orders_name_uidx ON orders (name)').catch(() => {});
      await db.query('ANALYZE');
      const cat = new LiveCatalog(db.pool);
      const t = (await cat.relation(undefined, 'orders'))!;
      expect(t.name).toBe('orders');
      expect(t.relkind).toBe('r');
      expect(t.columns.get('name')).toMatchObject({ typname: 'varchar', mods: [50], notNull: false });
      expect(t.columns.get('amount')).toMatchObject({ typname: 'numeric', mods: [10, 2] });
      expect(t.columns.get('at')).toMatchObject({ typname: 'timestamptz', mods: [3] });
      expect(t.columns.get('qty')!.domainWithConstraints).toBe(true);
      expect(t.columns.get('id')!.notNull).toBe(true);
      expect(t.constraints.get('orders_amount_check')).toMatchObject({ type: 'check', validated: true, columns: ['amount'], provesNotNull: [] });
      expect(t.constraints.get('orders_note_nn')).toMatchObject({ type: 'check', validated: false, provesNotNull: ['note'] });
      expect(t.constraints.get('orders_name_nn')).toMatchObject({ validated: true, provesNotNull: ['name'] });
      expect(t.constraints.get('orders_parent_fkey')).toMatchObject({ type: 'foreign key', refTable: 'parent', refColumns: ['id'], columns: ['parent_id'] });
      expect(t.indexes.get('orders_pkey')).toMatchObject({ primary: true, unique: true, valid: true, columns: ['id'], constraint: 'orders_pkey' });
      expect(t.indexes.get('orders_name_uidx')).toMatchObject({ valid: false, unique: true });
      expect(t.estimatedRows).toBe(3002);
      expect([...t.dependentViews!].sort()).toEqual(['v_orders', 'v_orders2']);

      const p = (await cat.relation(undefined, 'parent'))!;
      const inc = new Map(p.incomingForeignKeys.map((f) => [f.table, f]));
      expect(inc.get('child')).toMatchObject({ indexed: true, onDelete: 'c', columns: ['parent_id'], refColumns: ['id'] });
      expect(inc.get('loose')).toMatchObject({ indexed: false, onDelete: 'a' });
      expect(inc.get('orders')).toMatchObject({ indexed: false });

      const ev = (await cat.relation('public', 'ev'))!;
      expect(ev.relkind).toBe('p');
      expect(ev.partitions.sort()).toEqual(['ev_a', 'ev_b', 'ev_b1', 'ev_default']);
      expect(ev.leafPartitions.sort()).toEqual(['ev_a', 'ev_b1', 'ev_default']);
      expect(ev.defaultPartition).toBe('ev_default');
      expect((await cat.relation(undefined, 'ev_a'))!.partitionOf).toBe('ev');

      const view = (await cat.relation(undefined, 'v_orders'))!;
      expect(view.relkind).toBe('v');
      expect(view.viewReads).toEqual(['orders']);
      expect(await cat.relation(undefined, 'nope')).toBeUndefined();

      expect(await cat.indexOwner(undefined, 'orders_name_idx')).toMatchObject({ index: 'orders_name_idx', table: 'orders', valid: true });
      expect(await cat.indexOwner(undefined, 'orders_pkey')).toMatchObject({ constraint: 'orders_pkey' });
      expect(await cat.functionVolatility(undefined, 'random', 0)).toBe('volatile');
      expect(await cat.functionVolatility('pg_catalog', 'now', 0)).toBe('stable');
      expect(await cat.functionVolatility(undefined, 'no_such_function', 0)).toBeUndefined();
      expect(await cat.castMethod('pg_catalog.varchar', 'text')).toBe('b');
      expect(await cat.castMethod('pg_catalog.int4', 'pg_catalog.int8')).toBe('f');
      expect(await cat.typeIsConstrainedDomain(undefined, 'posint')).toBe(true);
      expect(await cat.typeIsConstrainedDomain(undefined, 'int4')).toBe(false);
      expect(await cat.typeIsConstrainedDomain(undefined, 'no_such_type')).toBeUndefined();
    });

    it('gives plan its table facts without count(*)', async () => {
      const ro = readOnly(db.pool);
      const f = (await tableFacts(ro, 'orders'))!;
      expect(f.estimatedRows).toBe(3002);
      expect(f.reltuples).toBe(3002);
      expect(f.sizeSource).toBe('functions');
      expect(f.tableBytes).toBeGreaterThan(8192);
      expect(f.totalBytes).toBe(f.tableBytes + f.indexBytes);
      expect(f.avgRowWidth).toBeGreaterThan(10);
      expect(f.indexes.find((i) => i.name === 'orders_name_uidx')!.valid).toBe(false);
      expect(f.foreignKeysOut.map((x) => x.references)).toEqual(['parent']);
      expect(f.triggers.map((x) => x.name)).toEqual(['orders_trg']);
      expect(f.dependentViews.map((v) => v.name)).toEqual(['v_orders']);
      expect(f.systemCatalog).toBe(false);
      const parent = (await tableFacts(ro, 'parent'))!;
      expect(parent.foreignKeysIn.map((x) => `${x.from}:${x.indexed}`).sort()).toEqual(['child:true', 'loose:false', 'orders:false']);
      const ev = (await tableFacts(ro, 'ev'))!;
      expect(ev.partitions).toBe(3);
      expect(await tableFacts(ro, 'missing_table')).toBeUndefined();
    });

    it('falls back to relpages while an ACCESS EXCLUSIVE lock is held, instead of queueing', async () => {
      const c = new pg.Client(db.url);
      await c.connect();
      try {
        await c.query('BEGIN; LOCK TABLE parent IN ACCESS EXCLUSIVE MODE');
        const t0 = Date.now();
        const f = (await tableFacts(readOnly(db.pool), 'parent'))!;
        expect(Date.now() - t0).toBeLessThan(900);
        expect(f.accessExclusiveNow).toBe(true);
        expect(f.sizeSource).toBe('relpages');
      } finally {
        await c.query('ROLLBACK');
        await c.end();
      }
    });

    it('reports server facts, long transactions included', async () => {
      const c = new pg.Client({ connectionString: db.url, application_name: 'forgotten-tx' });
      await c.connect();
      try {
        await c.query('BEGIN; SELECT txid_current()');
        await new Promise((r) => setTimeout(r, 1100));
        const s = await serverFacts(readOnly(db.pool), { longTxSeconds: 1 });
        expect(Math.floor(s.versionNum / 10000)).toBe(major);
        expect(s.timeZone).toBeTruthy();
        expect(s.inRecovery).toBe(false);
        expect(s.longTransactions.some((t) => t.application === 'forgotten-tx')).toBe(true);
        expect(s.settings.map((x) => x.name)).toContain('lock_timeout');
        expect(s.unavailable).toEqual([]);
      } finally {
        await c.query('ROLLBACK');
        await c.end();
      }
    });

    it('runs plan queries in READ ONLY transactions', async () => {
      const ro = readOnly(db.pool);
      await expect(ro.query('CREATE TABLE must_not_exist (id int)')).rejects.toMatchObject({ code: '25006' });
      expect(await db.query(`SELECT to_regclass('must_not_exist') AS r`)).toEqual([{ r: null }]);
    });
  });
}
