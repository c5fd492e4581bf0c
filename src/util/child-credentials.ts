// How a child process (pg_dump, psql, a shell step) gets a connection without the password in its
// arguments: any local user can read another process's argv (`ps`, /proc/PID/cmdline), while its
// environment and a 0600 file are readable only by the same user and root. The URL passed on the
// command line loses its password; the password goes into a temporary 0600 passfile (PGPASSFILE)
// that is removed when the child is done.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerSecret } from './secrets.js';

export interface ChildConnection {
  /** The connection URL without its password (undefined: the libpq environment decides). */
  url?: string;
  /** Variables to add to the child's environment. */
  env: Record<string, string>;
  /** Variables to remove from the child's environment (a stale PGPASSWORD would win over the passfile). */
  unset: string[];
  /** Removes the passfile. Idempotent. */
  dispose(): void;
}

/** libpq passfile fields escape `\` and `:` with a backslash. */
function passfileField(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

/** Splits the password off `url` (userinfo or `?password=`) and puts it in a passfile. */
export function childConnection(url: string | undefined): ChildConnection {
  const none: ChildConnection = { url, env: {}, unset: [], dispose: () => {} };
  if (!url) return none;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return none;
  }
  const password = parsed.password ? decodeURIComponent(parsed.password) : (parsed.searchParams.get('password') ?? undefined);
  if (!password) return none;
  registerSecret(password);
  parsed.password = '';
  parsed.searchParams.delete('password');
  const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-pass-')); // mkdtemp makes it 0700
  const file = join(dir, 'pgpass');
  // Wildcards: the child connects to exactly the URL it is given, so no other server can match.
  writeFileSync(file, `*:*:*:*:${passfileField(password)}\n`, { mode: 0o600 });
  let done = false;
  return {
    url: parsed.toString(),
    env: { PGPASSFILE: file },
    unset: ['PGPASSWORD'],
    dispose: () => {
      if (done) return;
      done = true;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `base` with the connection's variables added and its stale ones removed. */
export function childEnv(conn: ChildConnection, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ...conn.env };
  for (const k of conn.unset) delete env[k];
  return env;
}
