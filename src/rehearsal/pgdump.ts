// Finding and running pg_dump for the schema copy. pg_dump refuses servers newer than itself, so
// the binary must be at least the source's major version; when none fits the error says which
// Debian package to install.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { RunbookError } from '../util/runbook-error.js';
import { childConnection, childEnv } from '../util/child-credentials.js';
import { redact } from '../util/secrets.js';

const run = promisify(execFile);

export interface PgDumpBinary {
  path: string;
  major: number;
  version: string;
}

export interface FindPgDumpOptions {
  /** Explicit binary (flag or PGRUNBOOK_PG_DUMP); when set, nothing else is searched. */
  override?: string;
  /** PATH to search; default process.env.PATH. */
  path?: string;
  /** Extra directories holding versioned installs (Debian: /usr/lib/postgresql/N/bin). */
  versionedRoots?: string[];
}

export function packageHint(major: number): string {
  return (
    `install the Debian/Ubuntu package postgresql-client (postgresql-client-${major} for a PostgreSQL ${major} server; ` +
    `from apt.postgresql.org when the distribution's is older), or point PGRUNBOOK_PG_DUMP at a pg_dump ${major} or newer`
  );
}

async function versionOf(path: string): Promise<PgDumpBinary | undefined> {
  try {
    const { stdout } = await run(path, ['--version'], { timeout: 10_000 });
    const m = /(\d+)(?:\.(\d+))?/.exec(stdout.replace(/^[^)]*\)/, ''));
    if (!m) return undefined;
    return { path, major: Number(m[1]), version: stdout.trim() };
  } catch {
    return undefined;
  }
}

function candidates(opts: FindPgDumpOptions): string[] {
  const out: string[] = [];
  for (const dir of (opts.path ?? process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'pg_dump'))) out.push(join(dir, 'pg_dump'));
  }
  for (const root of opts.versionedRoots ?? ['/usr/lib/postgresql', '/usr/pgsql']) {
    if (!existsSync(root)) continue;
    for (const v of readdirSync(root)) {
      const p = join(root, v, 'bin', 'pg_dump');
      if (existsSync(p)) out.push(p);
    }
  }
  return [...new Set(out)];
}

/** The newest pg_dump that can dump a server of `serverMajor`, or a clear error. */
export async function findPgDump(serverMajor: number, opts: FindPgDumpOptions = {}): Promise<PgDumpBinary> {
  const override = opts.override ?? process.env.PGRUNBOOK_PG_DUMP;
  const paths = override ? [override] : candidates(opts);
  const found = (await Promise.all(paths.map(versionOf))).filter((b): b is PgDumpBinary => !!b);
  if (found.length === 0) {
    throw new RunbookError(
      override
        ? `pg_dump not found or not runnable at ${override} (PGRUNBOOK_PG_DUMP); it is needed to copy the schema into the sandbox`
        : 'pg_dump not found on PATH; it is needed to copy the schema of the touched tables into the sandbox',
      { hint: packageHint(serverMajor), exitCode: 1 },
    );
  }
  const fit = found.filter((b) => b.major >= serverMajor).sort((a, b) => b.major - a.major);
  if (fit.length === 0) {
    const best = found.sort((a, b) => b.major - a.major)[0]!;
    throw new RunbookError(
      `pg_dump ${best.major} (${best.path}) is older than the source server (PostgreSQL ${serverMajor}) and cannot dump it`,
      { hint: packageHint(serverMajor), exitCode: 1 },
    );
  }
  return fit[0]!;
}

export interface DumpOptions {
  /** Source URL; undefined = the libpq environment. Its password never reaches pg_dump's arguments. */
  url: string | undefined;
  /** Qualified table names; empty = the whole database's schema. */
  tables: string[];
  section: 'pre-data' | 'post-data';
  /** An exported snapshot of the source, so schema and data agree. */
  snapshot?: string;
}

/** `pg_dump --schema-only` text, with psql meta-commands (\restrict...) removed. */
export async function dumpSchema(bin: PgDumpBinary, opts: DumpOptions): Promise<string> {
  const args = [
    '--schema-only',
    `--section=${opts.section}`,
    '--no-owner',
    '--no-privileges',
    '--no-comments',
    '--no-publications',
    '--no-subscriptions',
  ];
  if (opts.snapshot) args.push(`--snapshot=${opts.snapshot}`);
  // pg_dump holds ACCESS SHARE on what it dumps: never queue for long behind production's DDL.
  args.push('--lock-wait-timeout=5000');
  if (opts.tables.length) args.push('--strict-names');
  for (const t of opts.tables) args.push('-t', t);
  const conn = childConnection(opts.url);
  if (conn.url) args.push('--dbname', conn.url);
  try {
    const { stdout } = await run(bin.path, args, {
      maxBuffer: 256 * 1024 * 1024,
      timeout: 10 * 60_000,
      // pg_dump only reads; make that the session default too.
      env: childEnv(conn, {
        ...process.env,
        PGOPTIONS: `${process.env.PGOPTIONS ?? ''} -c default_transaction_read_only=on`.trim(),
        PGAPPNAME: 'pgrunbook-rehearsal:pg_dump',
      }),
    });
    return stripMetaCommands(stdout);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const said = (e.stderr || e.message).trim().split('\n').slice(-3).join(' ');
    throw new RunbookError(`pg_dump failed: ${redact(said)}`, { hint: dumpFailureHint(said) });
  } finally {
    conn.dispose();
  }
}

/** What to change, from what pg_dump said: its TLS failures are not a matter of privileges. */
function dumpFailureHint(said: string): string {
  if (/SSL|certificate/i.test(said)) {
    return (
      "pg_dump (libpq) reads sslmode and sslrootcert from the source URL, else PGSSLMODE and PGSSLROOTCERT: point sslrootcert (or PGSSLROOTCERT) at the CA that signed the server's certificate, " +
      'and connect by a host name the certificate names'
    );
  }
  return 'the role needs to read the catalog and the touched tables; check the source URL and privileges';
}

export function stripMetaCommands(sql: string): string {
  return sql
    .split('\n')
    .filter((l) => !l.startsWith('\\'))
    .join('\n');
}
