// plan, run and monitor of the shipped add-column-backfill runbook as a non-superuser role that
// owns the table, with and without pg_monitor, through the real binary. Each works; without
// pg_monitor the monitor says once what it cannot see and which GRANT would show it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useTestDatabase, type TestDb } from '../support/pg.js';
import { runCli, startCli } from '../support/cli.js';

const RUNBOOK = 'runbooks/add-column-backfill.yaml';

/** A login role that owns `orders` (20k rows) and may create in the database and in schema public; nothing more. */
async function ownerRole(db: TestDb, monitor: boolean): Promise<{ role: string; url: string }> {
  const role = `deploy_${db.name}`;
  await db.query(`CREATE ROLE ${role} LOGIN PASSWORD 'deploy-pw' NOSUPERUSER NOCREATEDB NOCREATEROLE`);
  if (monitor) await db.query(`GRANT pg_monitor TO ${role}`);
  await db.query(`GRANT CREATE ON DATABASE ${db.name} TO ${role}`);
  // CREATE INDEX needs CREATE on the table's schema (PostgreSQL 15+ no longer gives it on public).
  await db.query(`GRANT CREATE ON SCHEMA public TO ${role}`);
  await db.query(`CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(12,2), status text);
    INSERT INTO orders SELECT g, g % 100, 'new' FROM generate_series(1, 20000) g; ANALYZE orders;
    ALTER TABLE orders OWNER TO ${role}`);
  const url = new URL(db.url);
  url.username = role;
  url.password = 'deploy-pw';
  return { role, url: url.toString() };
}

for (const monitor of [false, true]) {
  describe(`least privilege: table owner ${monitor ? 'with' : 'without'} pg_monitor`, () => {
    const db = useTestDatabase();
    let who: { role: string; url: string };
    beforeAll(async () => {
      who = await ownerRole(db, monitor);
    });
    afterAll(async () => {
      await db.query(`DROP OWNED BY ${who.role} CASCADE; DROP ROLE ${who.role}`).catch(() => {});
    });

    it('plan works for the role, which is not a superuser', async () => {
      const c = await runCli(['plan', RUNBOOK, '--db', who.url, '--plain']);
      expect(c.code, c.stderr).toBe(0);
      expect(c.stdout).toMatch(/^plan: Add a derived column with a backfill/m);
      expect(
        await db.query(`select rolsuper, pg_has_role(rolname, 'pg_monitor', 'member') m from pg_roles where rolname = $1`, [who.role]),
      ).toEqual([{ rolsuper: false, m: monitor }]);
    });

    it('rehearse reads the source as the role, rehearses in an embedded sandbox and records only its projection there', async () => {
      const before = await db.query(`select count(*)::int n, sum(amount)::text s from orders`);
      const r = await runCli(['rehearse', RUNBOOK, '--db', who.url, '--sample', '10%', '--plain']);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(/permission denied/);
      expect(await db.query(`select count(*)::int n, sum(amount)::text s from orders`)).toEqual(before);
      expect(
        await db.query(`select count(*)::int n from pg_attribute where attrelid = 'orders'::regclass and attname = 'amount_cents'`),
      ).toEqual([{ n: 0 }]);
      // Its one write to the source: the projection, kept for plan and the deploy gate.
      expect(await db.query(`select count(*)::int n from pgrunbook.rehearsals`)).toEqual([{ n: 1 }]);
    }, 180_000);

    it('run deploys the change and records it in pgrunbook.*', async () => {
      const journal = mkdtempSync(join(tmpdir(), 'pgrunbook-lp-'));
      const r = await runCli(['run', RUNBOOK, '--db', who.url, '--plain', '--yes', '--allow-irreversible', '--journal-dir', journal]);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(await db.query(`select count(*)::int n from orders where amount_cents is distinct from (amount * 100)::bigint`)).toEqual([
        { n: 0 },
      ]);
      expect(await db.query(`select indisvalid from pg_index where indexrelid = to_regclass('orders_amount_cents_idx')`)).toEqual([
        { indisvalid: true },
      ]);
      expect(await db.query(`select status, count(*)::int n from pgrunbook.step_states group by status`)).toEqual([
        { status: 'completed', n: 5 },
      ]);
      expect(await db.query(`select nspowner::regrole::text o from pg_namespace where nspname = 'pgrunbook'`)).toEqual([{ o: who.role }]);
      expect(r.stdout + r.stderr).not.toMatch(/permission denied/);
      // A missing privilege is named at most once (the backfill's throttle probes), never per batch.
      const privilegeNotes = (r.stdout + r.stderr).match(/grant pg_\w+/gi) ?? [];
      expect(privilegeNotes.length, r.stdout).toBeLessThanOrEqual(monitor ? 0 : 1);
    });

    it('status and report read the run back as the role', async () => {
      const [run] = await db.query<{ run_id: string }>(`select run_id from pgrunbook.runs order by started_at desc limit 1`);
      const st = await runCli(['status', '--db', who.url]);
      expect(st.code, st.stderr).toBe(0);
      expect(st.stdout).toContain(run!.run_id);
      const rep = await runCli(['report', run!.run_id, '--db', who.url, '--format', 'json']);
      expect(rep.code, rep.stderr).toBe(0);
      expect(JSON.stringify(JSON.parse(rep.stdout))).toContain(run!.run_id);
      expect(st.stderr + rep.stderr).not.toMatch(/permission denied/);
    });

    it('resume as the role finishes a run killed mid-backfill', async () => {
      const journal = mkdtempSync(join(tmpdir(), 'pgrunbook-lp-'));
      const args = ['--db', who.url, '--plain', '--yes', '--allow-irreversible', '--journal-dir', journal];
      const first = startCli(['run', RUNBOOK, ...args, '--var', 'column=amount_again', '--var', 'index=false']);
      await first.waitFor(/backfill: started/, 60_000);
      first.child.kill('SIGKILL');
      await first.done;
      const r = await runCli(['resume', ...args]);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(await db.query(`select count(*)::int n from orders where amount_again is distinct from (amount * 100)::bigint`)).toEqual([
        { n: 0 },
      ]);
      expect(r.stdout + r.stderr).not.toMatch(/permission denied/);
    });

    it('the shipped create-index runbook runs as the role', async () => {
      const journal = mkdtempSync(join(tmpdir(), 'pgrunbook-lp-'));
      const r = await runCli([
        'run',
        'runbooks/create-index.yaml',
        '--db',
        who.url,
        '--plain',
        '--yes',
        '--allow-irreversible',
        '--journal-dir',
        journal,
        '--var',
        'column=status',
        '--var',
        'name=orders_status_idx',
      ]);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(await db.query(`select indisvalid from pg_index where indexrelid = to_regclass('orders_status_idx')`)).toEqual([
        { indisvalid: true },
      ]);
    });

    it(`monitor --plain --count 1 ${monitor ? "shows another role's long query" : 'says once what it cannot see'}`, async () => {
      // A superuser session's long query: visible only with pg_read_all_stats (in pg_monitor).
      const sleeper = db.pool.query(`select pg_sleep(20) /* someone else's long query */`).catch(() => {});
      await new Promise((r) => setTimeout(r, 1_500));
      const m = await runCli(['monitor', '--db', who.url, '--plain', '--count', '1', '--long-query', '1s']);
      await db.query(
        `select pg_cancel_backend(pid) from pg_stat_activity where query like '%someone else''s long query%' and pid <> pg_backend_pid()`,
      );
      await sleeper;
      expect(m.code, m.stderr).toBe(0);
      const hints = (m.stdout + m.stderr).match(/pg_read_all_stats/g) ?? [];
      if (monitor) {
        expect(m.stdout).toMatch(/pg_sleep\(20\)/);
        expect(hints).toHaveLength(0);
      } else {
        expect(m.stdout).not.toMatch(/pg_sleep\(20\)/);
        expect(hints).toHaveLength(1);
      }
    });
  });
}
