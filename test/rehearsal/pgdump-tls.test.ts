// A rehearsal whose schema copy comes from pg_dump, against a source that accepts only TLS (throwaway
// CA, pg_hba rejecting plain connections): pg_dump, pgrunbook's libpq child, verifies the server with
// the source URL's sslmode/sslrootcert or with PGSSLMODE/PGSSLROOTCERT, as pgrunbook's own
// connections do. A shim on PATH logs what pg_dump was given, then runs the real one.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rehearse } from '../../src/cli/composition-root.js';
import { installedMajors } from '../../src/pg/embedded-server.js';
import { createPool, resolveConnection } from '../../src/pg/connection.js';
import { findPgDump } from '../../src/rehearsal/pgdump.js';
import { makeRunbook, makeStep } from '../support/step-context.js';
import { startTlsServer, type TlsServer } from '../support/tls-server.js';

const ENV_KEYS = ['PGSSLMODE', 'PGSSLROOTCERT'] as const;

describe('rehearse with pg_dump on a TLS-only source', () => {
  let tls: TlsServer;
  let shimDir: string;
  const log = () => readFileSync(join(shimDir, 'pg_dump.log'), 'utf8');

  beforeAll(async () => {
    const real = await findPgDump(0);
    tls = await startTlsServer(Math.max(...installedMajors().filter((m) => m <= real.major)));
    const pool = createPool(resolveConnection(`${tls.url}?sslmode=require`), { applicationName: 'pgrunbook-test:seed', max: 1 });
    await pool.query(`create table orders (id bigint primary key, note text);
      insert into orders select g, 'n' from generate_series(1, 500) g`);
    await pool.end();
    shimDir = mkdtempSync(join(tmpdir(), 'pgrunbook-tls-shim-'));
    const shim = join(shimDir, 'pg_dump');
    writeFileSync(
      shim,
      `#!/bin/sh\n{ for a in "$@"; do printf 'arg %s\\n' "$a"; done; printf 'env PGSSLMODE=%s PGSSLROOTCERT=%s\\n' "$PGSSLMODE" "$PGSSLROOTCERT"; } >> "${shimDir}/pg_dump.log"\nexec ${real.path} "$@"\n`,
    );
    chmodSync(shim, 0o755);
  }, 60_000);
  afterAll(async () => {
    await tls?.stop();
    if (shimDir) rmSync(shimDir, { recursive: true, force: true });
  });
  afterEach(() => {
    for (const k of ENV_KEYS) delete process.env[k];
    rmSync(join(shimDir, 'pg_dump.log'), { force: true });
  });

  const rehearseFrom = (sourceUrl: string) =>
    rehearse({
      runbook: makeRunbook([
        makeStep('sql', 'ALTER TABLE orders ADD COLUMN x int', { id: 'a', rollback: 'ALTER TABLE orders DROP COLUMN x' }),
      ]),
      sourceUrl,
      schemaFrom: 'pg_dump',
      samplePct: 50,
      pgDump: { path: shimDir, versionedRoots: [] },
      log: () => {},
    });

  it('verify-full with the right CA in the URL: pg_dump gets the parameters and the rehearsal completes', async () => {
    const r = await rehearseFrom(`${tls.url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.caFile)}`);
    expect(r.deploy.status, r.deploy.error).toBe('completed');
    expect(r.clone?.schemaFrom).toBe('pg_dump');
    // The server refuses plain connections, so the dump that worked was over TLS, verified against tls.caFile.
    expect(log()).toMatch(/^arg --dbname\narg postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres\?sslmode=verify-full&sslrootcert=/m);
    expect(log()).toContain(encodeURIComponent(tls.caFile));
  }, 120_000);

  it('PGSSLMODE=verify-full and PGSSLROOTCERT: pg_dump inherits them and the rehearsal completes', async () => {
    // The embedded sandbox (local, no TLS) must not follow them: it used to wait 30 s for a TLS answer, then fail.
    process.env.PGSSLMODE = 'verify-full';
    process.env.PGSSLROOTCERT = tls.caFile;
    const r = await rehearseFrom(tls.url);
    expect(r.deploy.status, r.deploy.error).toBe('completed');
    expect(r.clone?.schemaFrom).toBe('pg_dump');
    expect(log()).toContain(`env PGSSLMODE=verify-full PGSSLROOTCERT=${tls.caFile}\n`);
    expect(log()).not.toMatch(/sslmode=/);
  }, 120_000);

  it('a wrong CA stops the rehearsal before anything is copied, saying what to change', async () => {
    process.env.PGSSLMODE = 'verify-full';
    process.env.PGSSLROOTCERT = tls.wrongCaFile;
    await expect(rehearseFrom(tls.url)).rejects.toThrow(
      /the server's TLS certificate is not signed by a trusted CA .*Point sslrootcert \(or PGSSLROOTCERT\) at the CA that signed it/,
    );
  }, 120_000);
});
