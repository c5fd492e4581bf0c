// Domains and composite types used by tables, on a real server: ALTER DOMAIN ... ADD CONSTRAINT /
// SET NOT NULL lock and scan every table with a column of the domain (NOT VALID and defaults do
// not); ALTER TYPE ... CASCADE changes typed tables. Compared with pg_locks and the scan counters.
import { describe, expect, it } from 'vitest';
import { observeEntries } from './observe-entries.js';

const ENTRIES = [
  'doc-alter-domain-add-check',
  'doc-alter-domain-add-check-not-valid',
  'doc-alter-domain-set-not-null',
  'doc-alter-domain-drop-not-null',
  'doc-alter-domain-set-default',
  'doc-alter-type-add-attribute',
];

describe('domains and composite types', () => {
  it('locks and scans the tables that use them, as PostgreSQL does', { timeout: 120_000 }, async () => {
    const r = await observeEntries('dom', ENTRIES);
    expect(r.mismatches).toEqual([]);
    const check = r.comparisons.find((c) => c.entry.id === 'doc-alter-domain-add-check')!;
    expect(check.observed.locks.get('dom_t')).toBe('ShareLock');
    expect(check.predicted.findings.map((f) => f.rule)).toContain('domain-check-scan');
    const notValid = r.comparisons.find((c) => c.entry.id === 'doc-alter-domain-add-check-not-valid')!;
    expect(notValid.predicted.locks).toEqual([]);
    expect(notValid.observed.scanned).toEqual([]);
  });
});
