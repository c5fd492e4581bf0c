// Who a server is, to make sure a URL sandbox is not the source under another name
// (localhost vs 127.0.0.1, a DNS alias, a pooler in front of the same server).
import { lookup } from 'node:dns/promises';
import type { Queryable } from '../../pg/queryable.js';
import { sqlText } from '../../pg/sql-files.js';

export interface ServerIdentity {
  /** pg_control_system().system_identifier; null when the role may not read it. */
  systemIdentifier: string | null;
  database: string;
  /** pg_postmaster_start_time(): tells two servers with the same system identifier apart
   *  (a physical copy restored from a snapshot keeps the identifier but starts on its own). */
  postmasterStart: string;
  port: number;
  major: number;
  versionNum: number;
}

export async function serverIdentity(db: Queryable): Promise<ServerIdentity> {
  const r = await db.query<{ db: string; started: string; port: string; num: string }>(
    `select current_database() as db, pg_postmaster_start_time()::text as started,
            current_setting('port') as port, current_setting('server_version_num') as num`,
  );
  let systemIdentifier: string | null = null;
  try {
    const s = await db.query<{ id: string }>(sqlText('rehearsal/sql', 'system-identifier'));
    systemIdentifier = s.rows[0]?.id ?? null;
  } catch {
    // Restricted to superusers and pg_monitor on some installations; the start time still identifies.
  }
  const row = r.rows[0]!;
  const versionNum = Number(row.num);
  return {
    systemIdentifier,
    database: row.db,
    postmasterStart: row.started,
    port: Number(row.port),
    major: Math.floor(versionNum / 10000),
    versionNum,
  };
}

export interface Endpoint {
  host: string;
  port: number;
  database: string;
}

/** host:port/db from a postgres:// URL (defaults as libpq has them). */
export function endpointOf(url: string): Endpoint {
  const u = new URL(url);
  const host = decodeURIComponent(u.hostname || u.searchParams.get('host') || process.env.PGHOST || 'localhost').replace(/^\[|\]$/g, '');
  const port = Number(u.port || u.searchParams.get('port') || process.env.PGPORT || 5432);
  const user = decodeURIComponent(u.username || process.env.PGUSER || process.env.USER || 'postgres');
  const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || process.env.PGDATABASE || user;
  return { host, port, database };
}

async function addressesOf(host: string): Promise<Set<string>> {
  if (host.startsWith('/')) return new Set([`unix:${host}`]);
  try {
    const all = await lookup(host, { all: true });
    return new Set(all.map((a) => normalizeAddress(a.address)));
  } catch {
    return new Set([host.toLowerCase()]);
  }
}

function normalizeAddress(a: string): string {
  // Every loopback address is the same machine.
  if (a === '::1' || a.startsWith('127.') || a === '::ffff:127.0.0.1') return 'loopback';
  return a.replace(/^::ffff:/, '').toLowerCase();
}

/** True when both URLs name the same host (after DNS), port and database. */
export async function sameEndpoint(a: string, b: string): Promise<boolean> {
  const ea = endpointOf(a);
  const eb = endpointOf(b);
  if (ea.port !== eb.port || ea.database !== eb.database) return false;
  const [aa, ab] = await Promise.all([addressesOf(ea.host), addressesOf(eb.host)]);
  for (const x of aa) if (ab.has(x)) return true;
  return false;
}

/** Same server (same cluster, same life) and same database. */
export function sameServerAndDatabase(a: ServerIdentity, b: ServerIdentity): boolean {
  if (a.database !== b.database) return false;
  if (a.systemIdentifier && b.systemIdentifier && a.systemIdentifier !== b.systemIdentifier) return false;
  return a.postmasterStart === b.postmasterStart && a.port === b.port;
}

export function sameServer(a: ServerIdentity, b: ServerIdentity): boolean {
  if (a.systemIdentifier && b.systemIdentifier && a.systemIdentifier !== b.systemIdentifier) return false;
  return a.postmasterStart === b.postmasterStart && a.port === b.port;
}
