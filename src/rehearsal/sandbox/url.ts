// An existing database as the sandbox (a staging copy, e.g. restored from a cloud snapshot).
// Refused when it is the source itself: same host/port/database after DNS, or the same server
// (system identifier + start time) and the same database. What it holds is listed on open, and
// on close whatever the rehearsal added is dropped again (inventory.ts); the database stays.
import pg from 'pg';
import { RunbookError, InputError } from '../../util/runbook-error.js';
import { registerSecret, redact } from '../../util/secrets.js';
import { endpointOf, sameEndpoint, sameServer, sameServerAndDatabase, serverIdentity } from './sandbox-identity.js';
import { makeCloser } from './closer.js';
import { dropNewObjects, takeInventory, type Inventory } from './inventory.js';
import type { Sandbox, SandboxRequest } from './sandbox-types.js';
import { clientConfig } from '../../pg/client-config.js';
import { ConnectionConfigError, type ConnectionSpec, explainConnectionError, resolveConnection } from '../../pg/connection.js';
import { watchSession } from '../../pg/stall-watchdog.js';

export async function openUrlSandbox(req: SandboxRequest): Promise<Sandbox> {
  const url = req.spec;
  checkUrl(url);
  if (req.sourceUrl && (await sameEndpoint(url, req.sourceUrl))) {
    const e = endpointOf(url);
    throw refuse(`same host, port and database: ${e.host}:${e.port}/${e.database}`);
  }
  const warnings: string[] = [];
  const client = await connectSetup(url);
  try {
    const ident = await serverIdentity(client);
    if (req.sourceUrl) await checkNotSource(ident, req.sourceUrl, warnings);
    const ro = await client.query<{ ro: string }>(`select current_setting('transaction_read_only') as ro`);
    if (ro.rows[0]!.ro === 'on') {
      throw new InputError(
        `--sandbox ${describe(url)} is read-only (a standby, or default_transaction_read_only=on)`,
        'use a writable staging database',
      );
    }
    const before = await takeInventory(client);
    return {
      kind: 'url',
      url,
      major: ident.major,
      description: `staging database ${describe(url)} (PostgreSQL ${ident.major})`,
      warnings,
      existing: true,
      ...makeCloser(() => dropAdded(url, before, req.log)),
    };
  } finally {
    await client.end().catch(() => {});
  }
}

/** A URL at all; its password is a secret from here on. */
function checkUrl(url: string): void {
  try {
    const u = new URL(url);
    if (u.password) registerSecret(decodeURIComponent(u.password));
  } catch {
    throw new InputError(
      `--sandbox: not a valid URL: "${redact(url).slice(0, 80)}"`,
      'use embedded, docker, or postgres://user@host:port/dbname',
    );
  }
}

function refuse(why: string): InputError {
  return new InputError(
    `--sandbox is the source database (${why}); a rehearsal changes its sandbox, so it must never run on the source`,
    'pass a separate staging database, or use --sandbox embedded (the default) or --sandbox docker',
  );
}

/** The setup session, with TLS settings of libpq's meaning, as for the source (URL ssl* parameters, else PGSSL*). */
async function connectSetup(url: string): Promise<pg.Client> {
  let spec: ConnectionSpec;
  try {
    spec = resolveConnection(url, process.env, '--sandbox');
  } catch (err) {
    if (err instanceof ConnectionConfigError) throw new InputError(err.message, 'fix the ssl parameters of the staging URL or PGSSL*');
    throw err;
  }
  const client = new pg.Client({ ...clientConfig(url), application_name: 'pgrunbook-rehearsal:setup', connectionTimeoutMillis: 10_000 });
  watchSession(client, url);
  try {
    await client.connect();
  } catch (err) {
    throw new RunbookError(explainConnectionError(err, spec), {
      hint: 'check the staging URL (host, port, database, credentials, sslmode)',
    });
  }
  return client;
}

type Identity = Awaited<ReturnType<typeof serverIdentity>>;

/** Refuses the source's own database (same server and database); warns when it shares the source's server. */
async function checkNotSource(ident: Identity, sourceUrl: string, warnings: string[]): Promise<void> {
  const src = new pg.Client({
    ...clientConfig(sourceUrl),
    application_name: 'pgrunbook-rehearsal:identity',
    options: '-c default_transaction_read_only=on',
  });
  src.on('error', () => {});
  await src.connect();
  try {
    const sourceIdent = await serverIdentity(src);
    if (sameServerAndDatabase(ident, sourceIdent)) {
      throw refuse(
        `same server (system identifier ${ident.systemIdentifier ?? 'unreadable'}, started ${ident.postmasterStart}) and same database "${ident.database}"`,
      );
    }
    if (sameServer(ident, sourceIdent)) {
      warnings.push(`the sandbox database "${ident.database}" lives on the source's server: the rehearsal's load competes with production`);
    }
  } finally {
    await src.end().catch(() => {});
  }
}

/** On close: drops what the rehearsal added; what it could not drop is told. */
async function dropAdded(url: string, before: Inventory, log: SandboxRequest['log']): Promise<void> {
  const c = new pg.Client({
    ...clientConfig(url),
    application_name: 'pgrunbook-rehearsal:cleanup',
    connectionTimeoutMillis: 10_000,
  });
  watchSession(c, url);
  await c.connect();
  try {
    const left = await dropNewObjects(c, before);
    for (const l of left) log?.(`warning: left in the staging database ${describe(url)}: ${redact(l)}`);
  } finally {
    await c.end().catch(() => {});
  }
}

function describe(url: string): string {
  const e = endpointOf(url);
  return `${e.host}:${e.port}/${e.database}`;
}
