// swap_table's copy through the real binary: SIGKILL mid-copy twice, then `pgrunbook resume`. The
// copy's cursor commits with each batch, so each resume says where it restarts and every row is
// counted once; the verify step's count and checksum prove the shadow equals the table.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { runCli, startCli, type CliProcess } from '../support/cli.js';

const ROWS = 40_000;

function runbook(name: string, extra = ''): string {
  const file = join(mkdtempSync(join(tmpdir(), 'pgrunbook-swap-crash-')), 'swap.yaml');
  // Small fixed batches with a pause stretch the copy so the kills land in the middle of it.
  writeFileSync(
    file,
    `version: 1
name: ${name}
settings:
  lock_timeout: 2s
phases:
  deploy:
    - id: widen
      swap_table:
        table: accounts
        columns:
          - name: id
            type: bigint
        batch_size: 400
        pause: 15ms
${extra}`,
  );
  return file;
}

const progressed = /widen: [1-9]\d*\/\d+ rows/;

async function killMidCopy(p: CliProcess): Promise<void> {
  await p.waitFor(progressed, 60_000);
  p.child.kill('SIGKILL');
  expect((await p.done).signal).toBe('SIGKILL');
}

for (const major of edgeMajors()) {
  describe(`swap_table copy through kill -9 on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);

    it('resumes after the last committed batch, says where, and copies every row exactly once', async () => {
      await db.query(`CREATE TABLE accounts (id serial PRIMARY KEY, balance int NOT NULL, pad text);
        INSERT INTO accounts (balance, pad) SELECT g, repeat('x', 40) FROM generate_series(1, ${ROWS}) g;
        CREATE TABLE invoices (id serial PRIMARY KEY, account_id int NOT NULL REFERENCES accounts (id));
        INSERT INTO invoices (account_id) SELECT g FROM generate_series(1, 500) g;
        ANALYZE accounts`);
      const file = runbook(`swap-crash-${major}`);
      const cursor = async () =>
        (await db.query(`select pass, rows_done::int as rows, batches::int from pgrunbook.backfill_cursors where step_id = 'widen'`))[0];

      const run = startCli(['run', file, '--db', db.url, '--plain', '--yes']);
      await killMidCopy(run);
      // The plan at the gates does not lint swap_table's own rename and shadow type change.
      expect(run.stdout()).toMatch(/widen: gate \(confirm\)/);
      expect(run.stdout()).not.toMatch(/Renaming accounts|rewrites public\.accounts_new/);
      const first = await cursor();
      expect(first.pass).toBe('main');
      expect(first.rows).toBeGreaterThan(0);
      expect(first.rows).toBeLessThan(ROWS);

      const second = startCli(['resume', '--db', db.url, '--plain', '--yes']);
      await second.waitFor(/widen: resuming: copy of public\.accounts into accounts_new: main pass, cursor at \(\d+\)/, 60_000);
      expect(second.stdout()).toMatch(/restarts after key \(\d+\)/);
      // No line per batch: progress is sampled, and the batches' SQL stays out of the log.
      await killMidCopy(second);
      expect(second.stdout()).not.toMatch(/widen: ok in [^\n]*(INSERT INTO|__pgrunbook)/);
      expect((await cursor()).rows).toBeGreaterThan(first.rows);

      const last = await runCli(['resume', '--db', db.url, '--plain', '--yes']);
      expect(last.stderr).toBe('');
      expect(last.code).toBe(0);
      expect(last.stdout).toMatch(/widen: resuming: copy of public\.accounts into accounts_new: main pass, cursor at \(\d+\)/);
      expect(last.stdout).toMatch(new RegExp(`copied ${ROWS} rows into accounts_new`));
      expect(last.stdout).toMatch(/checksum=equal/);
      // Exactly once: the committed cursor counted each row one time across three processes.
      expect(await cursor()).toEqual({ pass: 'done', rows: ROWS, batches: ROWS / 400 });
      expect(
        await db.query(
          `select format_type(atttypid, atttypmod) t from pg_attribute where attrelid = 'accounts'::regclass and attname = 'id'`,
        ),
      ).toEqual([{ t: 'bigint' }]);
      expect(await db.query(`select count(*)::int n, sum(balance)::bigint s from accounts`)).toEqual([
        { n: ROWS, s: String((ROWS * (ROWS + 1)) / 2) },
      ]);
    }, 240_000);
  });

  // Its own database: the runbook names the same table and step as the test above.
  describe(`swap_table copy with two workers through kill -9 on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);

    it('with workers: 2, both key ranges survive kill -9 and resume, and every row is copied exactly once', async () => {
      await db.query(`CREATE TABLE accounts (id serial PRIMARY KEY, balance int NOT NULL, pad text);
        INSERT INTO accounts (balance, pad) SELECT g, repeat('x', 40) FROM generate_series(1, ${ROWS}) g;
        ANALYZE accounts`);
      const file = runbook(`swap-crash-2-${major}`, '        workers: 2\n');
      const state = async () =>
        (
          await db.query(`select c.pass, c.rows_done::int as rows, (select count(*)::int from pgrunbook.backfill_ranges r
                            where r.step_id = 'widen' and r.cursor <> r.upper_bound) as open_ranges
                            from pgrunbook.backfill_cursors c where c.step_id = 'widen'`)
        )[0];

      const run = startCli(['run', file, '--db', db.url, '--plain', '--yes']);
      await run.waitFor(/widen: main pass cut at key \(\d+\)/, 60_000);
      await killMidCopy(run);
      const first = await state();
      expect(first.pass).toBe('main');
      expect(first.open_ranges).toBe(1);

      const second = startCli(['resume', '--db', db.url, '--plain', '--yes']);
      await second.waitFor(/widen: resuming the second key range: keys above \(\d+\) up to \(\d+\)/, 60_000);
      await killMidCopy(second);

      const last = await runCli(['resume', '--db', db.url, '--plain', '--yes']);
      expect(last.stderr).toBe('');
      expect(last.code).toBe(0);
      expect(last.stdout).toMatch(new RegExp(`copied ${ROWS} rows into accounts_new`));
      expect(last.stdout).toMatch(/checksum=equal/);
      // Exactly once: both ranges' committed cursors, folded into one, counted each row one time.
      expect(await state()).toEqual({ pass: 'done', rows: ROWS, open_ranges: 0 });
      expect(await db.query(`select count(*)::int n, sum(balance)::bigint s from accounts`)).toEqual([
        { n: ROWS, s: String((ROWS * (ROWS + 1)) / 2) },
      ]);
    }, 240_000);
  });
}
