// `pgrunbook init` as the operator runs it: exit codes, nothing written on bad input, the summary
// on stderr, --explain, a runbook that `validate` accepts, and --verify's proof.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCli } from '../support/cli.js';
import pg from 'pg';
import { BASE } from '../init/support.js';
import { createDatabase, edgeMajors } from '../support/pg.js';

const fx = (p: string) => fileURLToPath(new URL(`../fixtures/init/${p}`, import.meta.url));
const run = (args: string[], input?: string) => startCli(['init', ...args], { input }).done;

describe('pgrunbook init', () => {
  const dir = mkdtempSync(join(tmpdir(), 'init-cli-'));

  it('bad input: FILE:LINE:COL, exit 2, nothing written', async () => {
    const out = join(dir, 'never.yaml');
    for (const [from, msg] of [
      [fx('bad/syntax.sql'), /syntax\.sql:1:\d+: syntax error/],
      [fx('bad/concurrently-in-transaction.sql'), /concurrently-in-transaction\.sql:2:1: CREATE INDEX CONCURRENTLY/],
      [fx('.'), /no known migration layout/],
    ] as const) {
      const r = await run(['--from', from, '-o', out]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).toMatch(/hint:/);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('--explain prints the rewrite table from stdin and writes nothing', async () => {
    const r = await run(
      ['--from', '-', '--explain'],
      'CREATE INDEX orders_amount_idx ON orders (amount);\nALTER TABLE orders ADD COLUMN note text;\n',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/stdin:1:1 {2}REWRITTEN {2}CREATE INDEX orders_amount_idx ON orders \(amount\)/);
    expect(r.stdout).toMatch(/lock: SHARE → SHARE UPDATE EXCLUSIVE/);
    expect(r.stdout).toMatch(/2 statements: 1 kept, 1 rewritten \(create_index\)\./);
  });

  it('writes a commented runbook that validate accepts, with the summary on stderr', async () => {
    const out = join(dir, 'flyway.yaml');
    const r = await run(['--from', fx('flyway'), '--only', '1.1,2', '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/3 statements: \d kept, \d rewritten \(create_index, add_check[a-z_, ]*\)\. Wrote/);
    const v = await startCli(['validate', out]).done;
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });

  it('--verify proves the runbook ends in the naive migration’s schema', async () => {
    const schema = join(dir, 'schema.sql');
    writeFileSync(schema, BASE);
    const sql = join(dir, 'change.sql');
    writeFileSync(
      sql,
      'ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();\nCREATE INDEX orders_token_idx ON orders (token);\n',
    );
    const r = await run(['--from', sql, '-o', join(dir, 'change.yaml'), '--verify', '--schema', schema]);
    expect(r.stderr).toMatch(/verify: same end schema/);
    expect(r.code, r.stderr).toBe(0);
  });

  it("--verify --db starts both sandboxes from the target database's own schema", async () => {
    const db = await createDatabase(undefined, 'initdb');
    try {
      const c = new pg.Client(db.url);
      await c.connect();
      await c.query(`CREATE TABLE stock (id bigserial PRIMARY KEY, qty int NOT NULL DEFAULT 0, label text);
        CREATE INDEX stock_label_idx ON stock (label);
        CREATE VIEW stock_labels AS SELECT id, label FROM stock;
        INSERT INTO stock (qty, label) SELECT g, 's' || g FROM generate_series(1, 500) g; ANALYZE stock`);
      await c.end();
      const sql = join(dir, 'widen.sql');
      writeFileSync(sql, 'ALTER TABLE stock ALTER COLUMN qty TYPE bigint;\n');
      const r = await run(['--from', sql, '--db', db.url, '-o', join(dir, 'widen.yaml'), '--verify']);
      expect(r.stderr).toMatch(/from the schema of the --db database \(2 tables and views, no rows\)/);
      expect(r.stderr).toMatch(/verify: same end schema/);
      // Then the runbook is rehearsed on a sample of the --db database, and its verdict reported.
      expect(r.stderr).toMatch(/verify: rehearsing the runbook on a 1% sample of the --db database/);
      expect(r.stderr).toMatch(
        /verify: rehearsal on .*: deploy completed, rollback NOT verified; projected deploy on the --db database \d+\.\d s \(range/,
      );
      // The contract step (drop_old) removes what the swap's rollback needs, and the rehearsal says so.
      expect(r.stderr).toMatch(
        /verify: rehearsal warning: the rollback phase failed: cannot swap back: public\.stock_old no longer exists/,
      );
      expect(r.code, r.stderr).toBe(0);
      // The view reads stock, so the live catalog sends the change to swap_table (which recreates views).
      expect(r.stderr).toMatch(/1 rewritten \(swap_table\)/);
    } finally {
      await db.drop();
    }
  });
});

for (const major of edgeMajors()) {
  describe(`pgrunbook init --verify --db against PostgreSQL ${major}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'init-cli-major-'));

    it('sandboxes run the --db server’s major, and a non-swap runbook (column, index, foreign key) is proved and rehearsed', async () => {
      const db = await createDatabase(major, 'initmajor');
      try {
        const c = new pg.Client(db.url);
        await c.connect();
        await c.query(`CREATE TABLE customers (id bigserial PRIMARY KEY, name text);
          CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint, amount int);
          INSERT INTO customers (name) SELECT 'c' || g FROM generate_series(1, 200) g;
          INSERT INTO orders (customer_id, amount) SELECT 1 + g % 200, g FROM generate_series(1, 2000) g; ANALYZE`);
        await c.end();
        const sql = join(dir, 'change.sql');
        writeFileSync(
          sql,
          `ALTER TABLE orders ADD COLUMN note text;
CREATE INDEX orders_customer_idx ON orders (customer_id);
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);
`,
        );
        const r = await run(['--from', sql, '--db', db.url, '-o', join(dir, 'change.yaml'), '--verify']);
        expect(r.stderr).toMatch(
          new RegExp(
            `verify: naive migration and runbook on two databases of an embedded PostgreSQL ${major} \\(the --db server’s major\\)`,
          ),
        );
        expect(r.stderr).toMatch(/verify: same end schema/);
        expect(r.stderr).toMatch(/verify: pgrunbook's own objects are left out/);
        expect(r.stderr).toMatch(/create_index/);
        expect(r.stderr).toMatch(/add_foreign_key/);
        // The kept ADD COLUMN has no down migration: the rollback is not verified, and the report says why and what to do.
        expect(r.stderr).toMatch(
          new RegExp(`verify: rehearsal on embedded PostgreSQL ${major} .*: deploy completed, rollback NOT verified`),
        );
        expect(r.stderr).toMatch(
          /verify: rollback NOT verified because step \S+ \(ALTER TABLE orders ADD COLUMN note text\) has no rollback: the migration has no down migration for it, .* Either add a down migration .* or accept that rolling back keeps this change/,
        );
        expect(r.code, r.stderr).toBe(0);
      } finally {
        await db.drop();
      }
    });
  });
}
