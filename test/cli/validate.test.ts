// `pgrunbook validate`: every malformed-runbook case exits 2 with FILE:LINE:COL and no stack
// trace, and no database is contacted (these tests set no connection at all). Most cases call the
// command in-process; a few spawn the built CLI end to end.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateCommand } from '../../src/cli/commands/validate-command.js';
import { schemaText } from '../../src/cli/commands/schema-command.js';
import { FIXTURES, MALFORMED, VALID } from '../fixtures/runbooks/cases.js';
import { ROOT, runCli } from '../support/cli.js';

async function validate(file: string, vars?: Record<string, string>) {
  let out = '';
  const code = await validateCommand(file, { vars }, { out: (s) => (out += s) });
  return { code, out };
}

describe('validate (in-process)', () => {
  it.each(MALFORMED)('%s exits 2 at %i:%i', async (file, line, col) => {
    const path = join(FIXTURES, file);
    const { code, out } = await validate(path);
    expect(code).toBe(2);
    expect(out).toContain(`${path}:${line}:${col}: `);
    expect(out).toMatch(/invalid \(\d+ errors?, \d+ warnings?\)\n$/);
    expect(out).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
  });

  it('a valid runbook exits 0; warnings alone do not fail', async () => {
    const ok = await validate(VALID, { table: 'app.orders' });
    expect(ok).toEqual({ code: 0, out: `${VALID}: valid: "Valid runbook", steps: plan 1, deploy 2, monitor 1, rollback 1\n` });
    const warned = await validate(VALID, { table: 'orders', extra: '1' });
    expect(warned.code).toBe(2); // --var extra is not declared
    expect(warned.out).toMatch(/--var extra: no variable "extra" is declared/);
  });

  it('warns, at the rollback: key, about rollback: SQL that is never run; still valid', async () => {
    const file = join(FIXTURES, 'ignored-rollback.yaml');
    const { code, out } = await validate(file);
    expect(code).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines).toEqual([
      `${file}:14:7: warning: step "add_qty": this rollback: SQL is never run: add_column undoes itself in the rollback phase: it drops the column only if this run added it. Remove rollback: from the step, or put the SQL in a separate \`sql\` step in the rollback phase`,
      expect.stringMatching(/:22:7: warning: step "widen_id": this rollback: SQL is never run: swap_table undoes itself/),
      expect.stringMatching(
        /:23:7: warning: step "drop_old": this rollback: SQL is never run: swap_table with drop_old: true cannot be undone/,
      ),
      expect.stringMatching(/:32:7: warning: step "recount": this rollback: SQL is never run: the rollback phase undoes deploy steps only/),
      `${file}: valid: "Ignored rollback", steps: deploy 5, monitor 1 (0 errors, 4 warnings)`,
    ]);
    // backfill runs its rollback: SQL (runbooks/add-column-backfill.yaml relies on it): no warning on line 16.
    expect(out).not.toMatch(/:16:7:/);
  });
});

// -- the built CLI ------------------------------------------------------------------------------

function newestMtime(dir: string): number {
  let m = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    m = Math.max(m, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return m;
}

describe('validate (spawned CLI)', () => {
  beforeAll(() => {
    // `npm test` builds first; when run alone, rebuild only if dist/ is older than src/.
    const built = join(ROOT, 'dist/cli/commands/validate-command.js');
    if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
        cwd: ROOT,
        stdio: 'pipe',
      });
    } catch {
      // Type errors elsewhere still emit JavaScript; the checks below need only the output.
    }
  }, 180_000);

  it('exits 2 with FILE:LINE:COL and no stack trace', async () => {
    const file = join(FIXTURES, 'sql-syntax.yaml');
    const r = await runCli(['validate', file], {
      env: { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', PGHOST: '127.0.0.1', PGPORT: '1' },
    });
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`${file}:11:10: SQL syntax error in sql: syntax error at or near "WERE"`);
    expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /);
  });

  it('takes --var, and reports a bad --var flag as bad input', async () => {
    const ok = await runCli(['validate', VALID, '--var', 'table=app.orders']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/valid: "Valid runbook"/);
    const bad = await runCli(['validate', VALID, '--var', 'table']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--var "table": expected NAME=VALUE/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('`schema` prints the generated JSON Schema', async () => {
    const r = await runCli(['schema']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(schemaText());
  });
});
