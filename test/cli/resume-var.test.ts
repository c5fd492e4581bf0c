// `pgrunbook resume --var` through the real binary: a corrected variable reaches the steps that
// have not started, is journaled (old and new values, secrets redacted) and kept for a later
// resume; a variable a started step used is refused, naming the step and what to do instead.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { useTestDatabase } from '../support/pg.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-resume-var-'));
const TOKEN = 'rv-9Kp3-secret-Qw77';
const env = { RV_TOKEN: TOKEN };

function runbook(name: string, steps: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `version: 1
name: ${name}
vars:
  col: colour
  note: none
  token: { from_env: RV_TOKEN, secret: true }
phases:
  deploy:
${steps}`,
  );
  return file;
}

const ADD = `    - id: add
      sql: alter table items add column {{ col | ident }} text
      rollback: alter table items drop column {{ col | ident }}
`;
const NOTE = `    - id: note
      sql: insert into done (step, note) values ('note', {{ note | literal }}), ('token', {{ token | literal }})
`;
const needs = (table: string) => `    - id: needs_${table}
      sql: insert into done (step) select 'needs_${table}' from ${table}
`;

describe('resume --var', () => {
  const db = useTestDatabase();
  const args = () => ['--db', db.url, '--plain', '--yes', '--allow-irreversible'];
  const runOf = async (name: string) =>
    (
      await db.query<{ run_id: string; vars: Record<string, unknown>; status: string }>(
        'select run_id, vars, status from pgrunbook.runs where runbook_name = $1',
        [name],
      )
    )[0]!;
  const varEvents = (runId: string) =>
    db.query<{ payload: unknown; seq: number }>(
      `select seq, payload from pgrunbook.events where run_id = $1 and type = 'run.vars_changed'`,
      [runId],
    );

  it('applies a corrected variable to the steps not started yet, journaled with secrets redacted', async () => {
    await db.query('create table done (step text, note text); create table items (id int)');
    const file = runbook('rv-ok', `${needs('ready')}${ADD}${NOTE}`);
    const first = await runCli(['run', file, '--var', 'col=colr', ...args()], { env });
    expect(first.code).toBe(1);
    const run = await runOf('rv-ok');
    expect(first.stdout).toContain(`pgrunbook resume ${run.run_id} --var name=value corrects it for the steps that have not started`);

    await db.query(`create table ready (x int); insert into ready values (1)`);
    // The note is pasted from the wrong place: the secret itself. It is used, but never shown.
    const resumed = await runCli(
      ['resume', run.run_id, '--var', 'col=color', '--var', `note=${TOKEN}`, '--var', 'token_free=1', ...args()],
      {
        env,
      },
    );
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toMatch(/--var token_free: this run's runbook has no variable "token_free"/);
    expect(resumed.stderr).toMatch(/its variables are: col, note/);
    expect(await varEvents(run.run_id)).toEqual([]);

    const ok = await runCli(['resume', run.run_id, '--rerun', 'needs_ready', '--var', 'col=color', '--var', `note=${TOKEN}`, ...args()], {
      env,
    });
    expect(ok.stderr).toMatch(/^resume: col: "colr" -> "color", note: "none" -> "\*\*\*" for the steps not started yet/);
    expect(ok.code).toBe(0);
    const cols = await db.query<{ c: string }>(
      `select attname c from pg_attribute where attrelid = 'items'::regclass and attnum > 0 and not attisdropped order by attnum`,
    );
    expect(cols.map((r) => r.c)).toEqual(['id', 'color']);
    expect(await db.query(`select note from done where step in ('note', 'token')`)).toEqual([{ note: TOKEN }, { note: TOKEN }]);
    const after = await runOf('rv-ok');
    expect(after.status).toBe('completed');
    expect(after.vars).toMatchObject({ col: 'color', token: { from_env: 'RV_TOKEN', secret: true } });
    const events = await varEvents(run.run_id);
    expect(events.map((e) => e.payload)).toEqual([
      {
        changes: [
          { name: 'col', old: 'colr', new: 'color' },
          { name: 'note', old: 'none', new: '***' },
        ],
      },
    ]);
    const report = await runCli(['report', run.run_id, '--db', db.url]);
    expect(report.stdout).toMatch(/`run.vars_changed` variables corrected at resume: col: "colr" -> "color", note: "none" -> "\*\*\*"/);
    // (runs.vars keeps a plain variable's value for later resumes, as `run --var` does: the report's
    // variables section shows it; the journal and the outputs never do.)
    const everything = [first, resumed, ok].map((r) => r.stdout + r.stderr).join('\n');
    expect(everything).not.toContain(TOKEN);
    expect(
      (await db.query(`select payload::text p from pgrunbook.events where run_id = $1`, [run.run_id])).map((r) => r.p).join(),
    ).not.toContain(TOKEN);
  });

  it('refuses a variable that a started step used, naming the step, and changes nothing', async () => {
    const file = runbook('rv-started', `${ADD}${needs('later')}`);
    await db.query('create table if not exists done (step text, note text); drop table if exists items; create table items (id int)');
    const first = await runCli(['run', file, '--var', 'col=colr', ...args()], { env });
    expect(first.code).toBe(1);
    const run = await runOf('rv-started');
    const eventsBefore = await db.query(`select count(*)::int n from pgrunbook.events where run_id = $1`, [run.run_id]);

    const refused = await runCli(['resume', run.run_id, '--var', 'col=color', ...args()], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`--var col: step deploy/add uses it and has completed in run ${run.run_id} with the old value`);
    expect(refused.stderr).toMatch(
      /resume without --var to go on with the old value, or roll this run back \(pgrunbook run .*rv-started\.yaml --phase rollback\)/,
    );
    const secret = await runCli(['resume', run.run_id, '--var', 'token=abc', ...args()], { env });
    expect(secret.code).toBe(2);
    expect(secret.stderr).toMatch(/"token" is a secret variable, read from \$RV_TOKEN .* export the corrected value in RV_TOKEN/s);

    expect(await runOf('rv-started')).toMatchObject({ status: run.status, vars: run.vars });
    expect(await db.query(`select count(*)::int n from pgrunbook.events where run_id = $1`, [run.run_id])).toEqual(eventsBefore);

    // The same value as before is no change at all.
    await db.query('create table later (x int); insert into later values (1)');
    const same = await runCli(['resume', run.run_id, '--rerun', 'needs_later', '--var', 'col=colr', ...args()], { env });
    expect(same.code).toBe(0);
    expect(await varEvents(run.run_id)).toEqual([]);
  });

  it('refuses one step given to both --rerun and --skip, before touching the database', async () => {
    const r = await runCli(['resume', '--rerun', 'fill', '--skip', 'fill', ...args()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('fill: given to both --rerun and --skip');
    expect(r.stderr).toContain('pick one');
  });
});
