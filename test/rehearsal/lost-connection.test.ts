// A connection lost during a rehearsal: a TCP proxy between pgrunbook and the source resets the
// connection that starts copying the sample out of the source. The error must name the server, the
// part of the rehearsal, whether the sandbox was cleaned up (it was: nothing listens on its port
// any more), and the next step; the source must be unchanged.
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rehearse } from '../../src/cli/composition-root.js';
import { isConnectionLost, lostConnectionError } from '../../src/rehearsal/lost-connection.js';
import { RunbookError } from '../../src/util/runbook-error.js';
import { loadOrThrow } from '../support/runbook.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { seedOrders, useSourceDatabase } from './support.js';

const SHIPPED = fileURLToPath(new URL('../../runbooks/add-column-backfill.yaml', import.meta.url));

describe('a connection lost during a rehearsal', () => {
  const src = useSourceDatabase((q) => seedOrders(q, 5_000));
  let proxy: TcpProxy;
  beforeAll(async () => {
    proxy = await startTcpProxy(Number(new URL(src.url).port));
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  const sourceState = async () => {
    const c = new pg.Client(src.url);
    await c.connect();
    try {
      const cols = await c.query(`select count(*)::int n from information_schema.columns where table_name = 'orders'`);
      const schemas = await c.query(`select count(*)::int n from pg_namespace where nspname = 'pgrunbook'`);
      return { columns: cols.rows[0].n as number, pgrunbook: schemas.rows[0].n as number };
    } finally {
      await c.end();
    }
  };

  it('reset while copying the sample: says where, during what, that the sandbox was cleaned up, and what to do', async () => {
    const before = await sourceState();
    const resets = proxy.resetWhen(/COPY \(.*\) TO STDOUT/s);
    const runbook = await loadOrThrow(SHIPPED);
    const err = await rehearse({ runbook, sourceUrl: proxy.url(src.url), samplePct: 20, log: () => {} }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    const reset = resets();
    proxy.resetWhen(/(?!)/);
    expect(reset).toBeGreaterThan(0);
    expect(err).toBeInstanceOf(RunbookError);
    const port = new URL(proxy.url(src.url)).port;
    expect(err!.message).toMatch(
      new RegExp(
        `^the connection to the source \\(\\S+@127\\.0\\.0\\.1:${port}/\\S+\\) or the sandbox \\(embedded PostgreSQL \\d+ on [^)]+\\) was lost during the rehearsal's copy`,
      ),
    );
    expect(err!.message).toMatch(/; the sandbox embedded PostgreSQL \d+ on \S+ was cleaned up\. Nothing on the source was changed/);
    expect(err!.message).toContain('re-run `pgrunbook rehearse` with the same arguments');
    expect(err!.message).not.toMatch(/\n\s+at /);
    // Really cleaned up: nothing answers on the sandbox's port any more.
    const sandboxPort = Number(/the sandbox embedded PostgreSQL \d+ on [^:]+:(\d+)/.exec(err!.message)![1]);
    const probe = new pg.Client({ host: '127.0.0.1', port: sandboxPort, user: 'postgres', database: 'postgres' });
    await expect(probe.connect()).rejects.toThrow(/ECONNREFUSED/);
    expect(await sourceState()).toEqual(before);
  }, 180_000);

  it('says so when the sandbox could not be cleaned up, and names only the server the part talks to', () => {
    const err = lostConnectionError({
      err: new Error('Connection terminated unexpectedly'),
      at: 'deploy trace',
      source: 'app@db:5432/app',
      sandbox: { description: 'staging app@stage:5432/app', cleanedUp: false, closeError: 'DROP TABLE failed' },
    });
    expect(err.message).toMatch(
      /^the connection to the sandbox \(staging app@stage:5432\/app\) was lost during the rehearsal's deploy trace/,
    );
    expect(err.message).toContain('was NOT cleaned up (DROP TABLE failed): remove it by hand');
    expect(isConnectionLost(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isConnectionLost(new RunbookError('Connection terminated: explained already'))).toBe(false);
    expect(isConnectionLost(new Error('relation "x" does not exist'))).toBe(false);
  });
});
