// `rehearse --sandbox URL` on a staging server that accepts only TLS (throwaway CA, pg_hba
// rejecting plain connections): the sandbox's connections read sslmode/sslrootcert with libpq's
// meaning, from the URL or from PGSSL*, like pgrunbook's other connections.
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rehearse } from '../../src/cli/composition-root.js';
import { startTlsServer, type TlsServer } from '../support/tls-server.js';
import { loadOrThrow } from '../support/runbook.js';
import { seedOrders, useSourceDatabase } from './support.js';

const SHIPPED = fileURLToPath(new URL('../../runbooks/add-column-backfill.yaml', import.meta.url));
const ENV_KEYS = ['PGSSLMODE', 'PGSSLROOTCERT'] as const;

describe('rehearse on a TLS-only staging server', () => {
  const src = useSourceDatabase((q) => seedOrders(q, 5_000));
  let tls: TlsServer;
  beforeAll(async () => {
    tls = await startTlsServer(src.major);
  }, 60_000);
  afterAll(async () => tls?.stop());
  afterEach(() => {
    for (const k of ENV_KEYS) delete process.env[k];
  });

  async function rehearseOn(sandbox: string, sourceUrl = src.url) {
    const runbook = await loadOrThrow(SHIPPED);
    return rehearse({ runbook, sourceUrl, sandbox, samplePct: 20, log: () => {} });
  }

  it('sslmode=require in the URL: encrypted without verifying (node-postgres alone would verify and fail)', async () => {
    const r = await rehearseOn(`${tls.url}?sslmode=require`);
    expect(r.sandbox.kind).toBe('url');
    expect(r.deploy.status).toBe('completed');
    expect(r.rollbackVerified).toBe(true);
  }, 120_000);

  it('PGSSLMODE=verify-full with PGSSLROOTCERT: verified against that CA (the source opts out in its URL)', async () => {
    process.env.PGSSLMODE = 'verify-full';
    process.env.PGSSLROOTCERT = tls.caFile;
    const r = await rehearseOn(tls.url, `${src.url}?sslmode=disable`);
    expect(r.deploy.status).toBe('completed');
  }, 120_000);

  it('a wrong CA or a bad sslmode is one sentence that says what to change', async () => {
    const wrong = `${tls.url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.wrongCaFile)}`;
    await expect(rehearseOn(wrong)).rejects.toThrow(
      /\(from --sandbox\): the server's TLS certificate is not signed by a trusted CA .*Point sslrootcert \(or PGSSLROOTCERT\) at the CA/,
    );
    await expect(rehearseOn(`${tls.url}?sslmode=verify-all`)).rejects.toThrow(
      /--sandbox: sslmode "verify-all" \(from the URL\) is not one of/,
    );
    // Without TLS settings the server's refusal is explained too.
    await expect(rehearseOn(tls.url)).rejects.toThrow(/\(from --sandbox\): the server accepts only TLS connections/);
  }, 120_000);
});
