// An embedded server of its own that asks for a password (scram-sha-256) over TCP, for tests of
// where the password travels. The `postgres` superuser keeps trust so the test can set things up.
import { readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { EmbeddedServer, type EmbeddedOptions } from '../../src/pg/embedded-server.js';

export interface PasswordServer {
  server: EmbeddedServer;
  /** postgres://app:PASSWORD@127.0.0.1:PORT/postgres */
  url: string;
  password: string;
  admin: (sql: string, params?: unknown[]) => Promise<pg.QueryResultRow[]>;
  stop: () => Promise<void>;
}

export async function startPasswordServer(
  opts: EmbeddedOptions & { role?: string; password?: string; superuser?: boolean } = {},
): Promise<PasswordServer> {
  const server = await EmbeddedServer.start(opts);
  const role = opts.role ?? 'app';
  const password = opts.password ?? 'Pw-s3cret:with\\odd@chars';
  const admin = async (sql: string, params?: unknown[]) => {
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    try {
      return (await c.query(sql, params as unknown[])).rows;
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE ROLE ${role} LOGIN ${opts.superuser === false ? '' : 'SUPERUSER'} PASSWORD '${password.replace(/'/g, "''")}'`);
  const [{ hba_file }] = (await admin('show hba_file')) as [{ hba_file: string }];
  // First match wins: the role must authenticate with its password on every TCP connection.
  const hba = readFileSync(hba_file, 'utf8');
  writeFileSync(hba_file, `host all ${role} 0.0.0.0/0 scram-sha-256\n${hba}`);
  await admin('select pg_reload_conf()');
  const url = `postgres://${role}:${encodeURIComponent(password)}@127.0.0.1:${server.port}/postgres`;
  return { server, url, password, admin, stop: () => server.stop() };
}
