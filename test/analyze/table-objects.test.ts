// Statistics, rules, policies and publications on a real server: the table each one locks.
import { describe, expect, it } from 'vitest';
import { observeEntries } from './observe-entries.js';

const ENTRIES = [
  'doc-create-statistics',
  'doc-create-statistics-if-not-exists',
  'doc-drop-statistics',
  'doc-create-rule',
  'doc-drop-rule',
  'doc-alter-policy',
  'doc-drop-policy',
  'doc-create-publication',
  'doc-alter-publication-add',
];

describe('objects attached to a table', () => {
  it('lock the table they are attached to, in the mode PostgreSQL uses', { timeout: 120_000 }, async () => {
    const r = await observeEntries('tobj', ENTRIES);
    expect(r.comparisons).toHaveLength(ENTRIES.length);
    expect(r.mismatches).toEqual([]);
    const stats = r.comparisons.find((c) => c.entry.id === 'doc-create-statistics')!;
    expect(stats.observed.locks.get('t')).toBe('ShareUpdateExclusiveLock');
    expect(stats.predicted.tableScan).toBe(false);
  });
});
