// Server facts `plan` shows, on real PostgreSQL (oldest and newest major), all read only.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { serverFacts } from '../../src/pg/server-facts.js';
import { readOnly } from '../../src/analyze/plan/plan-read-only.js';
import { edgeMajors, useTestDatabase } from '../support/pg.js';

for (const major of edgeMajors()) {
  describe(`server facts on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);

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
