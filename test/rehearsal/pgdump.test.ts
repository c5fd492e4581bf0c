// pg_dump discovery: missing and too-old binaries fail with the package to install.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installedMajors } from '../../src/pg/embedded-server.js';
import { findPgDump, type PgDumpBinary } from '../../src/rehearsal/pgdump.js';
import { startPasswordServer, type PasswordServer } from '../support/password-server.js';
import { rehearse } from '../../src/cli/composition-root.js';
import { makeRunbook, makeStep } from '../support/step-context.js';
import { useTestDatabase } from '../support/pg.js';

describe('pg_dump', () => {
  it('missing from PATH: names the Debian package', async () => {
    const err = await findPgDump(17, { path: '/nonexistent', versionedRoots: [] }).catch((e) => e);
    expect(err.message).toMatch(/pg_dump not found on PATH/);
    expect(err.hint).toMatch(/postgresql-client/);
    expect(err.hint).toMatch(/postgresql-client-17/);
  });

  it('an override that does not run: says so', async () => {
    const err = await findPgDump(17, { override: '/nonexistent/pg_dump' }).catch((e) => e);
    expect(err.message).toMatch(/not found or not runnable at \/nonexistent\/pg_dump/);
    expect(err.hint).toMatch(/postgresql-client/);
  });

  it('older than the server: refuses, naming the version needed', async () => {
    const any = await findPgDump(0);
    const err = await findPgDump(any.major + 1).catch((e) => e);
    expect(err.message).toMatch(new RegExp(`pg_dump ${any.major} .* older than the source server \\(PostgreSQL ${any.major + 1}\\)`));
    expect(err.hint).toMatch(new RegExp(`postgresql-client-${any.major + 1}`));
  });

  describe('in a rehearsal', () => {
    const db = useTestDatabase();
    it('with schemaFrom pg_dump: fails before any sandbox is started, with the clear error', async () => {
      await db.query(`create table t (id int primary key)`);
      const runbook = makeRunbook([
        makeStep('sql', 'ALTER TABLE t ADD COLUMN x int', { id: 'a', rollback: 'ALTER TABLE t DROP COLUMN x' }),
      ]);
      const t0 = Date.now();
      const err = await rehearse({
        runbook,
        sourceUrl: db.url,
        schemaFrom: 'pg_dump',
        pgDump: { path: '/nonexistent', versionedRoots: [] },
      }).catch((e) => e);
      expect(err.message).toMatch(/pg_dump not found/);
      expect(err.hint).toMatch(/postgresql-client/);
      expect(Date.now() - t0).toBeLessThan(5000);
    });
  });
});

describe('pg_dump never sees the password in its arguments', () => {
  let pw: PasswordServer;
  let shimDir: string;
  let real: PgDumpBinary;
  beforeAll(async () => {
    real = await findPgDump(0);
    // A server pg_dump can dump (it refuses newer majors), asking for a password.
    const major = Math.max(...installedMajors().filter((m) => m <= real.major));
    pw = await startPasswordServer({ major });
    shimDir = mkdtempSync(join(tmpdir(), 'pgrunbook-shim-'));
    // Shims log every argument they get (one per line), then run the real binary.
    for (const [name, target] of [
      ['pg_dump', real.path],
      ['psql', '/usr/bin/psql'],
    ] as const) {
      const shim = join(shimDir, name);
      writeFileSync(
        shim,
        `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> "${shimDir}/argv.log"; done\necho "--- ${name}" >> "${shimDir}/argv.log"\nexec ${target} "$@"\n`,
      );
      chmodSync(shim, 0o755);
    }
  }, 60_000);
  afterAll(async () => {
    await pw?.stop();
    if (shimDir) rmSync(shimDir, { recursive: true, force: true });
  });

  it('a rehearsal with the password in the URL: pg_dump ran, the rehearsal completed, no argument holds the password', async () => {
    await pw.admin(`create table orders (id bigint primary key, note text)`);
    await pw.admin(`insert into orders select g, 'n' from generate_series(1, 200) g`);
    const runbook = makeRunbook([
      makeStep('sql', 'ALTER TABLE orders ADD COLUMN x int', { id: 'a', rollback: 'ALTER TABLE orders DROP COLUMN x' }),
    ]);
    // Passfile folders left by other processes (a killed run cannot remove its own) are not this test's.
    const passDirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith('pgrunbook-pass-'));
    const before = new Set(passDirs());
    const r = await rehearse({
      runbook,
      sourceUrl: pw.url,
      schemaFrom: 'pg_dump',
      samplePct: 50,
      pgDump: { path: shimDir, versionedRoots: [] },
    });
    expect(r.deploy.status).toBe('completed');
    expect(r.clone?.schemaFrom).toBe('pg_dump');
    const log = readFileSync(join(shimDir, 'argv.log'), 'utf8');
    expect(log).toMatch(/--- pg_dump/);
    expect(log).toContain(`postgres://app@127.0.0.1:${pw.server.port}/postgres`);
    expect(log).not.toContain(pw.password);
    expect(log).not.toContain(encodeURIComponent(pw.password));
    // The passfile is gone once pg_dump is done.
    expect(passDirs().filter((d) => !before.has(d))).toEqual([]);
  }, 120_000);
});
