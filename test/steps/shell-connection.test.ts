// What a `shell` step gets for a connection: pgrunbook hands it none of its own; the command inherits
// pgrunbook's environment, so a libpq program in it (psql here) connects as pgrunbook did from the
// libpq variables, PGPASSWORD and PGSSLMODE/PGSSLROOTCERT included, and nothing puts the password
// in an argument list. Through the binary, on a TLS-only server (throwaway CA, pg_hba rejecting
// plain connections) whose role asks for a password.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, resolveConnection } from '../../src/pg/connection.js';
import { runCli } from '../support/cli.js';
import { startTlsServer, type TlsServer } from '../support/tls-server.js';

const PASSWORD = 'sh-Pw:s3cret';

describe('a shell step connects through the inherited libpq environment, over verified TLS', () => {
  let tls: TlsServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    tls = await startTlsServer();
    const admin = createPool(resolveConnection(`${tls.url}?sslmode=require`), { applicationName: 'pgrunbook-test:setup', max: 1 });
    await admin.query(`create role app login superuser password '${PASSWORD}'`);
    const [{ hba_file }] = (await admin.query<{ hba_file: string }>('show hba_file')).rows as [{ hba_file: string }];
    // Plain connections stay rejected (first line); over TLS, app must give its password.
    const [first, ...rest] = readFileSync(hba_file, 'utf8').split('\n');
    writeFileSync(hba_file, [first, 'hostssl all app 0.0.0.0/0 scram-sha-256', ...rest].join('\n'));
    await admin.query('select pg_reload_conf()');
    await admin.end();
    dir = mkdtempSync(join(tmpdir(), 'pgrunbook-shell-conn-'));
    // psql on PATH logs its arguments, then runs the real one.
    writeFileSync(join(dir, 'psql'), `#!/bin/sh\nprintf '%s\\n' "$@" >> "${dir}/psql.argv"\nexec /usr/bin/psql "$@"\n`);
    chmodSync(join(dir, 'psql'), 0o755);
    env = {
      DATABASE_URL: '',
      PGHOST: '127.0.0.1',
      PGPORT: String(tls.server.port),
      PGUSER: 'app',
      PGDATABASE: 'postgres',
      PGPASSWORD: PASSWORD,
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: tls.caFile,
      OUT: dir,
      PATH: `${dir}:${process.env.PATH}`,
    };
  }, 60_000);
  afterAll(async () => {
    await tls?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function runbook(name: string, step: string): string {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, `version: 1\nname: ${name}\nphases:\n  deploy:\n    - id: probe\n${step}`);
    return file;
  }
  const run = (file: string) =>
    runCli(['run', file, '--plain', '--yes', '--allow-irreversible', '--journal-dir', join(dir, 'journal')], { env });

  it('psql in the step connects with verify-full and the inherited password; no argument holds it', async () => {
    const file = runbook(
      'shell-tls',
      `      shell: tr '\\000' ' ' < /proc/$$/cmdline > "$OUT/sh.argv"; psql -XAtc "select ssl from pg_stat_ssl where pid = pg_backend_pid()" > "$OUT/ssl"\n`,
    );
    const r = await run(file);
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(0);
    // pgrunbook itself connected the same way (the server takes nothing else), and so did psql.
    expect(readFileSync(join(dir, 'ssl'), 'utf8')).toBe('t\n');
    const argv = readFileSync(join(dir, 'psql.argv'), 'utf8') + readFileSync(join(dir, 'sh.argv'), 'utf8');
    expect(argv).toContain('pg_stat_ssl');
    expect(argv).not.toContain(PASSWORD);
    expect(out).not.toContain(PASSWORD);
  }, 120_000);

  it("the step's own PGSSLROOTCERT reaches psql: a wrong CA fails the step with psql's reason", async () => {
    const file = runbook(
      'shell-wrong-ca',
      `      shell:\n        command: psql -XAtc "select 1"\n        env: { PGSSLROOTCERT: ${JSON.stringify(tls.wrongCaFile)} }\n`,
    );
    const r = await run(file);
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(1);
    expect(out).toMatch(/shell command failed with exit code 2:\s+psql: error: .*certificate verify failed/);
    expect(out).not.toContain(PASSWORD);
  }, 120_000);
});
