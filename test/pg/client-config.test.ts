// TLS against a server that refuses unencrypted connections, with a throwaway CA: libpq's sslmode
// meaning for pgrunbook's own connections (URL parameters and PGSSL* variables), clear messages
// for a wrong CA or host, and the same settings honoured by pg_dump.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installedMajors } from '../../src/pg/embedded-server.js';
import { createPool, explainConnectionError, resolveConnection } from '../../src/pg/connection.js';
import { clientConfig } from '../../src/pg/client-config.js';
import { dumpSchema, findPgDump } from '../../src/rehearsal/pgdump.js';
import { startTlsServer, type TlsServer } from '../support/tls-server.js';

const ENV_KEYS = ['PGSSLMODE', 'PGSSLROOTCERT', 'PGSSLCERT', 'PGSSLKEY'] as const;

async function sslInUse(url: string | undefined): Promise<boolean> {
  const pool = createPool(resolveConnection(url), { applicationName: 'pgrunbook-test:tls', max: 1 });
  try {
    const r = await pool.query<{ ssl: boolean }>('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
    return r.rows[0]!.ssl;
  } finally {
    await pool.end();
  }
}

async function failure(url: string): Promise<string> {
  const spec = resolveConnection(url);
  const pool = createPool(spec, { applicationName: 'pgrunbook-test:tls', max: 1 });
  try {
    await pool.query('select 1');
    return 'connected';
  } catch (err) {
    return explainConnectionError(err, spec);
  } finally {
    await pool.end();
  }
}

describe('TLS', () => {
  let tls: TlsServer;
  let dumpMajor = 0;
  beforeAll(async () => {
    const dump = await findPgDump(0);
    dumpMajor = dump.major;
    // A major pg_dump can dump, so the child-process checks run against the same server.
    tls = await startTlsServer(Math.max(...installedMajors().filter((m) => m <= dump.major)));
  }, 60_000);
  afterAll(async () => tls?.stop());
  afterEach(() => {
    for (const k of ENV_KEYS) delete process.env[k];
  });

  it('the server refuses a connection without TLS (so the passes below are encrypted)', async () => {
    expect(await failure(tls.url)).toMatch(/the server accepts only TLS connections. Add sslmode=verify-full/);
  });

  it('sslmode=require encrypts without verifying, from the URL or PGSSLMODE', async () => {
    expect(await sslInUse(`${tls.url}?sslmode=require`)).toBe(true);
    process.env.PGSSLMODE = 'require';
    expect(await sslInUse(tls.url)).toBe(true);
  });

  it('verify-full with the right CA works, from the URL or PGSSLMODE + PGSSLROOTCERT', async () => {
    expect(await sslInUse(`${tls.url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.caFile)}`)).toBe(true);
    process.env.PGSSLMODE = 'verify-full';
    process.env.PGSSLROOTCERT = tls.caFile;
    expect(await sslInUse(tls.url)).toBe(true);
  });

  it('verify-full with a wrong CA or a wrong host name fails with what to do', async () => {
    const wrongCa = await failure(`${tls.url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.wrongCaFile)}`);
    expect(wrongCa).toMatch(
      /the server's TLS certificate is not signed by a trusted CA .*Point sslrootcert \(or PGSSLROOTCERT\) at the CA that signed it/,
    );
    const wrongHost = await failure(
      `${tls.url.replace('127.0.0.1', 'localhost')}?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.caFile)}`,
    );
    expect(wrongHost).toMatch(/the server's TLS certificate is not issued for host localhost/);
    // verify-ca checks the chain only: the same host name passes.
    expect(
      await sslInUse(`${tls.url.replace('127.0.0.1', 'localhost')}?sslmode=verify-ca&sslrootcert=${encodeURIComponent(tls.caFile)}`),
    ).toBe(true);
  });

  it('a bad sslmode or a missing CA file is an input error up front', () => {
    expect(() => resolveConnection(`${tls.url}?sslmode=verify-everything`)).toThrow(
      /sslmode "verify-everything" \(from the URL\) is not one of disable, allow, prefer, require, verify-ca, verify-full/,
    );
    expect(() => resolveConnection(`${tls.url}?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt`)).toThrow(
      /cannot read the root certificate \(sslrootcert\) \/nonexistent\/ca.crt \(from the URL\): ENOENT/,
    );
    expect(clientConfig(`${tls.url}?sslmode=disable`)).toMatchObject({ ssl: false, keepAlive: true });
  });

  it('pg_dump honours the URL parameters and PGSSLMODE/PGSSLROOTCERT too', async () => {
    const bin = await findPgDump(0);
    expect(bin.major).toBe(dumpMajor);
    const dump = (url: string) =>
      dumpSchema(bin, { url, tables: [], section: 'pre-data' }).then(
        () => 'dumped',
        (e: Error & { hint?: string }) => `${e.message} (hint: ${e.hint})`,
      );
    // What pg_dump said, and what to change: the CA, not the role's privileges.
    const wrongCaHint =
      /\(hint: pg_dump \(libpq\) reads sslmode and sslrootcert .*point sslrootcert \(or PGSSLROOTCERT\) at the CA that signed/;
    expect(await dump(`${tls.url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.caFile)}`)).toBe('dumped');
    expect(await dump(`${tls.url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.wrongCaFile)}`)).toMatch(
      /pg_dump failed: .*certificate verify failed/,
    );
    expect(await dump(`${tls.url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.wrongCaFile)}`)).toMatch(wrongCaHint);
    process.env.PGSSLMODE = 'verify-full';
    process.env.PGSSLROOTCERT = tls.caFile;
    expect(await dump(tls.url)).toBe('dumped');
    process.env.PGSSLROOTCERT = tls.wrongCaFile;
    expect(await dump(tls.url)).toMatch(/certificate verify failed/);
    expect(await dump(tls.url)).toMatch(wrongCaHint);
  });

  describe('client certificates (pg_hba cert for certuser)', () => {
    let certUrl: string;
    beforeAll(async () => {
      const admin = createPool(resolveConnection(`${tls.url}?sslmode=require`), { applicationName: 'pgrunbook-test:tls', max: 1 });
      await admin.query('create role certuser login superuser');
      const { rows } = await admin.query<{ hba_file: string }>('show hba_file');
      const [first, ...rest] = readFileSync(rows[0]!.hba_file, 'utf8').split('\n');
      writeFileSync(rows[0]!.hba_file, [first, 'hostssl all certuser 0.0.0.0/0 cert', ...rest].join('\n'));
      await admin.query('select pg_reload_conf()');
      await admin.end();
      certUrl = `${tls.url.replace('postgres@', 'certuser@')}?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.caFile)}`;
    });
    const withCert = () => `${certUrl}&sslcert=${encodeURIComponent(tls.clientCert)}&sslkey=${encodeURIComponent(tls.clientKey)}`;

    it('sslcert/sslkey from the URL or PGSSLCERT/PGSSLKEY authenticate; without them the message says what to set', async () => {
      expect(await sslInUse(withCert())).toBe(true);
      expect(await failure(certUrl)).toMatch(
        /the server asks for a client certificate .*Set sslcert and sslkey in the URL \(or PGSSLCERT and PGSSLKEY\) to a certificate for user certuser/,
      );
      // As libpq: each parameter the URL leaves out comes from its variable (sslmode from the URL, the certificate from PGSSLCERT).
      process.env.PGSSLCERT = tls.clientCert;
      process.env.PGSSLKEY = tls.clientKey;
      expect(await sslInUse(certUrl)).toBe(true);
      process.env.PGSSLMODE = 'verify-full';
      process.env.PGSSLROOTCERT = tls.caFile;
      expect(await sslInUse(tls.url.replace('postgres@', 'certuser@'))).toBe(true);
    });

    it('pg_dump gets the client certificate from the URL and from PGSSLCERT/PGSSLKEY', async () => {
      const bin = await findPgDump(0);
      const dump = (url: string) =>
        dumpSchema(bin, { url, tables: [], section: 'pre-data' }).then(
          () => 'dumped',
          (e: Error) => e.message,
        );
      expect(await dump(withCert())).toBe('dumped');
      expect(await dump(certUrl)).toMatch(/pg_dump failed: .*certificate/);
      process.env.PGSSLCERT = tls.clientCert;
      process.env.PGSSLKEY = tls.clientKey;
      expect(await dump(certUrl)).toBe('dumped');
    });
  });
});
