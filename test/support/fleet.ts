// Shared set-up of the real-PG fleet tests: tenant databases on an embedded server (or spread over two), a targets file over them.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedServer } from '../../src/pg/embedded-server.js';
import { admin } from './pg-session.js';
import { serverUrl, withDatabase } from './pg.js';

export interface TenantDb {
  name: string;
  url: string;
}

export { admin };

/** A new database `name` on the server (dropped first if left over), with `setup` SQL run in it. */
export async function freshTenant(serverAdminUrl: string, name: string, setup: string): Promise<TenantDb> {
  await admin(serverAdminUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${name}`);
  });
  const url = withDatabase(serverAdminUrl, name);
  if (setup) await admin(url, (c) => c.query(setup));
  return { name, url };
}

export async function dropTenants(serverAdminUrl: string, dbs: TenantDb[]): Promise<void> {
  await admin(serverAdminUrl, async (c) => {
    for (const d of dbs) await c.query(`DROP DATABASE IF EXISTS ${d.name} WITH (FORCE)`);
  });
}

/** A targets file in `dir`: every database, its name as the `tenant` var. */
export function targetsFile(dir: string, dbs: TenantDb[], file: string): string {
  const path = join(dir, file);
  writeFileSync(path, `targets:\n${dbs.map((d) => `  - name: ${d.name}\n    url: ${d.url}\n    vars: { tenant: ${d.name} }\n`).join('')}`);
  return path;
}

/** The public schema's tables and columns, one "table.column type" line each: a schema to compare before and after. */
export async function schemaOf(url: string): Promise<string[]> {
  return admin(url, async (c) => {
    const r = await c.query<{ l: string }>(
      `select table_name || '.' || column_name || ' ' || data_type as l from information_schema.columns
        where table_schema = 'public' order by 1`,
    );
    return r.rows.map((x) => x.l);
  });
}

/** Tenant databases spread over two servers of one major version: the suite's and a second one started for the test. */
export interface TwoServers {
  /** Database i is on server i % 2 (0: the suite's, 1: the second). */
  dbs: TenantDb[];
  second: EmbeddedServer;
  /** Drops the databases on the suite's server and stops the second one (its data goes with it). */
  cleanUp(): Promise<void>;
}

/** Starts a second server of `major` and creates `count` tenants (`name(i)`, with `setup` SQL) alternating between the two. */
export async function tenantsOnTwoServers(major: number, count: number, name: (i: number) => string, setup: string): Promise<TwoServers> {
  const second = await EmbeddedServer.start({ major });
  const servers = [serverUrl(major), second.url];
  const dbs = await Promise.all(Array.from({ length: count }, (_, i) => freshTenant(servers[i % 2]!, name(i), setup)));
  return {
    dbs,
    second,
    cleanUp: async () => {
      await dropTenants(
        serverUrl(major),
        dbs.filter((_, i) => i % 2 === 0),
      );
      await second.stop();
    },
  };
}
