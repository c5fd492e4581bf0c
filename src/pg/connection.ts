// Where to connect: --db URL, else DATABASE_URL, else the libpq variables (PGHOST, PGPORT, PGUSER,
// PGDATABASE, PGPASSWORD, PGSSLMODE) and ~/.pgpass, which node-postgres reads itself.
import pg from 'pg';
import { registerSecret, redact } from '../util/secrets.js';
import { clientConfig, defaultUser, TlsConfigError } from './client-config.js';
import { watchdogFor } from './stall-watchdog.js';

/** The database a run targets, for headers, the journal and reports (never with a password). */
export interface Target {
  host: string;
  port: number;
  database: string;
  user: string;
  serverVersion?: string;
  serverVersionNum?: number;
}

export class ConnectionConfigError extends Error {}

export interface ConnectionSpec {
  /** Pass to node-postgres; undefined = libpq environment variables. */
  connectionString?: string;
  /** Where it came from, for messages. */
  source: '--db' | '--sandbox' | 'DATABASE_URL' | 'libpq environment';
  /** Set when no user was named anywhere and the OS account's name is used, as libpq does. */
  defaultedUser?: string;
  target: Omit<Target, 'serverVersion' | 'serverVersionNum'>;
}

export function resolveConnection(
  db: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  flag: '--db' | '--sandbox' = '--db',
): ConnectionSpec {
  registerSecret(env.PGPASSWORD);
  const raw = db ?? env.DATABASE_URL;
  const source = db ? flag : env.DATABASE_URL ? 'DATABASE_URL' : 'libpq environment';
  try {
    clientConfig(raw, env); // a bad sslmode or an unreadable certificate is an input error, said up front
  } catch (err) {
    if (err instanceof TlsConfigError) throw new ConnectionConfigError(`${source}: ${err.message}`);
    throw err;
  }
  if (raw) {
    if (!/^postgres(ql)?:\/\//i.test(raw)) {
      throw new ConnectionConfigError(`${source}: expected a URL like postgres://user@host:5432/dbname, got "${redact(raw).slice(0, 80)}"`);
    }
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new ConnectionConfigError(`${source}: not a valid URL: "${redact(raw).slice(0, 80)}"`);
    }
    if (url.password) registerSecret(decodeURIComponent(url.password));
    const defaultedUser = defaultUser(url, env);
    const p = new pg.Client({ connectionString: clientConfig(raw, env).connectionString });
    return { connectionString: raw, source, target: targetOf(p), ...(defaultedUser ? { defaultedUser } : {}) };
  }
  const defaultedUser = defaultUser(undefined, env);
  const p = new pg.Client(defaultedUser ? { user: defaultedUser } : {});
  return { source, target: targetOf(p), ...(defaultedUser ? { defaultedUser } : {}) };
}

function targetOf(p: pg.Client): ConnectionSpec['target'] {
  const user = p.user ?? 'postgres';
  return { host: p.host || 'localhost', port: p.port, database: p.database ?? user, user };
}

export function describeTarget(t: Pick<Target, 'host' | 'port' | 'database' | 'user'>): string {
  return `${t.user}@${t.host}:${t.port}/${t.database}`;
}

export interface PoolOptions {
  applicationName: string;
  max?: number;
  /** Session settings applied on every new connection (e.g. the monitor's short timeouts). */
  sessionSettings?: Record<string, string>;
}

export function createPool(spec: ConnectionSpec, opts: PoolOptions): pg.Pool {
  // Session settings travel in the startup packet (`options`), so they hold from the first query.
  const options = Object.entries(opts.sessionSettings ?? {})
    .map(([k, v]) => `-c ${k}=${String(v).replace(/\s/g, '')}`)
    .join(' ');
  const pool = new pg.Pool({
    ...clientConfig(spec.connectionString),
    application_name: opts.applicationName,
    max: opts.max ?? 4,
    connectionTimeoutMillis: 10_000,
    ...(options ? { options } : {}),
  });
  // A client that loses its server must not crash the process: the pool handles idle ones, and a
  // checked-out one (a backfill batch, a DDL statement) has no listener of its own. Its query in
  // flight is rejected anyway, so the step sees the failure.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
    watchdogFor(spec.connectionString).track(client);
  });
  return pool;
}

/** Opens sessions on the target: the runner's ConnectionFactory port (src/engine/ports.ts). */
export function connectionFactory(spec: ConnectionSpec): {
  client(applicationName: string): pg.Client;
  pool(applicationName: string, max: number): pg.Pool;
} {
  return {
    client: (applicationName) => {
      const c = new pg.Client({ ...clientConfig(spec.connectionString), application_name: applicationName });
      watchdogFor(spec.connectionString).track(c);
      return c;
    },
    pool: (applicationName, max) => createPool(spec, { applicationName, max }),
  };
}

/** Turns connection errors into messages that say what to fix. Never includes the password. */
export function explainConnectionError(err: unknown, spec: ConnectionSpec): string {
  const e = err as { code?: string; message?: string };
  const where = describeTarget(spec.target);
  const msg = redact(e?.message ?? String(err));
  switch (e?.code) {
    case 'ECONNREFUSED':
      return `cannot connect to ${where} (from ${spec.source}): connection refused. Is PostgreSQL running and listening on that host and port?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot connect to ${where} (from ${spec.source}): host not found. Check the host name in ${spec.source}.`;
    case 'ETIMEDOUT':
      return `cannot connect to ${where} (from ${spec.source}): timed out. Check network access to the server.`;
    case '28P01':
    case '28000':
      if (/client certificate|certificate authentication failed/.test(msg)) {
        return `cannot connect to ${where} (from ${spec.source}): the server asks for a client certificate (${msg}). Set sslcert and sslkey in the URL (or PGSSLCERT and PGSSLKEY) to a certificate for user ${spec.target.user} signed by a CA the server trusts.`;
      }
      if (/no encryption/.test(msg)) {
        return `cannot connect to ${where} (from ${spec.source}): the server accepts only TLS connections. Add sslmode=verify-full&sslrootcert=CA_FILE (or sslmode=require) to the URL, or set PGSSLMODE.`;
      }
      return `cannot connect to ${where} (from ${spec.source}): authentication failed. Check the user and password (or ~/.pgpass).${userNote(spec)}`;
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'CERT_SIGNATURE_FAILURE':
      return `cannot connect to ${where} (from ${spec.source}): the server's TLS certificate is not signed by a trusted CA (${msg}). Point sslrootcert (or PGSSLROOTCERT) at the CA that signed it, or use sslmode=require to encrypt without verifying.`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `cannot connect to ${where} (from ${spec.source}): the server's TLS certificate is not issued for host ${spec.target.host} (${msg}). Connect with a host name the certificate names, or use sslmode=verify-ca.`;
    case 'CERT_HAS_EXPIRED':
      return `cannot connect to ${where} (from ${spec.source}): the server's TLS certificate has expired. Renew it on the server.`;
    case '3D000':
      return `cannot connect to ${where} (from ${spec.source}): database does not exist. Check the database name.`;
    default:
      if (/does not support SSL/i.test(msg)) {
        return `cannot connect to ${where} (from ${spec.source}): the server does not accept TLS connections. Enable ssl on the server, or drop sslmode (PGSSLMODE) if an unencrypted connection is acceptable.`;
      }
      return `cannot connect to ${where} (from ${spec.source}): ${msg}`;
  }
}

export async function serverVersion(q: { query: pg.Pool['query'] }): Promise<{ num: number; text: string }> {
  const r = await q.query<{ n: string; v: string }>(
    `select current_setting('server_version_num') as n, current_setting('server_version') as v`,
  );
  return { num: Number(r.rows[0]!.n), text: r.rows[0]!.v };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes `schema.table` (or `table`) part by part. The value cannot escape identifier quoting. */
export function quoteQualified(name: string): string {
  return splitQualified(name).map(quoteIdent).join('.');
}

export function splitQualified(name: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let inQuotes = false;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i]!;
    if (ch === '"') {
      if (inQuotes && name[i + 1] === '"') {
        cur += '"';
        i++;
      } else inQuotes = !inQuotes;
    } else if (ch === '.' && !inQuotes) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

export function quoteLiteral(value: string): string {
  // E'' form so backslashes are unambiguous regardless of standard_conforming_strings.
  if (value.includes('\\')) return `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  return `'${value.replace(/'/g, "''")}'`;
}

/** Session settings for introspection connections (`analyze --db`): never write, never wait long. */
export const INTROSPECTION_SESSION = {
  default_transaction_read_only: 'on',
  lock_timeout: '1s',
  statement_timeout: '15s',
} as const;

function userNote(spec: ConnectionSpec): string {
  if (!spec.defaultedUser) return '';
  return ` No user was named (no user in the URL, PGUSER or USER), so the OS user "${spec.defaultedUser}" was used, as libpq does: name the user with PGUSER or in the URL.`;
}
