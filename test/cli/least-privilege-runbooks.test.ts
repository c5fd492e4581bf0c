// The shipped swap-table and jsonb-derived-column runbooks, deploy then rollback, through the real
// binary as a non-superuser role that owns the application's tables, with and without pg_monitor,
// on the oldest and newest PostgreSQL under test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { edgeMajors, useTestDatabase, type TestDb } from '../support/pg.js';
import { runCli } from '../support/cli.js';
import { seedOrders } from '../runbooks/seed.js';

/** A login role owning the seeded tables and view, with CREATE on the database and on schema public; nothing more. */
async function ownerRole(db: TestDb, monitor: boolean): Promise<{ role: string; url: string }> {
  const role = `deploy_${db.name}`;
  await seedOrders(db, 6000, 'serial');
  // The role creates its own state schema, as on a fresh production database.
  await db.query(`DROP SCHEMA pgrunbook CASCADE`);
  await db.query(`CREATE ROLE ${role} LOGIN PASSWORD 'deploy-pw' NOSUPERUSER NOCREATEDB NOCREATEROLE`);
  if (monitor) await db.query(`GRANT pg_monitor TO ${role}`);
  await db.query(`GRANT CREATE ON DATABASE ${db.name} TO ${role}`);
  await db.query(`GRANT CREATE ON SCHEMA public TO ${role}`);
  await db.query(`ALTER TABLE customers OWNER TO ${role}; ALTER TABLE orders OWNER TO ${role};
    ALTER TABLE order_items OWNER TO ${role}; ALTER VIEW recent_orders OWNER TO ${role}`);
  const url = new URL(db.url);
  url.username = role;
  url.password = 'deploy-pw';
  return { role, url: url.toString() };
}

async function runPhase(file: string, url: string, phase: string, journal: string) {
  const r = await runCli([
    'run',
    file,
    '--db',
    url,
    '--phase',
    phase,
    '--plain',
    '--yes',
    '--allow-irreversible',
    '--journal-dir',
    journal,
  ]);
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  expect(r.stdout + r.stderr).not.toMatch(/permission denied/i);
  return r.stdout + r.stderr;
}

for (const major of edgeMajors()) {
  for (const monitor of [false, true]) {
    describe(`least privilege on PostgreSQL ${major}: shipped runbooks as the owner ${monitor ? 'with' : 'without'} pg_monitor`, () => {
      const db = useTestDatabase(major);
      let who: { role: string; url: string };
      beforeAll(async () => {
        who = await ownerRole(db, monitor);
      });
      afterAll(async () => {
        await db.query(`DROP OWNED BY ${who.role} CASCADE; DROP ROLE ${who.role}`).catch(() => {});
      });

      it('swap-table deploys int → bigint and rolls back to the original table', async () => {
        const idType = async () =>
          (
            await db.query(
              `select format_type(atttypid, atttypmod) t from pg_attribute where attrelid = 'orders'::regclass and attname = 'id'`,
            )
          )[0].t;
        const journal = mkdtempSync(join(tmpdir(), 'pgrunbook-lp-'));
        await runPhase('runbooks/swap-table.yaml', who.url, 'deploy', journal);
        expect(await idType()).toBe('bigint');
        expect(await db.query(`select relowner::regrole::text o from pg_class where oid = 'orders'::regclass`)).toEqual([{ o: who.role }]);
        await db.query(`INSERT INTO orders (customer_id, amount) VALUES (1, 99999.99)`);
        await runPhase('runbooks/swap-table.yaml', who.url, 'rollback', journal);
        expect(await idType()).toBe('integer');
        expect(await db.query(`select count(*)::int n from orders where amount = 99999.99`)).toEqual([{ n: 1 }]);
        expect(await db.query(`select to_regclass('orders_old') a, to_regclass('orders_new') b`)).toEqual([{ a: null, b: null }]);
      }, 180_000);

      it('jsonb-derived-column deploys (backfill, index, flag stages, NOT NULL) and rolls back', async () => {
        const journal = mkdtempSync(join(tmpdir(), 'pgrunbook-lp-'));
        const out = await runPhase('runbooks/jsonb-derived-column.yaml', who.url, 'deploy', journal);
        expect(
          await db.query(`select count(*)::int n from orders o join customers c on c.id = o.customer_id
                           where o.customer_snapshot->>'tier' is distinct from c.tier`),
        ).toEqual([{ n: 0 }]);
        expect(await db.query(`select percentage from feature_flags where name = 'orders.read_customer_snapshot'`)).toEqual([
          { percentage: 100 },
        ]);
        expect(
          await db.query(`select indisvalid from pg_index where indexrelid = to_regclass('orders_customer_snapshot_tier_idx')`),
        ).toEqual([{ indisvalid: true }]);
        // The backfill's replication-lag throttle cannot read pg_stat_replication fully without
        // pg_monitor: said once, never per batch.
        const notes = out.match(/grant pg_\w+/gi) ?? [];
        expect(notes.length, out).toBeLessThanOrEqual(monitor ? 0 : 1);
        await runPhase('runbooks/jsonb-derived-column.yaml', who.url, 'rollback', journal);
        expect(
          await db.query(
            `select count(*)::int n from pg_attribute where attrelid = 'orders'::regclass and attname = 'customer_snapshot' and not attisdropped`,
          ),
        ).toEqual([{ n: 0 }]);
        expect(await db.query(`select count(*)::int n from feature_flags where name = 'orders.read_customer_snapshot'`)).toEqual([
          { n: 0 },
        ]);
      }, 180_000);
    });
  }
}
