// `init --explain --format github|gitlab`: the rewrite table as CI annotations, one per statement at
// its source line, through the real binary.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT, startCli } from '../support/cli.js';

const flyway = relative(ROOT, fileURLToPath(new URL('../fixtures/init/flyway', import.meta.url)));
const run = (args: string[], env: NodeJS.ProcessEnv = {}, input?: string) => startCli(['init', ...args], { env, input }).done;

describe('pgrunbook init --format github|gitlab', () => {
  it('github: a workflow command at each statement’s line, rewritten ones as warnings, and a job summary', async () => {
    const summary = join(mkdtempSync(join(tmpdir(), 'init-ci-')), 'summary.md');
    const r = await run(['--from', flyway, '--only', '1.1,2', '--explain', '--format', 'github'], { GITHUB_STEP_SUMMARY: summary });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(
      `::warning file=${flyway}/V1_1__index_and_check.sql,line=1,col=1,title=pgrunbook init%3A rewritten as create_index::` +
        'CREATE INDEX → create_index (CONCURRENTLY)%0ALock: SHARE → SHARE UPDATE EXCLUSIVE%0ACREATE INDEX orders_customer_idx ON orders (customer_id)',
    );
    expect(lines[1]).toMatch(/^::warning file=.*V1_1__index_and_check\.sql,line=2,col=1,title=pgrunbook init%3A rewritten as add_check::/);
    expect(lines[2]).toMatch(/^::warning file=.*V2__fill_amounts\.sql,line=1,col=1,title=pgrunbook init%3A rewritten as backfill::/);
    const md = readFileSync(summary, 'utf8');
    expect(md).toMatch(/## pgrunbook init --from /);
    expect(md).toMatch(/0 error, 3 warning, 0 info/);
    expect(md).toMatch(/3 statements: 0 kept, 3 rewritten/);
  });

  it('github from stdin: kept statements are notices; no file property', async () => {
    const r = await run(
      ['--from', '-', '--format', 'github'],
      {},
      'CREATE INDEX i ON orders (amount);\nALTER TABLE orders ADD COLUMN note text;\n',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^::warning line=1,col=1,title=pgrunbook init%3A rewritten as create_index::/m);
    expect(r.stdout).toMatch(/^::notice line=2,col=1,title=pgrunbook init%3A kept as sql::.*ALTER TABLE orders ADD COLUMN note text$/m);
  });

  it('gitlab: Code Quality JSON with the path and line of each statement', async () => {
    const r = await run(['--from', flyway, '--only', '1.1,2', '--explain', '--format', 'gitlab']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { check_name: string; severity: string; location: { path: string; lines: { begin: number } } }[];
    expect(report.map((f) => [f.location.path.replace(`${flyway}/`, ''), f.location.lines.begin, f.check_name])).toEqual([
      ['V1_1__index_and_check.sql', 1, 'pgrunbook init: rewritten as create_index'],
      ['V1_1__index_and_check.sql', 2, 'pgrunbook init: rewritten as add_check'],
      ['V2__fill_amounts.sql', 1, 'pgrunbook init: rewritten as backfill'],
    ]);
  });

  it('a layout override still works, and an unknown format names the choices', async () => {
    const ok = await run(['--from', flyway, '--only', '2', '--format', 'flyway', '--explain']);
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await run(['--from', flyway, '--format', 'sarif']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--format sarif: unknown/);
    expect(bad.stderr).toMatch(/github, gitlab/);
  });
});
