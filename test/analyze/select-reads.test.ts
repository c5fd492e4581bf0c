// A SELECT in a runbook (a `check` step's query) on a real server: min()/max() of an indexed
// column reads one end of the index, not the table, and a SELECT that reads the table is one read
// of it, not a rewrite. Compared with the server's scan counters and locks.
import { describe, expect, it } from 'vitest';
import { observeEntries } from './observe-entries.js';

describe('SELECT reads', () => {
  it('predicts no scan for min()/max() over btree columns and one read for max() of an unindexed one', { timeout: 120_000 }, async () => {
    const r = await observeEntries('sel', ['doc-select-max-indexed', 'doc-select-max-unindexed']);
    expect(r.mismatches).toEqual([]);
    const indexed = r.comparisons.find((c) => c.entry.id === 'doc-select-max-indexed')!;
    expect(indexed.observed.scanned).toEqual([]);
    expect(indexed.predicted).toMatchObject({ tableScan: false, work: 'none' });
    const unindexed = r.comparisons.find((c) => c.entry.id === 'doc-select-max-unindexed')!;
    expect(unindexed.observed.scanned).toEqual(['t']);
    expect(unindexed.predicted).toMatchObject({ tableScan: true, work: 'scan' });
  });
});
