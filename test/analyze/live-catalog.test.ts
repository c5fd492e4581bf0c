// The analyzer's live catalog on real PostgreSQL (oldest and newest major of the suite): what
// `analyze --db` and `plan` read about relations, indexes, functions, casts and types.
import { describe, expect, it } from 'vitest';
import { LiveCatalog, modsFromFormatType } from '../../src/analyze/live-catalog.js';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { SCHEMA } from '../support/catalog-schema.js';

describe('modsFromFormatType', () => {
  it('reads type modifiers back from format_type()', () => {
    expect(modsFromFormatType('character varying(50)')).toEqual([50]);
    expect(modsFromFormatType('numeric(10,2)')).toEqual([10, 2]);
    expect(modsFromFormatType('timestamp(3) with time zone')).toEqual([3]);
    expect(modsFromFormatType('text')).toEqual([]);
  });
});

for (const major of edgeMajors()) {
  describe(`live catalog on PostgreSQL ${major}`, () => {
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
      expect(t.constraints.get('orders_amount_check')).toMatchObject({
        type: 'check',
        validated: true,
        columns: ['amount'],
        provesNotNull: [],
      });
      expect(t.constraints.get('orders_note_nn')).toMatchObject({ type: 'check', validated: false, provesNotNull: ['note'] });
      expect(t.constraints.get('orders_name_nn')).toMatchObject({ validated: true, provesNotNull: ['name'] });
      expect(t.constraints.get('orders_parent_fkey')).toMatchObject({
        type: 'foreign key',
        refTable: 'parent',
        refColumns: ['id'],
        columns: ['parent_id'],
      });
      expect(t.indexes.get('orders_pkey')).toMatchObject({
        primary: true,
        unique: true,
        valid: true,
        columns: ['id'],
        constraint: 'orders_pkey',
      });
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

    it('reads what the no-op, sequence, expression-index, domain and statistics rules need', async () => {
      await db.query(`
        CREATE DOMAIN pos2 AS int CHECK (VALUE > 0);
        CREATE TYPE pair2 AS (a int);
        CREATE TABLE extra (id serial PRIMARY KEY, k int GENERATED BY DEFAULT AS IDENTITY, d pos2, n numeric(10,2), s text);
        CREATE INDEX extra_expr ON extra ((n * 2)) WHERE s IS NOT NULL;
        CREATE INDEX extra_s ON extra (s);
        CREATE TABLE typed2 OF pair2;
        CREATE STATISTICS extra_stats ON n, s FROM extra;`);
      const cat = new LiveCatalog(db.pool);
      const t = (await cat.relation(undefined, 'extra'))!;
      expect(t.tablespace).toBe('pg_default');
      expect(t.accessMethod).toBe('heap');
      expect(t.ownedSequences).toEqual([
        { sequence: 'extra_id_seq', column: 'id', identity: false },
        { sequence: 'extra_k_seq', column: 'k', identity: true },
      ]);
      expect(t.indexes.get('extra_expr')!.expressionColumns!.sort()).toEqual(['n', 's']);
      expect(t.indexes.get('extra_s')!.expressionColumns).toEqual([]);
      expect(await cat.typeUsers(undefined, 'pos2')).toEqual([{ table: 'extra', column: 'd', relkind: 'r' }]);
      expect(await cat.typeUsers(undefined, 'pair2')).toEqual([{ table: 'typed2', relkind: 'r' }]);
      expect(await cat.statisticsTable(undefined, 'extra_stats')).toBe('extra');
      expect(await cat.statisticsTable('public', 'nope')).toBeUndefined();
    });
  });
}
