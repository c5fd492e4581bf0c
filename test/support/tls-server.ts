// An embedded server with ssl = on, its certificate signed by a throwaway CA made here with
// openssl, and pg_hba refusing every connection that is not TLS (so a connection that works
// proves it was encrypted). The certificate names IP 127.0.0.1 only. The server trusts client
// certificates signed by the same CA (ssl_ca_file); one is made for the role `certuser`.
import { execFileSync } from 'node:child_process';
import { chownSync, chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { EmbeddedServer } from '../../src/pg/embedded-server.js';

export interface TlsServer {
  server: EmbeddedServer;
  /** postgres://postgres@127.0.0.1:PORT/postgres (no ssl parameters). */
  url: string;
  caFile: string;
  wrongCaFile: string;
  /** A client certificate (CN certuser) signed by the CA, and its key (mode 0600). */
  clientCert: string;
  clientKey: string;
  stop(): Promise<void>;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-subj',
    `/CN=${name}`,
    '-days',
    '2',
  ]);
}

/** Two CAs, a server certificate for 127.0.0.1 and a client certificate for certuser, signed by `ca`. */
function makeCertificates(dir: string): void {
  makeCa(dir, 'ca');
  makeCa(dir, 'wrong-ca');
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=pgrunbook-test-server',
  ]);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName = IP:127.0.0.1\n');
  sign(dir, 'server', ['-extfile', 'san.ext']);
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=certuser']);
  sign(dir, 'client');
  chmodSync(join(dir, 'client.key'), 0o600); // libpq refuses a key others can read
}

/** Signs `name`.csr with the test CA. */
function sign(dir: string, name: string, extra: string[] = []): void {
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    ...extra,
  ]);
}

export async function startTlsServer(major?: number): Promise<TlsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-tls-'));
  makeCertificates(dir);
  // The server (user postgres when we are root) must own its key, mode 0600.
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'server.key'), 0o600);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    for (const f of ['server.key', 'server.crt']) chownSync(join(dir, f), uid, gid);
  }
  const server = await EmbeddedServer.start({
    ...(major ? { major } : {}),
    settings: {
      ssl: 'on',
      ssl_cert_file: join(dir, 'server.crt'),
      ssl_key_file: join(dir, 'server.key'),
      ssl_ca_file: join(dir, 'ca.crt'),
    },
  });
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  const { rows } = await admin.query<{ hba_file: string }>('show hba_file');
  const hba = readFileSync(rows[0]!.hba_file, 'utf8');
  writeFileSync(rows[0]!.hba_file, `hostnossl all all 0.0.0.0/0 reject\n${hba}`);
  await admin.query('select pg_reload_conf()');
  await admin.end();
  return {
    server,
    url: server.url,
    caFile: join(dir, 'ca.crt'),
    wrongCaFile: join(dir, 'wrong-ca.crt'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
