// Domains and composite types used by tables, on a real server: ALTER DOMAIN ... ADD CONSTRAINT /
// SET NOT NULL lock and scan every table with a column of the domain (NOT VALID and defaults do
// not); ALTER TYPE ... CASCADE changes typed tables. Compared with pg_locks and the scan counters.
import { describe, expect, it } from 'vitest';
import { createDatabase, majors } from '../support/pg.js';
import { runCorpus } from './observe.js';

const ENTRIES = ['doc-alter-domain-add-check', 'doc-alter-domain-add-check-not-valid', 'doc-alter-domain-set-not-null', 'doc-alter-domain-drop-not-null', 'doc-alter-domain-set-default', 'doc-alter-type-add-attribute'];

describe('domains and composite types', () => {
  it('locks and scans the tables that use them, as PostgreSQL does', { timeout: 120_000 }, async () => {
    const major = majors()[0]!;
    const db = await createDatabase(major, 'dom');
    try {
      const r = await runCorpus({ url: db.url, major, only: ENTRIES });
      expect(r.mismatches).toEqual([]);
      const check = r.comparisons.find((c) => c.entry.id === 'doc-alter-domain-add-check')!;
      expect(check.observed.locks.get('dom_t')).toBe('ShareLock');
      expect(check.predicted.findings.map((f) => f.rule)).toContain('domain-check-scan');
      const notValid = r.comparisons.find((c) => c.entry.id === 'doc-alter-domain-add-check-not-valid')!;
      expect(notValid.predicted.locks).toEqual([]);
      expect(notValid.observed.scanned).toEqual([]);
    } finally {
      await db.drop();
    }
  });
});
