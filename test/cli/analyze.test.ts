// `pgrunbook analyze`: input handling, exit codes, --json shape, --db against a real server
// (read only: the analyzed statements are never executed), and errors that say what to do.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCommand, type AnalyzeIO } from '../../src/cli/commands/analyze-command.js';
import { exitCodeFor } from '../../src/cli/main.js';
import { InputError, RunbookError } from '../../src/util/runbook-error.js';
import { useTestDatabase } from '../support/pg.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-analyze-'));
function sqlFile(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function io(stdin = '', tty = false): AnalyzeIO & { text: () => string } {
  let out = '';
  return { out: (s) => void (out += s), readStdin: async () => stdin, stdinIsTTY: tty, text: () => out };
}

describe('pgrunbook analyze', () => {
  const db = useTestDatabase();

  it('reports a syntax error as FILE:LINE:COL and exits 2', async () => {
    const f = sqlFile('bad.sql', 'SELECT 1;\n\nALTER TABLE t ADD COLUM x int;\n');
    const err = await analyzeCommand(f, { squawk: false }, io()).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toMatch(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3:\\d+: syntax error`));
    expect(exitCodeFor(err)).toBe(2);
  });

  it('rejects a missing file, a missing input and a bad --pg-version with exit 2', async () => {
    const missing = await analyzeCommand(join(dir, 'nope.sql'), {}, io()).catch((e) => e);
    expect(missing).toBeInstanceOf(InputError);
    expect(missing.message).toMatch(/no such file/);
    const none = await analyzeCommand(undefined, {}, io('', true)).catch((e) => e);
    expect(none).toBeInstanceOf(InputError);
    expect(none.hint).toMatch(/pipe SQL in/);
    const bad = await analyzeCommand('-', { pgVersion: 'eleventy' }, io('SELECT 1')).catch((e) => e);
    expect(bad).toBeInstanceOf(InputError);
    expect(exitCodeFor(bad)).toBe(2);
  });

  it('prints the documented JSON for --json, from standard input', async () => {
    const o = io('ALTER TABLE orders ALTER COLUMN status SET NOT NULL;\nCREATE INDEX CONCURRENTLY i ON orders (status);');
    expect(await analyzeCommand('-', { json: true, pgVersion: '15', squawk: false }, o)).toBe(0);
    const r = JSON.parse(o.text());
    expect(r.server_version).toBe(150000);
    expect(r.statements).toHaveLength(2);
    expect(r.statements[0]).toMatchObject({
      index: 0,
      line: 1,
      rewrite: false,
      tableScan: true,
      transactional: true,
      locks: [{ relation: 'orders', mode: 'AccessExclusiveLock' }],
    });
    expect(r.statements[0].findings[0]).toEqual(
      expect.objectContaining({ rule: 'set-not-null-scan', severity: 'warning', safe_alternative: expect.stringMatching(/not_null/) }),
    );
    expect(r.statements[1]).toMatchObject({ index: 1, line: 2, transactional: false });
  });

  it('prints a readable report by default, squawk included', async () => {
    const f = sqlFile('ok.sql', 'ALTER TABLE orders ADD COLUMN c int DEFAULT random();\n');
    const o = io();
    expect(await analyzeCommand(f, { pgVersion: '17' }, o)).toBe(0);
    const text = o.text();
    expect(text).toMatch(/PostgreSQL 17 \(from --pg-version\)/);
    expect(text).toMatch(/orders: AccessExclusiveLock/);
    expect(text).toMatch(/rewrite\s+yes/);
    expect(text).toMatch(/add-column-volatile-default/);
    expect(text).toMatch(/squawk adding-field-with-default/);
    expect(text).toMatch(/\? no --db/);
  });

  it('reads the live catalog with --db and never runs the statements', async () => {
    await db.query(`CREATE TABLE items (id int PRIMARY KEY, name varchar(50), note text, CONSTRAINT note_nn CHECK (note IS NOT NULL))`);
    const o = io(`ALTER TABLE items ALTER COLUMN name TYPE varchar(200);
ALTER TABLE items ALTER COLUMN note SET NOT NULL;
DROP TABLE items;
ALTER TABLE items ADD COLUMN x float8 DEFAULT random();`);
    expect(await analyzeCommand('-', { db: db.url, json: true, squawk: false }, o)).toBe(0);
    const r = JSON.parse(o.text());
    expect(r.catalog).toBe('live');
    expect(r.versionSource).toBe('server');
    expect(Math.floor(r.server_version / 10000)).toBe(db.major);
    expect(r.timeZone).toBeTruthy();
    expect(r.statements[0].rewrite).toBe(false);
    expect(r.statements[1].tableScan).toBe(false);
    expect(r.statements[1].notes.join(' ')).toMatch(/note_nn proves note IS NOT NULL/);
    // Never executed: the table and its columns are unchanged.
    const cols = await db.query(
      `SELECT attname::text AS a, format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'items'::regclass AND attnum > 0 ORDER BY attnum`,
    );
    expect(cols).toEqual([
      { a: 'id', t: 'integer' },
      { a: 'name', t: 'character varying(50)' },
      { a: 'note', t: 'text' },
    ]);
  });

  it('explains an unreachable server without printing the password', async () => {
    const err = await analyzeCommand('-', { db: 'postgres://someone:s3cret-pw@127.0.0.1:1/nodb', squawk: false }, io('SELECT 1')).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(RunbookError);
    expect(err.message).toMatch(/cannot connect/);
    expect(err.message + (err.hint ?? '')).not.toMatch(/s3cret-pw/);
    expect(err.hint).toMatch(/--pg-version/);
  });

  it('--fail-on warning|error sets the exit code for CI and says why', async () => {
    const sql = 'ALTER TABLE orders ALTER COLUMN status SET NOT NULL;';
    const warn = io(sql);
    expect(await analyzeCommand('-', { pgVersion: '17', squawk: false, failOn: 'warning' }, warn)).toBe(1);
    expect(warn.text()).toMatch(/--fail-on warning: \d+ findings? at that level or worse: exit 1\n$/);
    expect(await analyzeCommand('-', { pgVersion: '17', squawk: false, failOn: 'error' }, io(sql))).toBe(0);
    expect(
      await analyzeCommand('-', { pgVersion: '17', squawk: false, failOn: 'error' }, io('ALTER TABLE orders ADD COLUMN c int NOT NULL;')),
    ).toBe(1);
    // Information (prefer-robust-stmts, notes) never fails the run.
    expect(
      await analyzeCommand(
        '-',
        { pgVersion: '17', squawk: false, failOn: 'warning' },
        io("SET lock_timeout = '2s'; ALTER TABLE orders ADD COLUMN c int;"),
      ),
    ).toBe(0);
    // JSON stays parseable: the reason goes nowhere but the exit code.
    const json = io(sql);
    expect(await analyzeCommand('-', { pgVersion: '17', squawk: false, failOn: 'warning', json: true }, json)).toBe(1);
    expect(() => JSON.parse(json.text())).not.toThrow();
    const bad = await analyzeCommand('-', { failOn: 'info' }, io(sql)).catch((e) => e);
    expect(bad).toBeInstanceOf(InputError);
    expect(bad.message).toMatch(/--fail-on "info": expected warning or error/);
    expect(exitCodeFor(bad)).toBe(2);
  });

  it('--json carries the suggested runbook step of a finding', async () => {
    const o = io('ALTER TABLE orders ALTER COLUMN status SET NOT NULL;');
    await analyzeCommand('-', { pgVersion: '17', squawk: false, json: true }, o);
    const f = JSON.parse(o.text()).statements[0].findings.find((x: any) => x.rule === 'set-not-null-scan');
    expect(f.runbook_step).toBe('- id: not_null_status\n  not_null:\n    table: orders\n    column: status');
  });
});
