// The one catalog layer on real PostgreSQL (oldest and newest major): every lookup, read directly
// and through probes (parameters written as literals, short timeouts), with the same answers.
import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { estimateRows, findTable, rowEstimate, tablesByOid } from '../../../src/pg/catalog/table-lookup.js';
import {
  findColumn,
  findConstraint,
  findIndex,
  findIndexShape,
  primaryKey,
  tableColumns,
  tableConstraints,
  tableIndexes,
} from '../../../src/pg/catalog/table-parts.js';
import { dependentViews, descendants, foreignKeys, tableTriggers, viewReads } from '../../../src/pg/catalog/table-links.js';
import { castMethod, functionVolatility, indexOwner, isConstrainedDomain } from '../../../src/pg/catalog/type-lookup.js';
import { inlineParams, probing } from '../../../src/pg/probe.js';
import type { Queryable } from '../../../src/pg/queryable.js';
import { edgeMajors, useTestDatabase } from '../../support/pg.js';
import { SCHEMA } from '../../support/catalog-schema.js';

describe('inlineParams', () => {
  it('writes parameters as literals, arrays and NULL included, and refuses a missing one', () => {
    expect(inlineParams('select $1::text, $2::oid[], $3, $10', ["it's", [1, 2], null, 1, 2, 3, 4, 5, 6, true])).toBe(
      "select 'it''s'::text, '{1,2}'::oid[], NULL, true",
    );
    expect(inlineParams('select $1::text[]', [['a"b', 'c\\d']])).toBe(`select E'{"a\\\\"b","c\\\\\\\\d"}'::text[]`);
    expect(() => inlineParams('select $2', [1])).toThrow(/\$2 has no value \(1 given\)/);
  });
});

for (const major of edgeMajors()) {
  describe(`catalog lookups on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    beforeAll(async () => {
      await db.query(SCHEMA);
      await db.query('CREATE SCHEMA "Odd"; CREATE TABLE "Odd"."Mixed Case" (k text PRIMARY KEY, n int DEFAULT 7)');
      await db.query('CREATE TABLE never_analyzed (id int PRIMARY KEY)');
      await db.query('ANALYZE parent; ANALYZE orders; ANALYZE ev_a; ANALYZE ev_b1; ANALYZE ev_default');
    });

    // Both ways of reading give the same facts: the DDL kinds read through probes.
    const readers: [string, () => Queryable][] = [
      ['directly', () => db.pool],
      ['through probes', () => probing(db.pool, { lockTimeoutMs: 200 })],
    ];
    for (const [how, reader] of readers) {
      it(`finds tables by name and by OID, with kind and statistics (${how})`, async () => {
        const q = reader();
        const t = (await findTable(q, 'orders'))!;
        expect(t).toMatchObject({
          schema: 'public',
          name: 'orders',
          qualified: '"public"."orders"',
          regclass: 'orders',
          relkind: 'r',
          persistence: 'p',
          reltuples: 3002,
        });
        expect(t.heapBytes).toBe(t.relpages * 8192);
        expect(t.indexBytes).toBeGreaterThan(0);
        expect(rowEstimate(t)).toBe(3002);
        const odd = (await findTable(q, '"Odd"."Mixed Case"'))!;
        expect(odd).toMatchObject({ schema: 'Odd', name: 'Mixed Case', qualified: '"Odd"."Mixed Case"', regclass: '"Odd"."Mixed Case"' });
        expect(await findTable(q, 'no_such_table')).toBeUndefined();
        expect((await findTable(q, 'never_analyzed'))!.reltuples).toBeNull();
        expect((await findTable(q, 'ev_a'))!.partitionOf).toBe('ev');
        const byOid = await tablesByOid(q, [t.oid, odd.oid, 4_000_000_000]);
        expect(byOid.map((x) => x.name).sort()).toEqual(['Mixed Case', 'orders']);
        expect(await tablesByOid(q, [])).toEqual([]);
      });

      it(`reads columns, the primary key, indexes and constraints (${how})`, async () => {
        const q = reader();
        const t = (await findTable(q, 'orders'))!;
        const cols = await tableColumns(q, t.oid);
        expect(cols.map((c) => c.name)).toEqual(['id', 'name', 'amount', 'at', 'qty', 'parent_id', 'note']);
        expect(cols[1]).toMatchObject({
          attnum: 2,
          type: 'character varying(50)',
          typname: 'varchar',
          typschema: 'pg_catalog',
          notNull: false,
          identity: '',
          generated: '',
        });
        expect(cols.find((c) => c.name === 'qty')!.domainWithConstraints).toBe(true);
        const odd = (await findTable(q, '"Odd"."Mixed Case"'))!;
        expect(await findColumn(q, odd.oid, 'n')).toMatchObject({ type: 'integer', defaultExpr: '7' });
        expect(await findColumn(q, odd.oid, 'missing')).toBeUndefined();
        expect(await primaryKey(q, odd.oid)).toEqual([{ name: 'k', type: 'text' }]);
        expect(await primaryKey(q, (await findTable(q, 'child'))!.oid)).toEqual([]);

        const idx = await tableIndexes(q, t.oid);
        expect(idx.map((i) => i.name)).toEqual(['orders_name_idx', 'orders_pkey']);
        expect(idx[1]).toMatchObject({
          primary: true,
          unique: true,
          valid: true,
          ready: true,
          columns: ['id'],
          constraint: 'orders_pkey',
          table: 'orders',
          tableOid: t.oid,
        });
        expect(idx[1]!.definition).toBeUndefined();
        expect((await tableIndexes(q, t.oid, { definitions: true }))[0]!.definition).toBe(
          'CREATE INDEX orders_name_idx ON public.orders USING btree (name)',
        );
        expect(await findIndex(q, 'public', 'orders_name_idx')).toMatchObject({
          columns: ['name'],
          definition: expect.stringMatching(/^CREATE INDEX/),
        });
        expect((await findIndexShape(q, 'public', 'orders_name_idx'))!.definition).toBeUndefined();
        expect(await findIndex(q, 'Odd', 'orders_name_idx')).toBeUndefined();

        const cons = await tableConstraints(q, t.oid);
        expect(cons.map((c) => `${c.name}:${c.contype}:${c.validated}`)).toEqual(
          expect.arrayContaining([
            'orders_amount_check:c:true',
            'orders_note_nn:c:false',
            'orders_parent_fkey:f:true',
            'orders_pkey:p:true',
          ]),
        );
        expect(await findConstraint(q, t.oid, 'orders_parent_fkey')).toMatchObject({
          columns: ['parent_id'],
          refTable: 'parent',
          refColumns: ['id'],
          definition: 'FOREIGN KEY (parent_id) REFERENCES parent(id)',
        });
        expect((await findConstraint(q, t.oid, 'orders_pkey'))!.index).toBe('orders_pkey');
        expect(await findConstraint(q, t.oid, 'nope')).toBeUndefined();
      });

      it(`follows foreign keys both ways, triggers, views and partitions (${how})`, async () => {
        const q = reader();
        const parent = (await findTable(q, 'parent'))!;
        const orders = (await findTable(q, 'orders'))!;
        const incoming = await foreignKeys(q, { to: [parent.oid] });
        expect(incoming.map((f) => `${f.childTable}:${f.indexed}:${f.onDelete}`).sort()).toEqual([
          'child:true:c',
          'loose:false:a',
          'orders:false:a',
        ]);
        const out = await foreignKeys(q, { from: [orders.oid] });
        expect(out).toEqual([
          expect.objectContaining({
            name: 'orders_parent_fkey',
            child: orders.oid,
            parent: parent.oid,
            childColumns: ['parent_id'],
            parentColumns: ['id'],
            parentTypes: ['integer'],
            inherited: false,
          }),
        ]);
        expect(await foreignKeys(q, { from: [] })).toEqual([]);

        const trg = await tableTriggers(q, orders.oid);
        expect(trg.filter((x) => !x.internal)).toEqual([
          expect.objectContaining({
            name: 'orders_trg',
            enabled: 'O',
            definition: expect.stringMatching(/BEFORE UPDATE ON public\.orders/),
          }),
        ]);
        expect(trg.filter((x) => x.internal).length).toBeGreaterThan(0); // the FK's own triggers

        expect((await dependentViews(q, [orders.oid])).map((v) => v.regclass)).toEqual(['v_orders']);
        expect((await dependentViews(q, [orders.oid], 10)).map((v) => `${v.regclass}:${v.depth}`)).toEqual(['v_orders:1', 'v_orders2:2']);
        expect(await viewReads(q, (await findTable(q, 'v_orders'))!.oid)).toEqual(['orders']);

        const ev = (await findTable(q, 'ev'))!;
        const kids = await descendants(q, ev.oid);
        expect(kids.map((k) => `${k.regclass}:${k.relkind}:${k.direct}:${k.isDefault}`)).toEqual(
          expect.arrayContaining(['ev_a:r:true:false', 'ev_b:p:true:false', 'ev_default:r:true:true', 'ev_b1:r:false:false']),
        );
        expect(kids.every((k) => k.partition)).toBe(true);
      });
    }

    it('estimates rows from reltuples, summed over leaf partitions, n_live_tup before the first ANALYZE', async () => {
      await db.query("INSERT INTO ev SELECT g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'z' END FROM generate_series(1, 40) g");
      await db.query('ANALYZE ev_a; ANALYZE ev_default');
      const ev = (await findTable(db.pool, 'ev'))!;
      expect(await estimateRows(db.pool, ev.oid, true)).toBe(40);
      expect(await estimateRows(db.pool, (await findTable(db.pool, 'orders'))!.oid, false)).toBe(3002);
      const fresh = (await findTable(db.pool, 'never_analyzed'))!;
      expect(await estimateRows(db.pool, fresh.oid, false)).toBeNull();
    });

    it('answers the analyzer: index owners, function volatility, casts, constrained domains', async () => {
      expect(await indexOwner(db.pool, 'orders_pkey')).toMatchObject({
        index: 'orders_pkey',
        table: 'orders',
        tableKind: 'r',
        partitioned: false,
        valid: true,
        constraint: 'orders_pkey',
      });
      expect(await indexOwner(db.pool, 'no_such_index')).toBeUndefined();
      expect(await functionVolatility(db.pool, undefined, 'random', 0)).toBe('volatile');
      expect(await functionVolatility(db.pool, 'pg_catalog', 'now', 0)).toBe('stable');
      expect(await functionVolatility(db.pool, undefined, 'lower', 1)).toBe('immutable');
      expect(await castMethod(db.pool, 'pg_catalog.varchar', 'text')).toBe('b');
      expect(await castMethod(db.pool, 'point', 'int4')).toBeUndefined();
      expect(await isConstrainedDomain(db.pool, 'posint')).toBe(true);
      expect(await isConstrainedDomain(db.pool, 'no_such_type')).toBeUndefined();
    });

    it('never waits behind an ACCESS EXCLUSIVE lock, except for CHECK definitions (pg_get_constraintdef opens the table)', async () => {
      const holder = new pg.Client(db.url);
      await holder.connect();
      try {
        await holder.query('BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
        const q = probing(db.pool, { lockTimeoutMs: 100 });
        const t0 = Date.now();
        const t = (await findTable(q, 'orders'))!;
        await Promise.all([
          tableColumns(q, t.oid),
          tableIndexes(q, t.oid),
          foreignKeys(q, { from: [t.oid] }),
          tableTriggers(q, t.oid),
          dependentViews(q, [t.oid], 10),
          primaryKey(q, t.oid),
        ]);
        expect(Date.now() - t0).toBeLessThan(2000);
        // Deparsing a CHECK expression takes AccessShareLock: the probe's lock_timeout ends the wait.
        await expect(tableConstraints(q, t.oid)).rejects.toMatchObject({ code: '55P03' });
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
    });
  });
}
