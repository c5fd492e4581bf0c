// plan reads the WAL segments pg_wal holds ready for reuse from a real server (pg_ls_waldir), and a
// role that may not list pg_wal still gets the checkpoint distance, without that figure.
import { describe, expect, it } from 'vitest';
import { readCheckpointFacts } from '../../../src/analyze/plan/wal-pacing.js';
import { plainRoleSql, poolAsRole, useTestDatabase } from '../../support/pg.js';

describe('readCheckpointFacts: segments ready for reuse', () => {
  const db = useTestDatabase();

  it('counts the segment files ahead of the one being written, with their size and wal_init_zero', async () => {
    const facts = await readCheckpointFacts(db.pool);
    if ('error' in facts) throw new Error(facts.error);
    const files = await db.query(
      `select count(*)::int n from pg_ls_waldir() where name ~ '^[0-9A-F]{24}$' and name > pg_walfile_name(pg_current_wal_insert_lsn())`,
    );
    expect(facts.walReuse).toEqual({ ready: files[0].n, segmentBytes: 16 * 1024 ** 2, initZero: true });
  });

  it('leaves it out for a role that may not list pg_wal, and keeps the checkpoint distance', async () => {
    await db.query(plainRoleSql('wal_reuse_plain'));
    const pool = poolAsRole(db.url, 'wal_reuse_plain');
    try {
      const facts = await readCheckpointFacts(pool);
      if ('error' in facts) throw new Error(facts.error);
      expect(facts.maxWalBytes).toBeGreaterThan(0);
      expect(facts.walReuse).toBeUndefined();
    } finally {
      await pool.end();
    }
  });
});
