// The table facts `plan` shows, on real PostgreSQL (oldest and newest major): sizes without
// count(*), and no queueing behind an ACCESS EXCLUSIVE lock.
import { beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { planTableFacts as tableFacts } from '../../../src/pg/catalog/plan-table-facts.js';
import { readOnly } from '../../../src/analyze/plan/plan-read-only.js';
import { edgeMajors, useTestDatabase } from '../../support/pg.js';
import { SCHEMA } from '../../support/catalog-schema.js';

for (const major of edgeMajors()) {
  describe(`plan table facts on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    beforeAll(async () => {
      await db.query(SCHEMA);
      // A failed concurrent build leaves an INVALID index behind.
      await db.query('CREATE UNIQUE INDEX CONCURRENTLY orders_name_uidx ON orders (name)').catch(() => {});
      await db.query('ANALYZE');
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
  });
}
