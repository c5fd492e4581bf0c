// --format github|gitlab through the real binary: validate, analyze and plan annotate the source
// line, GitHub gets a job summary, GitLab a Code Quality report.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { useTestDatabase } from '../support/pg.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-ci-'));

describe('CI formats', () => {
  it('validate --format github: an annotation at the line and column of each problem, and a job summary', async () => {
    const summary = join(dir, 'validate-summary.md');
    const res = await runCli(['validate', 'test/fixtures/runbooks/sql-syntax.yaml', '--format', 'github'], {
      env: { GITHUB_STEP_SUMMARY: summary },
    });
    expect(res.code).toBe(2);
    expect(res.stdout).toMatch(
      /^::error file=test\/fixtures\/runbooks\/sql-syntax\.yaml,line=11,col=\d+,title=pgrunbook validate::.*syntax error/m,
    );
    expect(res.stdout).toMatch(/sql-syntax\.yaml: invalid \(1 error/);
    expect(readFileSync(summary, 'utf8')).toMatch(
      /^## pgrunbook validate test\/fixtures\/runbooks\/sql-syntax\.yaml\n\n1 error, 0 warning, 0 info\n/,
    );
  });

  it('analyze --format gitlab: the whole stdout is a Code Quality report pointing at each statement', async () => {
    const sql = join(dir, 'migration.sql');
    writeFileSync(
      sql,
      'SELECT 1;\n\nCREATE INDEX orders_status ON orders (status);\nALTER TABLE orders ADD COLUMN id2 uuid DEFAULT gen_random_uuid();\n',
    );
    const res = await runCli(['analyze', sql, '--pg-version', '17', '--format', 'gitlab', '--no-squawk']);
    expect(res.code).toBe(0);
    const issues = JSON.parse(res.stdout) as {
      check_name: string;
      severity: string;
      location: { path: string; lines: { begin: number } };
    }[];
    expect(issues.length).toBeGreaterThanOrEqual(2);
    expect(issues.every((i) => i.location.path === sql)).toBe(true);
    expect(issues.find((i) => i.location.lines.begin === 3)?.check_name).toMatch(/^pgrunbook: /);
    expect(issues.find((i) => i.location.lines.begin === 4)?.check_name).toMatch(/^pgrunbook: /);
  });

  it('analyze --format github prints the report and one workflow command per finding', async () => {
    const res = await runCli(['analyze', '-', '--pg-version', '17', '--format', 'github', '--no-squawk'], {
      input: 'CREATE INDEX i ON t (a);\n',
    });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^::(warning|error) line=1,col=1,title=pgrunbook%3A [^:]+::.*CONCURRENTLY/m);
    expect(res.stdout).toMatch(/ShareLock/);
  });

  it('rejects an unknown format', async () => {
    const res = await runCli(['validate', 'runbooks/demo.yaml', '--format', 'sarif']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--format "sarif": unknown format\n {2}hint: use one of text, json, github, gitlab/);
  });

  describe('plan', () => {
    const db = useTestDatabase();
    beforeAll(async () => {
      await db.query(`CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(12,2), status text);
        INSERT INTO orders SELECT g, g % 100, 'new' FROM generate_series(1, 2000) g; ANALYZE orders;`);
    });

    it('plan --format github annotates the step in the runbook and puts the plan in the job summary', async () => {
      const file = join(dir, 'plan.yaml');
      writeFileSync(
        file,
        `version: 1\nname: ci plan\nphases:\n  deploy:\n    - id: idx\n      gate: confirm\n      sql: CREATE INDEX orders_status ON orders (status)\n`,
      );
      const summary = join(dir, 'plan-summary.md');
      const res = await runCli(['plan', file, '--db', db.url, '--format', 'github'], { env: { GITHUB_STEP_SUMMARY: summary } });
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(
        new RegExp(`^::(warning|error) file=${file.replace(/[/.]/g, '\\$&')},line=5,col=7,title=step idx%3A [^:]+::.*CONCURRENTLY`, 'm'),
      );
      const md = readFileSync(summary, 'utf8');
      expect(md).toMatch(/^## pgrunbook plan /);
      expect(md).toMatch(/\| `orders` \|/);
    });

    it('plan --format gitlab', async () => {
      const res = await runCli(['plan', join(dir, 'plan.yaml'), '--db', db.url, '--format', 'gitlab']);
      expect(res.code).toBe(0);
      expect(JSON.parse(res.stdout)[0]).toMatchObject({
        location: { lines: { begin: 5 } },
        check_name: expect.stringMatching(/^step idx/),
      });
    });
  });
});
