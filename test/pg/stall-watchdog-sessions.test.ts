// Every session pgrunbook opens over the network is under the stall watchdog, not only the run's:
// `status` and `report` (through the binary), the rehearsal's sandbox side (`rehearse --sandbox
// URL`: the clone's COPY into the staging database), `init --verify`'s read of the target and its
// own sandbox sessions (the two databases it builds and compares). A
// TCP proxy (test/support/tcp-proxy.ts) lets the connection through until the statement is sent,
// then stalls it without a reset: without the watchdog each of these would wait forever.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRunner, rehearse } from '../../src/cli/composition-root.js';
import { readLiveSchema } from '../../src/init/live-schema.js';
import { verifyRunbook } from '../../src/init/verify.js';
import { CHECK_MS, STALL_AFTER_MS, UNREACHABLE_MS } from '../../src/pg/stall-watchdog.js';
import { runCli } from '../support/cli.js';
import { testPool, withDatabase } from '../support/pg.js';
import { loadOrThrow } from '../support/runbook.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { seedOrders, useSourceDatabase } from '../rehearsal/support.js';

const SHIPPED = fileURLToPath(new URL('../../runbooks/add-column-backfill.yaml', import.meta.url));
/** The watchdog's bound (docs/security.md), with room for a loaded machine. */
const journalDir = mkdtempSync(join(tmpdir(), 'pgrunbook-stall-j-'));
const BOUND_MS = STALL_AFTER_MS + 2 * CHECK_MS + UNREACHABLE_MS + 15_000;

describe('the stall watchdog beyond the run: status, report, the rehearsal sandbox, init --verify', () => {
  const src = useSourceDatabase((q) => seedOrders(q, 5_000));
  let proxy: TcpProxy;
  let runId = '';
  const figures: string[] = [];
  beforeAll(async () => {
    proxy = await startTcpProxy(Number(new URL(src.url).port));
    // A finished run on the source, so status and report have something to read.
    const done = await runCli(['run', SHIPPED, '--db', src.url, '--plain', '--yes', '--allow-irreversible', '--journal-dir', journalDir]);
    expect(done.code, done.stdout + done.stderr).toBe(0);
    runId = /run (\S+) started/.exec(done.stdout)![1]!;
  }, 300_000);
  afterAll(async () => {
    await proxy?.stop();
    rmSync(journalDir, { recursive: true, force: true });
    process.stdout.write(`stalled sessions ended (bound ${BOUND_MS / 1000} s):\n${figures.map((f) => `  ${f}`).join('\n')}\n`);
  });

  async function timed<T>(what: string, stalled: () => number, fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
    const t0 = Date.now();
    const value = await fn();
    const ms = Date.now() - t0;
    figures.push(`${what}: ended after ${(ms / 1000).toFixed(1)} s (${stalled()} connection(s) stalled)`);
    expect(stalled()).toBeGreaterThan(0);
    expect(ms).toBeLessThan(BOUND_MS);
    return { ms, value };
  }

  it('`status` and `report` with their query stalled end with a message, in bounded time', async () => {
    const url = proxy.url(src.url);
    for (const args of [['status'], ['report', runId]]) {
      const stalled = proxy.stallWhen(/pgrunbook\.(runs|events|step_states)/);
      const { value: r } = await timed(args[0]!, stalled, () => runCli([...args, '--db', url]));
      expect(r.code, r.stdout + r.stderr).not.toBe(0);
      figures.push(`  ${args[0]} said: ${r.stderr.trim().split('\n')[0]}`);
      expect(r.stderr).toMatch(
        new RegExp(`lost the connection to .* while \`pgrunbook ${args[0]}\` read the run state.*run \`pgrunbook ${args[0]}\` again`),
      );
      expect(r.stderr).not.toMatch(/\n\s+at /); // a sentence, not a stack trace
    }
  }, 180_000);

  it('`rehearse --sandbox URL` whose COPY into the staging database stalls fails in bounded time', async () => {
    const admin = testPool(src.adminUrl, 1);
    await admin.query('create database stall_staging');
    const stagingUrl = withDatabase(src.url, 'stall_staging');
    try {
      const stalled = proxy.stallWhen(/COPY [^\n]* FROM STDIN/);
      const runbook = await loadOrThrow(SHIPPED);
      const { value: err } = await timed('rehearse, sandbox COPY', stalled, () =>
        rehearse({ runbook, sourceUrl: src.url, sandbox: proxy.url(stagingUrl), samplePct: 20, log: () => {} }).then(
          () => undefined,
          (e: unknown) => e as Error,
        ),
      );
      figures.push(`  rehearse said: ${err?.message.split('\n')[0]}`);
      expect(err?.message).toMatch(/connection/i);
    } finally {
      proxy.stallWhen(/(?!)/);
      await admin.query('drop database stall_staging with (force)');
      await admin.end();
    }
  }, 180_000);

  it("`init --verify`'s read of the target's schema stalls: it fails in bounded time", async () => {
    const stalled = proxy.stallWhen(/REPEATABLE READ READ ONLY/);
    const { value: err } = await timed('init --verify, schema read', stalled, () =>
      readLiveSchema(proxy.url(src.url)).then(
        () => undefined,
        (e: unknown) => e as Error,
      ),
    );
    expect(err?.message).toMatch(/connection/i);
    proxy.stallWhen(/(?!)/);
  }, 120_000);

  it("`init --verify`'s own sandbox session stalls while building the starting schema: it fails in bounded time", async () => {
    const stalled = proxy.stallWhen(/verify_stall_marker/);
    const runbook = await loadOrThrow(SHIPPED);
    const { value: err } = await timed('init --verify, sandbox session', stalled, () =>
      verifyRunbook({
        adminUrl: proxy.url(src.adminUrl),
        base: ['create table verify_stall_marker (id int)'],
        naive: [],
        runbook,
        newRunner,
      }).then(
        () => undefined,
        (e: unknown) => e as Error,
      ),
    );
    proxy.stallWhen(/(?!)/);
    figures.push(`  init --verify said: ${err?.message.split('\n')[0]}`);
    expect(err?.message).toMatch(/connection/i);
  }, 120_000);
});
