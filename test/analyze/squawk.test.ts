// squawk as a second opinion: its 0-based line/column positions land on our statements, its
// findings are marked as squawk's, and a missing binary is reported, not fatal.
import { afterEach, describe, expect, it } from 'vitest';
import { runSquawk, squawkBinary } from '../../src/analyze/squawk.js';
import { analyzeSql } from '../../src/analyze/analyze-statements.js';

describe('squawk', () => {
  afterEach(() => {
    delete process.env.PGRUNBOOK_SQUAWK;
  });

  it('is installed with the project', () => {
    expect(squawkBinary()).toBeTruthy();
  });

  it('maps findings to the statement they point into', async () => {
    const sql = `-- a comment line
SELECT 1;

CREATE INDEX élan_idx ON t (c);
ALTER TABLE t
  ADD COLUMN x int DEFAULT random();`;
    const offsets = [sql.indexOf('SELECT'), sql.indexOf('CREATE'), sql.indexOf('ALTER')];
    const r = await runSquawk(sql, offsets);
    expect(r.status.ran).toBe(true);
    expect(r.status.version).toMatch(/\d+\.\d+/);
    expect(r.byStatement.get(0) ?? []).toEqual([]);
    expect((r.byStatement.get(1) ?? []).map((f) => f.rule)).toContain('require-concurrent-index-creation');
    expect((r.byStatement.get(2) ?? []).map((f) => f.rule)).toContain('adding-field-with-default');
    for (const list of r.byStatement.values()) for (const f of list) expect(f.source).toBe('squawk');
  });

  it('honours exclusions and the target version', async () => {
    const r = await runSquawk('ALTER TABLE t ADD COLUMN x int;', [0], {
      exclude: ['require-lock-timeout', 'require-statement-timeout'],
      pgMajor: 16,
    });
    const got = (r.byStatement.get(0) ?? []).map((f) => f.rule);
    expect(got).not.toContain('require-lock-timeout');
    expect(got).not.toContain('require-statement-timeout');
  });

  it('is merged into analyze, marked as squawk', async () => {
    const r = await analyzeSql('CREATE INDEX i ON t (c);', { serverVersionNum: 170000 });
    expect(r.squawk.ran).toBe(true);
    const f = r.statements[0]!.findings;
    expect(f.some((x) => x.source === 'pgrunbook' && x.rule === 'create-index-blocks-writes')).toBe(true);
    expect(f.some((x) => x.source === 'squawk' && x.rule === 'require-concurrent-index-creation')).toBe(true);
  });

  it('says so and continues when the binary is missing', async () => {
    process.env.PGRUNBOOK_SQUAWK = '/nonexistent/squawk';
    const r = await analyzeSql('CREATE INDEX i ON t (c);', { serverVersionNum: 170000 });
    expect(r.squawk.ran).toBe(false);
    expect(r.squawk.error).toMatch(/not installed/);
    expect(r.statements[0]!.findings.every((f) => f.source === 'pgrunbook')).toBe(true);
  });
});
