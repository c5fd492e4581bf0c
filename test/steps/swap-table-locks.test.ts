// swap_table's two strong locks and what the application meets while it waits for them: the sync
// trigger install waits in SHARE ROW EXCLUSIVE (reads go on), and the swap takes every lock in one
// LOCK TABLE, the incoming table first, so a wait for the shadow (an autovacuum on it) holds nothing
// the application needs; the changes then run in one round trip with the locks held.
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { swapTable } from '../../src/steps/swap-table.js';
import { createStateSchema } from '../backfill/helpers.js';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { eventsOf, harness, holdLock } from './ddl/helpers.js';

/** A fresh pair of tables, nothing left of an earlier swap (the old table, its missed-writes table, the functions). */
const SETUP = `
  DROP TABLE IF EXISTS invoices, accounts, accounts_new, accounts_old, accounts_old_missed CASCADE;
  DROP FUNCTION IF EXISTS pgrunbook_swap_sync_accounts(), pgrunbook_swap_back_accounts();
  CREATE TABLE accounts (id serial PRIMARY KEY, balance int NOT NULL);
  INSERT INTO accounts (balance) SELECT g FROM generate_series(1, 5000) g;
  CREATE TABLE invoices (id int PRIMARY KEY, account_id int NOT NULL REFERENCES accounts (id));
  INSERT INTO invoices SELECT g, g FROM generate_series(1, 500) g;
`;

/** The lock `mode` someone waits for on `rel`, polled until it shows (undefined after ~10 s). */
async function waitingFor(db: { query: (sql: string, p?: unknown[]) => Promise<any[]> }, rel: string): Promise<string | undefined> {
  for (let i = 0; i < 400; i++) {
    const r = await db.query(`select mode from pg_locks where not granted and relation = to_regclass($1)`, [rel]);
    if (r[0]) return r[0].mode;
    await new Promise((res) => setTimeout(res, 25));
  }
  return undefined;
}

/** A read of `table` under a 1 s lock_timeout, as the application's SELECT would be: resolves to its row count or the error. */
async function readWithin1s(url: string, table: string): Promise<number | string> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    await c.query(`SET lock_timeout = '1s'`);
    return (await c.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await c.end();
  }
}

for (const major of edgeMajors()) {
  describe(`swap_table's locks on PostgreSQL ${major}`, () => {
    const db = useTestDatabase(major);
    beforeAll(async () => {
      await createStateSchema(db.pool);
    });

    it('installs the sync trigger waiting in SHARE ROW EXCLUSIVE: the application reads the table meanwhile', async () => {
      await db.query(SETUP);
      const h = await harness(swapTable, { table: 'accounts', columns: [{ name: 'id', type: 'bigint' }] }, { url: db.url });
      // An open write on the table: CREATE TRIGGER waits for it.
      const writer = await holdLock(db.url, 'UPDATE accounts SET balance = balance WHERE id = 1');
      const p = swapTable.apply(h.step, h.ctx);
      try {
        expect(await waitingFor(db, 'accounts')).toBe('ShareRowExclusiveLock');
        expect(await readWithin1s(db.url, 'accounts')).toBe(5000);
      } finally {
        await writer.release();
      }
      await p;
      expect(
        (
          await db.query(
            `select format_type(atttypid, atttypmod) t from pg_attribute where attrelid = 'accounts'::regclass and attname = 'id'`,
          )
        )[0].t,
      ).toBe('bigint');
      await h.ctx.close();
    });

    it('takes the swap locks in one LOCK TABLE, the shadow first: waiting for it holds nothing the application reads; the changes run in one round trip', async () => {
      await db.query(SETUP);
      const h = await harness(swapTable, { table: 'accounts', columns: [{ name: 'id', type: 'bigint' }] }, { url: db.url });
      // As soon as verify has its evidence, a session takes what autovacuum takes on the shadow.
      const vacuum = new pg.Client(db.url);
      await vacuum.connect();
      let held: Promise<unknown> | undefined;
      const emit = h.ctx.emit;
      h.ctx.emit = (b) => {
        if (b.type === 'step.evidence' && b.evidence.some((x) => x.label === 'checksum'))
          held = vacuum.query('BEGIN; LOCK TABLE accounts_new IN SHARE UPDATE EXCLUSIVE MODE');
        emit(b);
      };
      const p = swapTable.apply(h.step, h.ctx);
      try {
        expect(await waitingFor(db, 'accounts_new')).toBe('AccessExclusiveLock');
        await held;
        // Nothing granted to the swap on the live table or the referencing one while it waits.
        expect(await readWithin1s(db.url, 'accounts')).toBe(5000);
        expect(await readWithin1s(db.url, 'invoices')).toBe(500);
      } finally {
        await vacuum.query('COMMIT').catch(() => {});
        await vacuum.end();
      }
      await p;
      const swapSql = eventsOf(h.ctx, 'step.sql')
        .map((e) => e.sql as string)
        .filter((s) => /^LOCK TABLE|^DO \$pgrunbook_swap\$/.test(s));
      expect(swapSql.at(-2)).toBe('LOCK TABLE "public"."accounts_new", "public"."accounts", "public"."invoices" IN ACCESS EXCLUSIVE MODE');
      expect(swapSql.at(-1)).toMatch(/^DO \$pgrunbook_swap\$[\s\S]*RENAME TO "accounts_old"[\s\S]*ALTER SEQUENCE/);
      expect(
        (await db.query(`select convalidated from pg_constraint where conrelid = 'invoices'::regclass and contype = 'f'`))[0].convalidated,
      ).toBe(true);
      expect((await db.query('select count(*)::int n from accounts'))[0].n).toBe(5000);

      // The swap back takes its locks the same way: the old table first, then the live one.
      await swapTable.rollback!(h.step, h.ctx);
      const back = eventsOf(h.ctx, 'step.sql')
        .map((e) => e.sql as string)
        .filter((s) => /^LOCK TABLE/.test(s))
        .at(-1);
      expect(back).toBe('LOCK TABLE "public"."accounts_old", "public"."accounts", "public"."invoices" IN ACCESS EXCLUSIVE MODE');
      expect(
        (
          await db.query(
            `select format_type(atttypid, atttypmod) t from pg_attribute where attrelid = 'accounts'::regclass and attname = 'id'`,
          )
        )[0].t,
      ).toBe('integer');
      await h.ctx.close();
    });
  });
}
