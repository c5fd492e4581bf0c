// Per-test-file databases on the suite's embedded servers.
import { inject, beforeAll, afterAll } from 'vitest';
import pg from 'pg';
import { randomBytes } from 'node:crypto';

export function majors(): number[] {
  return inject('pgMajors');
}

/** The newest and oldest requested majors (for "14 and 18" style matrices). */
export function edgeMajors(): number[] {
  const m = [...majors()].sort((a, b) => a - b);
  return [...new Set([m[0]!, m[m.length - 1]!])];
}

export function serverUrl(major = majors()[0]!): string {
  const url = inject('pgUrls')[String(major)];
  if (!url) throw new Error(`PostgreSQL ${major} was not started; set PG_VERSIONS to include it`);
  return url;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function createDatabase(major?: number, prefix = 't'): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const admin = serverUrl(major);
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const c = new pg.Client(admin);
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  return {
    url: withDatabase(admin, name),
    name,
    drop: async () => {
      const d = new pg.Client(admin);
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}

/**
 * A pool for tests. `pool.end()` resolves before its sessions have closed, so a following
 * `DROP DATABASE … WITH (FORCE)` can terminate one of them; without an 'error' listener the pool
 * rethrows that FATAL (57P01) as an uncaught exception and fails the run.
 */
export function testPool(url: string, max: number, applicationName?: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, ...(applicationName ? { application_name: applicationName } : {}) });
  pool.on('error', () => {});
  return pool;
}

/**
 * SQL making a plain role that can use the public schema and read pgrunbook's state tables (when
 * they exist), and a pool whose sessions act as it (`-c role=`): for what a less privileged operator sees.
 */
export function plainRoleSql(role: string): string {
  return `CREATE ROLE ${role};
    GRANT USAGE ON SCHEMA public TO ${role};
    DO $$ BEGIN
      IF to_regnamespace('pgrunbook') IS NOT NULL THEN
        GRANT USAGE ON SCHEMA pgrunbook TO ${role};
        GRANT SELECT ON ALL TABLES IN SCHEMA pgrunbook TO ${role};
      END IF;
    END $$`;
}

export function poolAsRole(url: string, role: string, max = 3): pg.Pool {
  const u = new URL(url);
  u.searchParams.set('options', `-c role=${role}`);
  return testPool(u.toString(), max);
}

export interface TestDb {
  url: string;
  name: string;
  major: number;
  pool: pg.Pool;
  query: <R extends pg.QueryResultRow = any>(sql: string, params?: unknown[]) => Promise<R[]>;
}

/**
 * Registers beforeAll/afterAll hooks that create a fresh database for this file (or describe block)
 * and drop it afterwards. Access the fields only inside tests.
 */
export function useTestDatabase(major?: number): TestDb {
  const db = {} as TestDb;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const m = major ?? majors()[0]!;
    const created = await createDatabase(m);
    drop = created.drop;
    db.url = created.url;
    db.name = created.name;
    db.major = m;
    db.pool = testPool(created.url, 5);
    db.query = async (sql, params) => (await db.pool.query(sql, params as any[])).rows;
  });
  afterAll(async () => {
    await db.pool?.end();
    await drop?.();
  });
  return db;
}
