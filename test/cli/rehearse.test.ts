// `pgrunbook rehearse` through the real binary: JSON lines whose last event carries the projection,
// the Markdown + JSON report files, a staging database as the sandbox, exit codes, and bad input.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../support/cli.js';
import { seedOrders, sourceFingerprint, useSourceDatabase } from '../rehearsal/support.js';
import { withDatabase } from '../support/pg.js';

const FIXTURE = fileURLToPath(new URL('../rehearsal/fixtures/add-column-sql.yaml', import.meta.url));

describe('pgrunbook rehearse', () => {
  const src = useSourceDatabase((q) => seedOrders(q, 20_000));

  it('--json: the last line is rehearsal.projection; --report writes Markdown and JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rehearse-cli-'));
    const report = join(dir, 'rehearsal.md');
    const before = await sourceFingerprint(src.query);
    const r = await runCli(['rehearse', FIXTURE, '--db', src.url, '--sample', '10%', '--json', '--report', report]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const last = lines[lines.length - 1];
    expect(last.type).toBe('rehearsal.projection');
    expect(last.projection.total_seconds).toBeGreaterThan(0);
    expect(last.projection.steps.map((s: { id: string }) => s.id)).toEqual(['add_col', 'fill', 'nn', 'idx']);
    for (const s of last.projection.steps) {
      expect(typeof s.seconds).toBe('number');
      expect(Array.isArray(s.locks)).toBe(true);
      expect(typeof s.rewrite).toBe('boolean');
    }
    expect(last.report.rollback_verified).toBe(true);
    // The sandbox runner's events came through, numbered in one sequence.
    expect(lines.some((l) => l.type === 'step.completed' && l.stepId === 'add_col')).toBe(true);
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
    expect(readFileSync(report, 'utf8')).toContain('rollback verified');
    expect(JSON.parse(readFileSync(join(dir, 'rehearsal.json'), 'utf8')).rollback_verified).toBe(true);
    expect(await sourceFingerprint(src.query)).toEqual(before);
  });

  it('refuses a sandbox that is the source, with exit 2 and nothing run', async () => {
    const r = await runCli(['rehearse', FIXTURE, '--db', src.url, '--sandbox', src.url.replace('127.0.0.1', 'localhost'), '--plain']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--sandbox is the source database/);
    expect(r.stderr).not.toMatch(/at .*\.js/); // no stack trace
  });

  it('--sandbox URL of a staging database with --sample-method slices: rehearses there and leaves it as it was', async () => {
    const admin = new pg.Client(src.adminUrl);
    await admin.connect();
    const name = `${src.name}_cli_stage`;
    await admin.query(`create database ${name}`);
    const stage = withDatabase(src.adminUrl, name);
    const objects = `select count(*)::int n from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'`;
    const c = new pg.Client(stage);
    c.on('error', () => {});
    try {
      await c.connect();
      await c.query(`create table keep_me (id int primary key)`);
      const before = (await c.query(objects)).rows[0].n;
      const r = await runCli([
        'rehearse',
        FIXTURE,
        '--db',
        src.url,
        '--sandbox',
        stage,
        '--sample',
        '10%',
        '--sample-method',
        'slices',
        '--json',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const lines = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const last = lines[lines.length - 1];
      expect(last.type).toBe('rehearsal.projection');
      expect(last.report.rollback_verified).toBe(true);
      expect(JSON.stringify(last.report)).toMatch(/"method":"slices"/);
      expect((await c.query(objects)).rows[0].n).toBe(before);
      expect((await c.query(`select count(*)::int n from pg_namespace where nspname like 'pgrunbook%'`)).rows[0].n).toBe(0);
    } finally {
      await c.end().catch(() => {});
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });

  it('bad --sample-method is bad input', async () => {
    const r = await runCli(['rehearse', FIXTURE, '--db', src.url, '--sample-method', 'random']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--sample-method "random": expected auto, slices, tablesample/);
  });

  it('bad --sample is bad input', async () => {
    const r = await runCli(['rehearse', FIXTURE, '--db', src.url, '--sample', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--sample "0"/);
  });

  it('a missing pg_dump fails clearly, naming the package', async () => {
    const r = await runCli(['rehearse', FIXTURE, '--db', src.url, '--plain', '--schema-from', 'pg_dump'], {
      env: { PGRUNBOOK_PG_DUMP: '/nonexistent/pg_dump' },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pg_dump not found/);
    expect(r.stderr).toMatch(/postgresql-client/);
    expect(existsSync('/nonexistent')).toBe(false);
  });
});
