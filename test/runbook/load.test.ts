import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunbookFile, loadRunbookText } from '../../src/runbook/load.js';
import { formatProblem, type Problem } from '../../src/runbook/model.js';
import { FIXTURES, MALFORMED } from '../fixtures/runbooks/cases.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';

const errorsOf = (ps: Problem[]) => ps.filter((p) => p.severity === 'error');

describe('malformed runbooks', () => {
  it.each(MALFORMED)('%s', async (file, line, col, message) => {
    const { runbook, problems } = await loadRunbookFile(join(FIXTURES, file), { kinds: STEP_KINDS });
    expect(runbook).toBeUndefined();
    const first = errorsOf(problems)[0]!;
    expect(formatProblem(first)).toMatch(new RegExp(`${file.replace('.', '\\.')}:${line}:${col}: `));
    expect(first.message).toMatch(message);
  });

  it('reports binary and non-UTF-8 files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-load-'));
    writeFileSync(join(dir, 'bin.yaml'), Buffer.from([0x76, 0x65, 0x72, 0x0a, 0x00, 0x01, 0x02]));
    writeFileSync(join(dir, 'latin1.yaml'), Buffer.from('name: caf\xe9\n', 'latin1'));
    const bin = await loadRunbookFile(join(dir, 'bin.yaml'), { kinds: STEP_KINDS });
    expect(formatProblem(bin.problems[0]!)).toMatch(/bin\.yaml:2:1: binary file/);
    const latin = await loadRunbookFile(join(dir, 'latin1.yaml'), { kinds: STEP_KINDS });
    expect(latin.problems[0]!.message).toMatch(/not UTF-8/);
    const missing = await loadRunbookFile(join(dir, 'nope.yaml'), { kinds: STEP_KINDS });
    expect(missing.problems[0]!.message).toMatch(/cannot read the runbook: no such file/);
  });

  it('reports every problem, not just the first', async () => {
    const text = [
      'version: 1',
      'name: Many problems',
      'settings:',
      '  lock_timeout: 1 fortnight',
      '  ddl_retries: -1',
      'phases:',
      '  deploy:',
      '    - id: a',
      '      gate: maybe',
      '      sql: SELECT 1',
      '    - id: a',
      '      sql: SELECT 2',
      '    - sql: SELECT 3',
      '  deplyo: []',
    ].join('\n');
    const { problems } = await loadRunbookText(text, 'many.yaml', { kinds: STEP_KINDS });
    expect(errorsOf(problems).map((p) => `${p.pos.line}:${p.pos.col}`)).toEqual(['4:17', '5:16', '9:13', '11:11', '13:7', '14:3']);
  });
});

describe('variables', () => {
  const text = (extra = '') =>
    [
      'version: 1',
      'name: Vars for {{ table }}',
      'vars:',
      '  table: orders',
      '  column: ~',
      '  unused: x',
      'phases:',
      '  deploy:',
      '    - id: add',
      '      title: Add {{ column }} to {{ table }}',
      '      sql: ALTER TABLE {{ table }} ADD COLUMN {{ column }} bigint',
      extra,
    ].join('\n');

  it('applies --var overrides and warns about unused variables', async () => {
    const { runbook, problems } = await loadRunbookText(text(), 'v.yaml', {
      kinds: STEP_KINDS,
      vars: { column: 'amount_cents', table: 'app.orders' },
    });
    expect(problems.map(formatProblem)).toEqual(['v.yaml:6:3: warning: variable "unused" is declared but never used']);
    const step = runbook!.phases.deploy[0]!;
    expect(runbook!.name).toBe('Vars for app.orders');
    expect(step.title).toBe('Add amount_cents to app.orders');
    expect(step.params).toBe('ALTER TABLE "app"."orders" ADD COLUMN "amount_cents" bigint');
    expect(runbook!.vars).toEqual({ table: 'app.orders', column: 'amount_cents', unused: 'x' });
  });

  it('requires a value for a variable without default', async () => {
    const { problems } = await loadRunbookText(text(), 'v.yaml', { kinds: STEP_KINDS });
    expect(errorsOf(problems).map(formatProblem)).toEqual(['v.yaml:5:3: variable "column" has no default: pass --var column=VALUE']);
  });

  it('refuses an override of an undeclared variable', async () => {
    const { problems } = await loadRunbookText(text(), 'v.yaml', { kinds: STEP_KINDS, vars: { column: 'c', tabel: 'x' } });
    expect(errorsOf(problems)[0]!.message).toMatch(/--var tabel: no variable "tabel" is declared under vars \(did you mean "table"\?\)/);
    expect(errorsOf(problems)[0]!.pos.line).toBe(3);
  });

  it('warns about every raw use', async () => {
    const t = text('      rollback: ALTER TABLE {{ table }} DROP COLUMN {{ column }} {{ unused | raw }}');
    const { runbook, problems } = await loadRunbookText(t, 'v.yaml', { kinds: STEP_KINDS, vars: { column: 'c', unused: 'CASCADE' } });
    expect(runbook!.phases.deploy[0]!.rollback).toBe('ALTER TABLE "orders" DROP COLUMN "c" CASCADE');
    expect(problems.map(formatProblem)).toEqual([
      expect.stringMatching(/^v\.yaml:12:66: warning: rollback: \{\{ unused \| raw \}\} splices/),
    ]);
  });
});

describe('YAML pitfalls', () => {
  it('explains an unquoted value that starts with {{', async () => {
    const text = 'version: 1\nname: x\nvars: { t: orders }\nphases:\n  deploy:\n    - id: a\n      title: {{ t }}\n      sql: SELECT 1\n';
    const { problems } = await loadRunbookText(text, 'f.yaml', { kinds: STEP_KINDS });
    expect(problems.map(formatProblem)).toEqual([
      'f.yaml:7:14: title: a value that starts with {{ must be quoted in YAML: write "{{ t }}"',
    ]);
  });

  it('points at unknown keys inside a step kind, with a suggestion', async () => {
    const text = 'version: 1\nname: x\nphases:\n  plan:\n    - id: a\n      check: { query: SELECT 1, expct: "= 0", rows: 1 }\n';
    const { problems } = await loadRunbookText(text, 'f.yaml', { kinds: STEP_KINDS });
    expect(problems.map(formatProblem)).toEqual([
      'f.yaml:6:33: check: unknown key "expct" (did you mean "expect"?); expected query, expect, rows',
    ]);
  });
});

describe('positions of SQL errors', () => {
  const at = async (text: string) => {
    const { problems } = await loadRunbookText(text, 'p.yaml', { kinds: STEP_KINDS });
    return errorsOf(problems).map((p) => `${p.pos.line}:${p.pos.col} ${p.message}`);
  };
  const head = 'version: 1\nname: P\nphases:\n  deploy:\n    - id: a\n';

  it('in a folded block scalar', async () => {
    expect(await at(`${head}      sql: >\n        SELECT a,\n          b\n        FROM t WHER x\n`)).toEqual([
      expect.stringMatching(/^9:21 SQL syntax error in sql: syntax error at or near "x"/),
    ]);
  });

  it('in a single-quoted scalar with escapes', async () => {
    expect(await at(`${head}      sql: 'SELECT ''a'' FRM t'\n`)).toEqual([expect.stringMatching(/^6:30 .*near "t"/)]);
  });

  it('in a multi-line plain scalar', async () => {
    expect(await at(`${head}      sql: SELECT 1\n        UNION SELEC 2\n`)).toEqual([expect.stringMatching(/^7:15 .*near "SELEC"/)]);
  });

  it('at the end of input', async () => {
    expect(await at(`${head}      sql: |\n        SELECT * FROM t WHERE\n`)).toEqual([expect.stringMatching(/^7:30 .*at end of input/)]);
  });

  it('in rollback SQL and in a check query', async () => {
    const text = `${head}      sql: SELECT 1\n      rollback: DELET FROM t\n    - id: b\n      check:\n        query: SELECT count(*) FROM\n        expect: 0\n`;
    expect(await at(text)).toEqual([
      expect.stringMatching(/^7:17 SQL syntax error in rollback/),
      expect.stringMatching(/^10:35 SQL syntax error in check\.query/),
    ]);
  });
});

describe('a valid runbook', () => {
  it('becomes StepSpecs with settings, overrides and positions', async () => {
    const text = [
      'version: 1',
      'name: Good',
      'description: All fields',
      'settings: { lock_timeout: 3s, statement_timeout: 1m, ddl_retries: 4 }',
      'phases:',
      '  plan:',
      '    - id: look',
      '      check: { query: SELECT 1, expect: "= 1" }',
      '  deploy:',
      '    - id: add',
      '      title: Add',
      '      why: Because',
      '      gate: confirm',
      '      timeout: 10m',
      '      lock_timeout: 500ms',
      '      sql: ALTER TABLE t ADD COLUMN c int',
      '      rollback: ALTER TABLE t DROP COLUMN c',
      '  monitor:',
      '    - id: settle',
      '      wait: 1m30s',
    ].join('\n');
    const { runbook, problems } = await loadRunbookText(text, 'good.yaml', { kinds: STEP_KINDS });
    expect(problems).toEqual([]);
    expect(runbook!.settings).toEqual({ lockTimeoutMs: 3000, statementTimeoutMs: 60_000, ddlRetries: 4 });
    expect(runbook!.phases.plan[0]!.settings).toEqual(runbook!.settings);
    expect(runbook!.phases.deploy[0]).toMatchObject({
      id: 'add',
      phase: 'deploy',
      kind: 'sql',
      title: 'Add',
      why: 'Because',
      gate: 'confirm',
      timeoutMs: 600_000,
      rollback: 'ALTER TABLE t DROP COLUMN c',
      settings: { lockTimeoutMs: 500, statementTimeoutMs: 60_000, ddlRetries: 4 },
      pos: { file: 'good.yaml', line: 10, col: 7 },
    });
    expect(runbook!.phases.monitor[0]!.params).toEqual({ for: 90_000 });
    expect(runbook!.source).toBe(text);
  });
});
