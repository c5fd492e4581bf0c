// prefer-robust-stmts: a statement a retried migration would fail on (outside a transaction block).
import { describe, expect, it } from 'vitest';
import { analyzeSql } from '../../src/analyze/analyze-statements.js';

const robust = async (sql: string) =>
  (await analyzeSql(sql, { serverVersionNum: 170000, squawk: false })).statements.map(
    (s) => s.findings.find((f) => f.rule === 'prefer-robust-stmts')?.message ?? null,
  );

describe('prefer-robust-stmts', () => {
  it('asks for IF [NOT] EXISTS where a second run would fail', async () => {
    const r = await robust(`
      CREATE INDEX CONCURRENTLY t_a_idx ON t (a);
      ALTER TABLE t ADD COLUMN c int;
      ALTER TABLE t DROP COLUMN c;
      DROP INDEX CONCURRENTLY t_a_idx;
      CREATE TABLE n (id int);
      ALTER TABLE t DROP CONSTRAINT t_c_check;`);
    expect(r[0]).toMatch(/CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx/);
    expect(r[1]).toMatch(/ADD COLUMN IF NOT EXISTS/);
    expect(r[2]).toMatch(/DROP COLUMN IF EXISTS/);
    expect(r[3]).toMatch(/DROP INDEX IF EXISTS/);
    expect(r[4]).toMatch(/CREATE TABLE IF NOT EXISTS/);
    expect(r[5]).toMatch(/DROP CONSTRAINT IF EXISTS/);
  });

  it('is quiet for robust forms and inside a transaction block (a retry starts clean)', async () => {
    const r = await robust(`
      CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a_idx ON t (a);
      ALTER TABLE t ADD COLUMN IF NOT EXISTS c int;
      DROP INDEX IF EXISTS t_a_idx;
      BEGIN;
      ALTER TABLE t ADD COLUMN d int;
      COMMIT;`);
    expect(r).toEqual([null, null, null, null, null, null]);
  });

  it('is information, not a warning: --fail-on warning does not trip on it', async () => {
    const r = await analyzeSql('ALTER TABLE t ADD COLUMN c int', { serverVersionNum: 170000, squawk: false });
    expect(r.statements[0]!.findings.find((f) => f.rule === 'prefer-robust-stmts')?.severity).toBe('info');
  });
});
