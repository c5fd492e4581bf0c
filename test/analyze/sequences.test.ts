// Sequences on a real server: ALTER SEQUENCE (SHARE ROW EXCLUSIVE on it; OWNED BY reads the owning
// table), sequence functions, and the sequences owned by serial / identity columns, which follow
// their table (dropped, moved, reset, retyped with it). Predictions are compared with pg_locks.
import { describe, expect, it } from 'vitest';
import { analyzeSql } from '../../src/analyze/analyze-statements.js';
import { observeEntries } from './observe-entries.js';

const SEQUENCE_ENTRIES = [
  'doc-alter-sequence-restart',
  'doc-alter-sequence-restart-owned',
  'doc-alter-sequence-owned-by',
  'doc-alter-sequence-owned-by-none',
  'doc-alter-sequence-as-bigint',
  'doc-setval',
  'doc-nextval',
  'doc-insert-serial',
  'doc-create-sequence-owned-by',
  'doc-drop-col-serial',
  'doc-drop-table-serial',
  'doc-set-schema-serial',
  'doc-truncate-restart-identity',
  'doc-identity-restart',
  'doc-drop-identity',
  'doc-type-identity-to-bigint',
];

describe('sequences', () => {
  it('predicts the locks PostgreSQL takes on sequences and their tables', { timeout: 120_000 }, async () => {
    const r = await observeEntries('seq', SEQUENCE_ENTRIES);
    expect(r.comparisons).toHaveLength(SEQUENCE_ENTRIES.length);
    expect(r.mismatches).toEqual([]);
    const owned = r.comparisons.find((c) => c.entry.id === 'doc-alter-sequence-owned-by')!;
    expect(owned.observed.locks.get('plain')).toBe('AccessShareLock');
    expect(owned.predicted.locks).toEqual(
      expect.arrayContaining([expect.objectContaining({ relation: 'free_seq', mode: 'ShareRowExclusiveLock', relkind: 'sequence' })]),
    );
  });

  it('takes a sequence function’s lock only where the expression runs', async () => {
    const r = await analyzeSql(`SELECT nextval('order_ids'); ALTER TABLE t ALTER COLUMN id SET DEFAULT nextval('order_ids');`, {
      serverVersionNum: 170000,
      squawk: false,
    });
    expect(r.statements[0]!.locks).toEqual([expect.objectContaining({ relation: 'order_ids', mode: 'RowExclusiveLock' })]);
    expect(r.statements[1]!.locks.map((l) => l.relation)).toEqual(['t']);
  });
});
