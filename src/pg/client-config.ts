// node-postgres settings for every connection pgrunbook opens to the target, with libpq's TLS
// meaning. node-postgres treats sslmode=require as verify-full and ignores PGSSLROOTCERT, so the
// URL's ssl* parameters are read here, each one else from its variable (PGSSLMODE, PGSSLROOTCERT,
// PGSSLCERT, PGSSLKEY), as libpq does:
//   disable, allow, prefer  no TLS (node-postgres cannot fall back, so nothing opportunistic)
//   require                 encrypted; verified against sslrootcert only when one is given (as libpq)
//   verify-ca               the chain must lead to sslrootcert (default ~/.postgresql/root.crt)
//   verify-full             verify-ca, and the certificate must name the host connected to
// TCP keepalives are always on, so a connection that silently dies is noticed (docs/security.md).
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import type pg from 'pg';

export class TlsConfigError extends Error {}

const SSL_PARAMS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey'] as const;
const MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
/** First keepalive probe after this much idle time; the kernel's interval and count follow. */
export const KEEPALIVE_IDLE_MS = 10_000;

function readPem(path: string, what: string, from: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new TlsConfigError(
      `cannot read the ${what} ${path} (from ${from}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check the path and its permissions`,
    );
  }
}

type Params = Partial<Record<(typeof SSL_PARAMS)[number], string>>;

/** Where each parameter came from, for messages: "the URL", or the variable's name. */
type Sources = Partial<Record<(typeof SSL_PARAMS)[number], string>>;

/** As libpq: each parameter from the URL, else from its PGSSL* variable (one does not hide the others). */
function sslParams(url: URL | undefined, env: NodeJS.ProcessEnv): { p: Params; from: Sources } {
  const p: Params = {};
  const from: Sources = {};
  for (const k of SSL_PARAMS) {
    const name = `PG${k.toUpperCase()}`;
    if (url?.searchParams.has(k)) {
      p[k] = url.searchParams.get(k)!;
      from[k] = 'the URL';
    } else if (env[name]) {
      p[k] = env[name];
      from[k] = name;
    }
  }
  return { p, from };
}

function tlsOptions(p: Params, from: Sources): false | ConnectionOptions | undefined {
  const mode = p.sslmode;
  if (!mode) return undefined;
  if (!MODES.includes(mode)) throw new TlsConfigError(`sslmode "${mode}" (from ${from.sslmode}) is not one of ${MODES.join(', ')}`);
  if (mode === 'disable' || mode === 'allow' || mode === 'prefer') return false;
  const opts: ConnectionOptions = {};
  if (p.sslcert) opts.cert = readPem(p.sslcert, 'client certificate (sslcert)', from.sslcert!);
  if (p.sslkey) opts.key = readPem(p.sslkey, 'client key (sslkey)', from.sslkey!);
  let root = p.sslrootcert;
  if (!root && mode !== 'require') {
    root = join(homedir(), '.postgresql', 'root.crt');
    try {
      readFileSync(root);
    } catch {
      throw new TlsConfigError(
        `sslmode=${mode} needs the CA that signed the server's certificate: set sslrootcert=FILE in the URL or PGSSLROOTCERT (${root} does not exist)`,
      );
    }
  }
  if (root && root !== 'system') opts.ca = readPem(root, 'root certificate (sslrootcert)', from.sslrootcert ?? 'the default location');
  if (mode === 'require' && !root) return { ...opts, rejectUnauthorized: false };
  // verify-ca (and require with a root certificate): the chain is checked, the host name is not.
  if (mode !== 'verify-full') return { ...opts, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  return { ...opts, rejectUnauthorized: true };
}

/** Connection settings for `connectionString` (undefined: the libpq environment). */
export function clientConfig(connectionString: string | undefined, env: NodeJS.ProcessEnv = process.env): pg.ClientConfig {
  let url: URL | undefined;
  try {
    url = connectionString ? new URL(connectionString) : undefined;
  } catch {
    url = undefined;
  }
  const { p, from } = sslParams(url, env);
  const ssl = tlsOptions(p, from);
  // The URL's own ssl* parameters would override `ssl` inside node-postgres: drop them.
  if (url && ssl !== undefined) for (const k of SSL_PARAMS) url.searchParams.delete(k);
  const user = defaultUser(url, env);
  // node-postgres lets a URL without a user override `user`, so a defaulted user goes into the URL.
  if (url && user) url.username = encodeURIComponent(user);
  const rewritten = url && (ssl !== undefined || user);
  return {
    connectionString: rewritten ? url!.toString() : connectionString,
    ...(ssl !== undefined ? { ssl } : {}),
    ...(user && !url ? { user } : {}),
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
  };
}

/**
 * The user libpq would send when none is given: node-postgres falls back to $USER only, and without it
 * (cron, containers, sudo) sends no user name at all. libpq uses the OS account's name; so do we.
 * Undefined when the URL, PGUSER or USER names one.
 */
export function defaultUser(url: URL | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (url?.username || env.PGUSER || env.USER) return undefined;
  try {
    return userInfo().username;
  } catch {
    return undefined; // no passwd entry for this uid: leave it to the server's message
  }
}
