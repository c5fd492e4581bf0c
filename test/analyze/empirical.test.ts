// `analyze` against reality: every corpus statement is analyzed with the live catalog, then run on
// the fixture (rolled back, or observed from a second session for CONCURRENTLY forms) on each
// PostgreSQL major of the suite. Bar (issue 12): >= 99% agreement on lock mode, rewrite and scan.
import { describe, expect, it } from 'vitest';
import { createDatabase, majors } from '../support/pg.js';
import { runCorpus } from './observe.js';

describe('analyze agrees with PostgreSQL', () => {
  for (const major of majors()) {
    it(`PostgreSQL ${major}: locks, rewrites and scans of the corpus`, { timeout: 240_000 }, async () => {
      const db = await createDatabase(major, 'empirical');
      try {
        const r = await runCorpus({ url: db.url, major });
        const summary = `PG${major}: ${r.comparisons.length} statements; lock ${r.agreement.lock.toFixed(1)}%, rewrite ${r.agreement.rewrite.toFixed(1)}%, scan ${r.agreement.scan.toFixed(1)}%, transactional ${r.agreement.transactional.toFixed(1)}%`;
        console.log([summary, ...r.mismatches.map((m) => `  mismatch: ${m}`)].join('\n'));
        expect(r.comparisons.length).toBeGreaterThan(340);
        expect(r.agreement.lock, r.mismatches.join('\n')).toBeGreaterThanOrEqual(99);
        expect(r.agreement.rewrite, r.mismatches.join('\n')).toBeGreaterThanOrEqual(99);
        expect(r.agreement.scan, r.mismatches.join('\n')).toBeGreaterThanOrEqual(99);
        expect(r.agreement.transactional, r.mismatches.join('\n')).toBe(100);
      } finally {
        await db.drop();
      }
    });
  }
});
