// A source server that the installed pg_dump can dump (pg_dump refuses newer servers): the suite's
// server when its major fits, else an embedded server of the newest installed major that does.
import { afterAll, beforeAll } from 'vitest';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { EmbeddedServer, installedMajors } from '../../src/pg/embedded-server.js';
import { findPgDump } from '../../src/rehearsal/pgdump.js';
import { majors, serverUrl, withDatabase } from '../support/pg.js';

export interface SourceDb {
  url: string;
  adminUrl: string;
  major: number;
  name: string;
  query: <R extends pg.QueryResultRow = any>(sql: string, params?: unknown[]) => Promise<R[]>;
}

export function useSourceDatabase(seed: (q: SourceDb['query']) => Promise<void>): SourceDb {
  const db = {} as SourceDb;
  let server: EmbeddedServer | undefined;
  let pool: pg.Pool | undefined;
  beforeAll(async () => {
    const dump = await findPgDump(0); // any pg_dump: the e2e tests need one (package postgresql-client)
    const suite = majors()
      .filter((m) => m <= dump.major)
      .sort((a, b) => b - a)[0];
    let admin: string;
    if (suite !== undefined) {
      admin = serverUrl(suite);
      db.major = suite;
    } else {
      const major = installedMajors()
        .filter((m) => m <= dump.major)
        .sort((a, b) => b - a)[0];
      if (major === undefined)
        throw new Error(`pg_dump ${dump.major} is older than every installed embedded PostgreSQL (${installedMajors().join(', ')})`);
      server = await EmbeddedServer.start({ major });
      admin = server.url;
      db.major = major;
    }
    db.adminUrl = admin;
    db.name = `src_${randomBytes(4).toString('hex')}`;
    const c = new pg.Client(admin);
    await c.connect();
    await c.query(`CREATE DATABASE ${db.name}`);
    await c.end();
    db.url = withDatabase(admin, db.name);
    pool = new pg.Pool({ connectionString: db.url, max: 3 });
    pool.on('error', () => {});
    db.query = async (sql, params) => (await pool!.query(sql, params as any[])).rows;
    await seed(db.query);
    // A backend flushes its statistics when it exits: later fingerprints then see the seed's. The
    // client's end() does not wait for the server's backends to exit (on a loaded CI machine a
    // fingerprint once saw the seed's inserts land after it), so wait until they are gone.
    await pool.end();
    pool = new pg.Pool({ connectionString: db.url, max: 3 });
    pool.on('error', () => {});
    for (let i = 0; i < 100; i++) {
      const others = await pool.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      );
      if (others.rows[0]!.n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => {
    await pool?.end();
    if (server) await server.stop();
    else if (db.adminUrl) {
      const c = new pg.Client(db.adminUrl);
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`);
      await c.end();
    }
  });
  return db;
}

/** customers (2k) ← orders (n rows, FK), the shape the fixture runbook changes. */
export async function seedOrders(q: SourceDb['query'], rows = 40_000): Promise<void> {
  await q(`
    create table customers (id bigserial primary key, name text not null);
    create table orders (id bigserial primary key, customer_id bigint not null references customers(id), amount numeric(10,2) not null, note text);
    create index orders_customer_idx on orders (customer_id);
    insert into customers (name) select 'c' || g from generate_series(1, 2000) g;
    insert into orders (customer_id, amount) select 1 + (g % 2000), (g % 10000) / 100.0 from generate_series(1, ${rows}) g;
    analyze customers; analyze orders;`);
}

/**
 * What would show any write to the source: row counters, relfilenodes, columns. Statistics reach
 * pg_stat_user_tables asynchronously (up to a second late), so this waits until two readings agree.
 */
export async function sourceFingerprint(q: SourceDb['query']): Promise<unknown> {
  let prev = JSON.stringify(await fingerprintOnce(q));
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const cur = JSON.stringify(await fingerprintOnce(q));
    if (cur === prev) return JSON.parse(cur);
    prev = cur;
  }
  return JSON.parse(prev);
}

async function fingerprintOnce(q: SourceDb['query']): Promise<unknown> {
  await q(`select pg_stat_clear_snapshot()`);
  // The one write a rehearsal makes on the source is its projection, in pgrunbook's own schema
  // (rehearsal/record-projection.ts): everything else must stay as it was.
  const stats = await q(
    `select relname, n_tup_ins, n_tup_upd, n_tup_del from pg_stat_user_tables where schemaname <> 'pgrunbook' order by relname`,
  );
  const files = await q(`select relname, relfilenode from pg_class where relnamespace = 'public'::regnamespace order by relname`);
  const cols = await q(
    `select attrelid::regclass::text t, attname, attnotnull from pg_attribute where attrelid in ('orders'::regclass, 'customers'::regclass) and attnum > 0 and not attisdropped order by 1, 2`,
  );
  const schemas = await q(`select nspname from pg_namespace where nspname like 'pgrunbook%' and nspname <> 'pgrunbook'`);
  return { stats, files, cols, schemas };
}
