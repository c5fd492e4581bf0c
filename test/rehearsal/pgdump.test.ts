// pg_dump discovery: missing and too-old binaries fail with the package to install.
import { describe, expect, it } from 'vitest';
import { findPgDump } from '../../src/rehearsal/pgdump.js';
import { rehearse } from '../../src/rehearsal/run-rehearsal.js';
import { makeRunbook, makeStep } from '../support/step-context.js';
import { useTestDatabase } from '../support/pg.js';

describe('pg_dump', () => {
  it('missing from PATH: names the Debian package', async () => {
    const err = await findPgDump(17, { path: '/nonexistent', versionedRoots: [] }).catch((e) => e);
    expect(err.message).toMatch(/pg_dump not found on PATH/);
    expect(err.hint).toMatch(/postgresql-client/);
    expect(err.hint).toMatch(/postgresql-client-17/);
  });

  it('an override that does not run: says so', async () => {
    const err = await findPgDump(17, { override: '/nonexistent/pg_dump' }).catch((e) => e);
    expect(err.message).toMatch(/not found or not runnable at \/nonexistent\/pg_dump/);
    expect(err.hint).toMatch(/postgresql-client/);
  });

  it('older than the server: refuses, naming the version needed', async () => {
    const any = await findPgDump(0);
    const err = await findPgDump(any.major + 1).catch((e) => e);
    expect(err.message).toMatch(new RegExp(`pg_dump ${any.major} .* older than the source server \\(PostgreSQL ${any.major + 1}\\)`));
    expect(err.hint).toMatch(new RegExp(`postgresql-client-${any.major + 1}`));
  });

  describe('in a rehearsal', () => {
    const db = useTestDatabase();
    it('with schemaFrom pg_dump: fails before any sandbox is started, with the clear error', async () => {
      await db.query(`create table t (id int primary key)`);
      const runbook = makeRunbook([makeStep('sql', 'ALTER TABLE t ADD COLUMN x int', { id: 'a', rollback: 'ALTER TABLE t DROP COLUMN x' })]);
      const t0 = Date.now();
      const err = await rehearse({ runbook, sourceUrl: db.url, schemaFrom: 'pg_dump', pgDump: { path: '/nonexistent', versionedRoots: [] } }).catch((e) => e);
      expect(err.message).toMatch(/pg_dump not found/);
      expect(err.hint).toMatch(/postgresql-client/);
      expect(Date.now() - t0).toBeLessThan(5000);
    });
  });
});
