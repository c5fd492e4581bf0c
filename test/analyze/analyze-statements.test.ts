// The analyzer without a database: JSON shape, findings and safe alternatives, what stays uncertain,
// session tracking (BEGIN, SET lock_timeout, SET TimeZone), script effects carried from statement
// to statement, version gates. Squawk is off here (test/analyze/squawk.test.ts covers it).
import { describe, expect, it } from 'vitest';
import { analyzeSql } from '../../src/analyze/analyze-statements.js';
import type { StatementAnalysis } from '../../src/analyze/analysis-types.js';
import { SqlSyntaxError } from '../../src/pg/sqlparse.js';

const offline = (sql: string, major = 17) => analyzeSql(sql, { serverVersionNum: major * 10000, squawk: false });
const rules = (s: StatementAnalysis) => s.findings.map((f) => f.rule);

describe('analyze (offline)', () => {
  it('produces the JSON shape of the CLI contract', async () => {
    const r = await offline('ALTER TABLE orders ADD COLUMN total numeric DEFAULT random();');
    expect(r.server_version).toBe(170000);
    const s = r.statements[0]!;
    expect(s).toMatchObject({
      index: 0,
      sql: 'ALTER TABLE orders ADD COLUMN total numeric DEFAULT random()',
      line: 1,
      locks: [{ relation: 'orders', mode: 'AccessExclusiveLock' }],
      rewrite: true,
      // A rewrite reads every row: reported as a scan too (the JSON contract, README "analyze --json").
      tableScan: true,
      transactional: true,
    });
    const f = s.findings.find((x) => x.rule === 'add-column-volatile-default')!;
    expect(f).toMatchObject({ severity: 'warning', source: 'pgrunbook' });
    expect(f.message).toMatch(/random\(\).*rewrites orders/);
    expect(f.safe_alternative).toMatch(/backfill/);
    // JSON round trip keeps the documented keys.
    const json = JSON.parse(JSON.stringify(r));
    expect(Object.keys(json.statements[0])).toEqual(
      expect.arrayContaining(['index', 'sql', 'line', 'locks', 'rewrite', 'tableScan', 'transactional', 'findings']),
    );
  });

  it('says what stays uncertain without --db', async () => {
    const r = await analyzeSql('ALTER TABLE t ALTER COLUMN c TYPE varchar(200)', { squawk: false });
    expect(r.versionSource).toBe('default');
    expect(r.catalog).toBe('none');
    expect(r.uncertain.join('\n')).toMatch(/no --db/);
    expect(r.uncertain.join('\n')).toMatch(/assuming PostgreSQL 17/);
    const s = r.statements[0]!;
    expect(s.rewrite).toBe(true);
    expect(s.uncertain.join('\n')).toMatch(/current type of t\.c/);
  });

  it('knows constant, stable and volatile defaults, serial, identity and stored generated columns', async () => {
    const r = await offline(`
      ALTER TABLE t ADD COLUMN a int DEFAULT 0;
      ALTER TABLE t ADD COLUMN b timestamptz DEFAULT now();
      ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid();
      ALTER TABLE t ADD COLUMN d bigserial;
      ALTER TABLE t ADD COLUMN e int GENERATED ALWAYS AS IDENTITY;
      ALTER TABLE t ADD COLUMN f int GENERATED ALWAYS AS (a * 2) STORED;
      ALTER TABLE t ADD COLUMN g int NOT NULL;`);
    expect(r.statements.map((s) => s.rewrite)).toEqual([false, false, true, true, true, true, false]);
    expect(rules(r.statements[3]!)).toContain('add-column-serial');
    expect(rules(r.statements[5]!)).toContain('add-column-generated-stored');
    expect(r.statements[6]!.tableScan).toBe(true);
    expect(r.statements[6]!.findings.find((f) => f.rule === 'add-column-not-null-without-default')?.severity).toBe('error');
  });

  it('carries script effects: a validated CHECK (col IS NOT NULL) makes SET NOT NULL skip its scan', async () => {
    const r = await offline(`
      ALTER TABLE orders ADD CONSTRAINT amount_nn CHECK (amount IS NOT NULL) NOT VALID;
      ALTER TABLE orders VALIDATE CONSTRAINT amount_nn;
      ALTER TABLE orders ALTER COLUMN amount SET NOT NULL;
      ALTER TABLE orders ALTER COLUMN other SET NOT NULL;`);
    const [add, validate, setNn, other] = r.statements;
    expect(add!.tableScan).toBe(false);
    expect(rules(add!)).toContain('not-valid-needs-validate');
    expect(validate!.locks).toEqual([{ relation: 'orders', mode: 'ShareUpdateExclusiveLock' }]);
    expect(validate!.tableScan).toBe(true);
    expect(setNn!.tableScan).toBe(false);
    expect(setNn!.notes.join(' ')).toMatch(/amount_nn proves amount IS NOT NULL/);
    expect(other!.tableScan).toBe(true);
    expect(rules(other!)).toContain('set-not-null-scan');
    expect(other!.findings.find((f) => f.rule === 'set-not-null-scan')!.safe_alternative).toMatch(/not_null/);
  });

  it('flags CONCURRENTLY inside BEGIN and tracks the transaction block', async () => {
    const r = await offline(`BEGIN;
CREATE INDEX CONCURRENTLY i ON t (c);
COMMIT;
CREATE INDEX CONCURRENTLY j ON t (c);`);
    const inBlock = r.statements[1]!;
    expect(inBlock.transactional).toBe(false);
    expect(inBlock.findings.find((f) => f.rule === 'not-in-transaction-block')?.severity).toBe('error');
    expect(rules(r.statements[3]!)).not.toContain('not-in-transaction-block');
    expect(inBlock.line).toBe(2);
    expect(inBlock.locks).toEqual([{ relation: 't', mode: 'ShareUpdateExclusiveLock' }]);
  });

  it('asks for lock_timeout until the script sets one', async () => {
    const r = await offline(`CREATE INDEX i ON t (c);
SET lock_timeout = '2s';
CREATE INDEX j ON t (c);
SET lock_timeout = 0;
ALTER TABLE t DROP COLUMN c;`);
    expect(rules(r.statements[0]!)).toContain('lock-timeout-missing');
    expect(rules(r.statements[2]!)).not.toContain('lock-timeout-missing');
    expect(rules(r.statements[4]!)).toContain('lock-timeout-missing');
    // A runner that always sets one (plan/run) suppresses it.
    const run = await analyzeSql('CREATE INDEX i ON t (c)', { squawk: false, lockTimeout: true });
    expect(rules(run.statements[0]!)).not.toContain('lock-timeout-missing');
  });

  it('decides timestamp -> timestamptz from the session TimeZone', async () => {
    const base = 'CREATE TABLE x (id int, at timestamp);';
    const utc = await offline(`${base} SET TIME ZONE 'UTC'; ALTER TABLE x ALTER COLUMN at TYPE timestamptz;`);
    expect(utc.statements[2]!.rewrite).toBe(false);
    const berlin = await offline(`${base} SET TimeZone = 'Europe/Berlin'; ALTER TABLE x ALTER COLUMN at TYPE timestamptz;`);
    expect(berlin.statements[2]!.rewrite).toBe(true);
    const unknown = await offline(`${base} ALTER TABLE x ALTER COLUMN at TYPE timestamptz;`);
    expect(unknown.statements[1]!.rewrite).toBe(true);
    expect(unknown.statements[1]!.uncertain.join(' ')).toMatch(/TimeZone/);
    const given = await analyzeSql(`${base} ALTER TABLE x ALTER COLUMN at TYPE timestamptz;`, { squawk: false, timeZone: 'Etc/UTC' });
    expect(given.statements[1]!.rewrite).toBe(false);
  });

  it('knows binary-coercible type changes on columns the script created', async () => {
    const r = await offline(`CREATE TABLE x (id int, name varchar(50), amount numeric(10,2));
      ALTER TABLE x ALTER COLUMN name TYPE varchar(100);
      ALTER TABLE x ALTER COLUMN name TYPE text;
      ALTER TABLE x ALTER COLUMN amount TYPE numeric(12,2);
      ALTER TABLE x ALTER COLUMN amount TYPE numeric(12,4);
      ALTER TABLE x ALTER COLUMN id TYPE bigint;`);
    expect(r.statements.slice(1).map((s) => s.rewrite)).toEqual([false, false, false, true, true]);
  });

  it('gates syntax by server version', async () => {
    const sql = 'ALTER TABLE t ADD CONSTRAINT t_c_nn NOT NULL c NOT VALID';
    const pg17 = await offline(sql, 17);
    expect(pg17.statements[0]!.findings.find((f) => f.rule === 'requires-newer-server')?.message).toMatch(/PostgreSQL 18/);
    const pg18 = await offline(sql, 18);
    expect(rules(pg18.statements[0]!)).not.toContain('requires-newer-server');
    expect(pg18.statements[0]!.tableScan).toBe(false);
    const virt = await offline('ALTER TABLE t ADD COLUMN v int GENERATED ALWAYS AS (a + 1) VIRTUAL', 17);
    expect(rules(virt.statements[0]!)).toContain('requires-newer-server');
  });

  it('covers indexes, maintenance, partitions, DML and LOCK', async () => {
    const r = await offline(`
      CREATE INDEX i ON t (c);
      DROP INDEX CONCURRENTLY i;
      REINDEX TABLE CONCURRENTLY t;
      VACUUM FULL t;
      TRUNCATE t;
      ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY;
      ALTER TABLE p ATTACH PARTITION p2 FOR VALUES FROM (1) TO (10);
      UPDATE t SET a = 1;
      DELETE FROM t;
      LOCK TABLE t IN SHARE ROW EXCLUSIVE MODE;
      ALTER TYPE mood ADD VALUE 'x';
      CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f();
      COMMENT ON COLUMN t.c IS 'x';`);
    const [ci, dic, rc, vf, tr, det, att, upd, del, lock, en, trg, com] = r.statements;
    expect(ci!.locks[0]).toEqual({ relation: 't', mode: 'ShareLock' });
    expect(rules(ci!)).toContain('create-index-blocks-writes');
    expect(dic!.transactional).toBe(false);
    expect(rc!.locks[0]!.mode).toBe('ShareUpdateExclusiveLock');
    expect(rc!.transactional).toBe(false);
    expect(vf!.rewrite).toBe(true);
    expect(vf!.transactional).toBe(false);
    expect(tr!.rewrite).toBe(true);
    expect(tr!.work).toBe('catalog');
    expect(det!.locks.find((l) => l.relation === 'p')!.mode).toBe('ShareUpdateExclusiveLock');
    expect(det!.transactional).toBe(false);
    expect(att!.locks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ relation: 'p', mode: 'ShareUpdateExclusiveLock' }),
        expect.objectContaining({ relation: 'p2', mode: 'AccessExclusiveLock' }),
      ]),
    );
    expect(att!.tableScan).toBe(true);
    expect(rules(upd!)).toContain('update-without-where');
    expect(upd!.tableScan).toBe(true);
    expect(rules(del!)).toContain('delete-without-where');
    expect(lock!.locks[0]!.mode).toBe('ShareRowExclusiveLock');
    expect(en!.locks).toEqual([]);
    expect(rules(en!)).toContain('enum-add-value');
    expect(trg!.locks[0]!.mode).toBe('ShareRowExclusiveLock');
    expect(com!.locks[0]).toEqual({ relation: 't', mode: 'ShareUpdateExclusiveLock' });
  });

  it('reports statements it does not model instead of guessing', async () => {
    const r = await offline('DO $$ BEGIN PERFORM 1; END $$');
    expect(rules(r.statements[0]!)).toContain('not-modeled');
    expect(r.statements[0]!.work).toBe('unknown');
  });

  it('throws a syntax error with the offset of the problem', async () => {
    await expect(offline('SELECT 1;\nALTER TABLE t ADD COLUM x int;')).rejects.toBeInstanceOf(SqlSyntaxError);
  });

  it('maps data-modifying CTEs to their targets', async () => {
    const r = await offline('WITH u AS (UPDATE t SET a = 1 WHERE id > $1 AND id <= $2 RETURNING 1) SELECT count(*) FROM u');
    expect(r.statements[0]!.locks).toEqual([expect.objectContaining({ relation: 't', mode: 'RowExclusiveLock' })]);
  });

  it('reports tableScan with every rewrite that reads rows, not with TRUNCATE or SET TABLESPACE', async () => {
    const r = await offline(`
      ALTER TABLE t ALTER COLUMN c TYPE bigint;
      VACUUM FULL t;
      TRUNCATE t;
      ALTER TABLE t SET TABLESPACE fast;`);
    expect(r.statements.map((s) => [s.rewrite, s.tableScan])).toEqual([
      [true, true],
      [true, true],
      [true, false],
      [true, false],
    ]);
  });

  it('names the dangers squawk and strong_migrations name: json, wide indexes, default changes, one-statement backfills', async () => {
    const r = await offline(`
      ALTER TABLE t ADD COLUMN meta json;
      CREATE INDEX t_wide ON t (a, b, c, d);
      CREATE UNIQUE INDEX t_wide_u ON t (a, b, c, d);
      ALTER TABLE t ALTER COLUMN status SET DEFAULT 'new';
      UPDATE t SET flag = false WHERE flag IS NULL;
      UPDATE t SET flag = false WHERE id = 3;
      UPDATE t SET flag = false WHERE flag IS NULL AND id > 1000 AND id <= 3000;
      UPDATE t SET flag = false WHERE flag IS NULL AND (id, b) > (1000, 'x') AND 3000 >= id;
      UPDATE t SET flag = false WHERE flag IS NULL AND id > 1000;`);
    expect(rules(r.statements[0]!)).toContain('prefer-jsonb');
    expect(rules(r.statements[1]!)).toContain('index-too-many-columns');
    expect(rules(r.statements[2]!)).not.toContain('index-too-many-columns');
    expect(r.statements[3]!.findings.find((f) => f.rule === 'change-column-default')?.message).toMatch(
      /rows inserted from the commit on get the new default/,
    );
    expect(rules(r.statements[4]!)).toContain('backfill-in-one-statement');
    expect(rules(r.statements[5]!)).not.toContain('backfill-in-one-statement');
    // One batch of a key range (as a backfill step pages) is not the whole table; an open range is.
    expect(rules(r.statements[6]!)).not.toContain('backfill-in-one-statement');
    expect(rules(r.statements[7]!)).not.toContain('backfill-in-one-statement');
    expect(rules(r.statements[8]!)).toContain('backfill-in-one-statement');
  });

  it('does not warn about a default on a table the script creates', async () => {
    const r = await offline(`CREATE TABLE n (id int, s text); ALTER TABLE n ALTER COLUMN s SET DEFAULT 'x';`);
    expect(rules(r.statements[1]!)).not.toContain('change-column-default');
  });
});
