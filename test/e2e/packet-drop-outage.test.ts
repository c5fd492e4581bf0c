// A packet drop that outlasts the run lock keeper's re-lock bound (RELOCK_WITHIN_MS, 30 s), for
// real: pgrunbook runs in a network namespace and iptables drops every packet on the link to the
// server (test/support/packet-drop-link.ts) mid-backfill, and the link stays down until the keeper
// has given up. The run must stop saying the server was unreachable and what to do, change nothing
// while the link is down, and `pgrunbook resume` after the link is back must finish the backfill
// with every row updated exactly once.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELOCK_WITHIN_MS } from '../../src/engine/run-lock-keeper.js';
import { EmbeddedServer } from '../../src/pg/embedded-server.js';
import { runCli, startCli } from '../support/cli.js';
import { createPacketDropLink, packetDropForTests, type PacketDropLink } from '../support/packet-drop-link.js';
import { majors, testPool } from '../support/pg.js';

const canDrop = packetDropForTests('the long packet-drop test');

const ROWS = 20_000;

describe.runIf(canDrop)('a packet drop longer than the run lock keeper bound', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-outage-'));
  let link: PacketDropLink;
  let server: EmbeddedServer;
  let admin: pg.Pool;
  let url: string;

  beforeAll(async () => {
    link = createPacketDropLink();
    server = await EmbeddedServer.start({ major: majors()[0], settings: { listen_addresses: `127.0.0.1,${link.hostIp}` } });
    appendFileSync(join(server.dataDir, 'pg_hba.conf'), `host all all ${link.nsIp}/32 trust\n`);
    admin = testPool(server.url, 4);
    await admin.query('select pg_reload_conf()');
    url = `postgres://postgres@${link.hostIp}:${server.port}/postgres`;
    await admin.query(`create table faults (id bigint primary key, counter int not null default 0);
      insert into faults select g, 0 from generate_series(1, ${ROWS}) g`);
  }, 120_000);
  afterAll(async () => {
    link?.close();
    await admin?.end();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const touched = async () => (await admin.query<{ n: number }>(`select count(*)::int n from faults where counter > 0`)).rows[0]!.n;

  it('the run stops saying the server was unreachable; resume after the link is back updates every row once', async () => {
    const file = join(dir, 'outage.yaml');
    writeFileSync(
      file,
      `version: 1
name: outage
settings:
  lock_timeout: 2s
  statement_timeout: 0
phases:
  deploy:
    - id: fill
      backfill:
        table: faults
        set: counter = counter + 1
        batch_size: 100
        pause: 50ms
`,
    );
    const journal = join(dir, 'journal');
    const common = ['--db', url, '--plain', '--yes', '--allow-irreversible', '--journal-dir', journal];
    const cli = startCli(['run', file, ...common], { prefix: link.prefix });
    for (let i = 0; (await touched()) < 1_000; i++) {
      if (i > 1_200) throw new Error(`the backfill did not start:\n${cli.stdout()}\n${cli.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const t0 = Date.now();
    link.drop();
    let rowsDuring: number;
    let noticedMs: number;
    let givenUpMs: number;
    try {
      // A batch already in the server's socket may still commit; nothing after that.
      await new Promise((r) => setTimeout(r, 2_000));
      const rowsBefore = await touched();
      await cli.waitFor(/lost the connection that holds the run lock/, 90_000);
      noticedMs = Date.now() - t0;
      // The link stays down past the keeper's bound: it must give up by itself.
      await cli.waitFor(/could not be reached/, RELOCK_WITHIN_MS + 60_000);
      givenUpMs = Date.now() - t0;
      expect(givenUpMs - noticedMs).toBeGreaterThanOrEqual(RELOCK_WITHIN_MS - 1_000);
      rowsDuring = (await touched()) - rowsBefore;
    } finally {
      link.restore();
    }
    expect(rowsDuring).toBe(0);
    // Keepalives: first probe after 10 s idle, then 10 probes 1 s apart (docs/security.md): ~20 s, plus a loaded machine.
    expect(noticedMs).toBeLessThan(35_000);
    const first = await cli.done;
    const out = `${first.stdout}\n${first.stderr}`;
    expect(first.code, out).not.toBe(0);
    const runId = /run (\S+) started/.exec(first.stdout)![1]!;
    // What happened and what to do next, in one place.
    expect(out).toMatch(new RegExp(`could not be reached for ${RELOCK_WITHIN_MS / 1000} s`));
    expect(out).toContain(`pgrunbook resume ${runId}`);
    // Nothing half-done: every row was updated once or not at all.
    const groups = (await admin.query<{ counter: number }>(`select distinct counter from faults order by 1`)).rows;
    expect(groups.map((g) => g.counter).every((c) => c === 0 || c === 1)).toBe(true);
    const before = await touched();
    expect(before).toBeLessThan(ROWS);

    const resumed = await runCli(['resume', runId, ...common], { prefix: link.prefix });
    expect(resumed.code, `${out}\n--- resume:\n${resumed.stdout}\n${resumed.stderr}`).toBe(0);
    expect((await admin.query(`select counter, count(*)::int n from faults group by counter`)).rows).toEqual([{ counter: 1, n: ROWS }]);
    process.stdout.write(
      `long packet drop (PG ${majors()[0]}): lost run-lock connection noticed ${(noticedMs / 1000).toFixed(1)} s after the drop, keeper gave up ${(givenUpMs / 1000).toFixed(1)} s after it; ${before} of ${ROWS} rows before the stop; resume completed\n`,
    );
  }, 300_000);
});
