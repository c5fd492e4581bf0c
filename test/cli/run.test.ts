// The foundation's acceptance tests, through the real binary: a 5-step runbook end to end,
// SIGKILL + resume, the run lock, and secrets.
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { runCli, startCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-cli-'));

function fiveSteps(name: string, waitFor = '3s'): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `version: 1
name: ${name}
vars:
  table: effects
settings:
  lock_timeout: 1s
phases:
  plan:
    - id: s1
      check:
        query: select count(*) from pg_tables where tablename = 'effects'
        expect: "= 1"
  deploy:
    - id: s2
      sql: insert into {{ table }} (step) values ('s2')
      rollback: delete from {{ table }} where step = 's2'
    - id: s3
      wait:
        for: ${waitFor}
    - id: s4
      sql: insert into {{ table }} (step) values ('s4')
      rollback: delete from {{ table }} where step = 's4'
  monitor:
    - id: s5
      check:
        query: select count(*) from {{ table }}
        expect: "= 2"
`,
  );
  return file;
}

for (const major of edgeMajors()) {
  describe(`pgrunbook run/resume on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    beforeAll(async () => {
      await db.query('create table effects (id serial primary key, step text not null)');
    });

    it('runs a 5-step runbook; SIGKILL mid-run; resume finishes without re-running completed steps', async () => {
      await db.query('truncate effects');
      const file = fiveSteps(`kill-${major}`, '4s');
      const journalDir = mkdtempSync(join(tmpdir(), 'pgrunbook-journal-'));
      const first = startCli(['run', file, '--db', db.url, '--plain', '--yes', '--journal-dir', journalDir]);
      await first.waitFor(/s3: started/);
      first.child.kill('SIGKILL');
      const killed = await first.done;
      expect(killed.signal).toBe('SIGKILL');
      expect((await db.query('select step from effects order by id')).map((r) => r.step)).toEqual(['s2']);

      const status = await runCli(['status', '--db', db.url]);
      expect(status.stdout).toMatch(/stopped \(process gone\)/);

      const resumed = await runCli(['resume', '--db', db.url, '--plain', '--yes', '--journal-dir', journalDir]);
      expect(resumed.stderr).toBe('');
      expect(resumed.code).toBe(0);
      expect(resumed.stdout).toMatch(/resuming: the previous process \(pid \d+ on .*\) stopped without closing the run/);
      expect(resumed.stdout).toMatch(/s2: skipped \(already completed in this run\)/);
      expect(resumed.stdout).toMatch(/completed/);
      // Every effect exactly once.
      expect((await db.query('select step from effects order by id')).map((r) => r.step)).toEqual(['s2', 's4']);
      const journal = await db.query(
        `select type from pgrunbook.events e join pgrunbook.runs r using (run_id) where r.runbook_name = $1 order by seq`,
        [`kill-${major}`],
      );
      const types = journal.map((r) => r.type);
      expect(types.filter((t) => t === 'run.started')).toHaveLength(2);
      expect(types).toContain('run.resumed');
      expect(types.at(-1)).toBe('run.completed');
      expect(readdirSync(journalDir).some((f) => f.endsWith('.jsonl'))).toBe(true);
    });

    it('a second run of the same runbook on the same database exits 3 and names the holder', async () => {
      await db.query('truncate effects');
      const file = fiveSteps(`lock-${major}`, '60s');
      // s3 waits far longer than the second run can take to start, even on a loaded machine; SIGTERM ends it.
      const first = startCli(['run', file, '--db', db.url, '--plain', '--yes']);
      await first.waitFor(/s3: started/);
      const second = await runCli(['run', file, '--db', db.url, '--plain', '--yes']);
      expect(second.code).toBe(3);
      expect(second.stderr).toMatch(/already running on this database, held by \S+@\S+ \(pid \d+, backend pid \d+, started .*run \S+\)/);
      expect(second.stderr).not.toMatch(/\n\s+at /); // no stack trace
      first.child.kill('SIGTERM');
      const r = await first.done;
      expect(r.code).toBe(1); // interrupted at a safe point, resumable
      expect(r.stdout).toMatch(/run interrupted: terminated \(SIGTERM\)\. Resume with: pgrunbook resume/);
    });
  });
}

describe('secrets', () => {
  const db = useTestDatabase();
  it('a password given in --db appears in no output, journal row, JSONL or report', async () => {
    const secret = 'S3cr3t-pa55w0rd';
    await db.query(`create role pw_user login superuser password '${secret}'`);
    await db.query('create table if not exists effects (id serial primary key, step text not null)');
    const u = new URL(db.url);
    u.username = 'pw_user';
    u.password = secret;
    const url = u.toString();
    const file = fiveSteps('secret', '100ms');
    const journalDir = mkdtempSync(join(tmpdir(), 'pgrunbook-journal-'));
    const run = await runCli(['run', file, '--db', url, '--plain', '--yes', '--journal-dir', journalDir]);
    expect(run.code).toBe(0);
    const json = await runCli(['run', file, '--db', url, '--json', '--yes', '--journal-dir', journalDir]);
    const runId = /run (\S+) started/.exec(run.stdout)![1]!;
    const md = await runCli(['report', runId, '--db', url]);
    const js = await runCli(['report', runId, '--db', url, '--format', 'json']);
    const st = await runCli(['status', '--db', url, '--json']);
    const bad = await runCli(['status', '--db', url.replace(/:\d+\//, ':1/')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/connection refused/);
    const journal = await db.query(`select payload::text p from pgrunbook.events`);
    const jsonl = readdirSync(journalDir)
      .map((f) => readFileSync(join(journalDir, f), 'utf8'))
      .join('');
    expect(jsonl.length).toBeGreaterThan(100);
    const everything = [run, json, md, js, st, bad].map((r) => r.stdout + r.stderr).join('\n') + journal.map((r) => r.p).join('\n') + jsonl;
    expect(md.stdout).toMatch(/# pgrunbook run/);
    expect(everything).not.toContain(secret);
  });

  it('without --db or DATABASE_URL, the libpq variables (PGHOST, PGPORT, PGUSER, PGDATABASE) pick the server', async () => {
    const u = new URL(db.url);
    const env = { DATABASE_URL: '', PGHOST: u.hostname, PGPORT: u.port, PGUSER: 'postgres', PGDATABASE: u.pathname.slice(1) };
    const r = await runCli(['status', '--json'], { env });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).length).toBeGreaterThan(0); // the runs recorded above, in this database
    const wrong = await runCli(['status'], { env: { ...env, PGPORT: '1' } });
    expect(wrong.stderr).toMatch(/from libpq environment\): connection refused/);
  });
});
