// A real packet-dropping black hole between pgrunbook and PostgreSQL: pgrunbook runs in a network
// namespace, the server listens on the host's end of a veth pair, and iptables drops every packet
// on it (test/support/packet-drop-link.ts). Unlike the TCP proxy's black hole, nothing acknowledges
// anything, so only TCP keepalives (on every connection, checked with `ss`) and the stall watchdog
// can notice. Mid-backfill and at an approval gate: the stall is detected within the bound
// docs/security.md states, and the run either continues by itself or stops so that `resume`
// completes it, with every row updated exactly once.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedServer } from '../../src/pg/embedded-server.js';
import { runCli, startCli, type CliProcess, type CliResult } from '../support/cli.js';
import { createPacketDropLink, packetDropForTests, type PacketDropLink } from '../support/packet-drop-link.js';
import { majors, testPool } from '../support/pg.js';

const canDrop = packetDropForTests('the packet-drop fault tests');

/** Keepalive: first probe after 10 s idle, then 10 probes 1 s apart (docs/security.md): ~20 s, plus a loaded machine. */
const IDLE_DEAD_WITHIN_MS = 35_000;
const ROWS = 20_000;
const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-packetdrop-'));

function runbookFile(name: string, gate: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `version: 1
name: ${name}
settings:
  lock_timeout: 2s
  statement_timeout: 0
phases:
  deploy:
    - id: fill
${gate}      backfill:
        table: faults
        set: counter = counter + 1
        batch_size: 100
        pause: 50ms
`,
  );
  return file;
}

describe.runIf(canDrop)('a packet-dropping black hole (network namespace, iptables DROP)', () => {
  let link: PacketDropLink;
  let server: EmbeddedServer;
  let admin: pg.Pool;
  let url: string;
  let approverUrl: string;
  const journal = mkdtempSync(join(tmpdir(), 'pgrunbook-packetdrop-j-'));
  const outcomes: string[] = [];

  beforeAll(async () => {
    link = createPacketDropLink();
    server = await EmbeddedServer.start({ major: majors()[0], settings: { listen_addresses: `127.0.0.1,${link.hostIp}` } });
    appendFileSync(join(server.dataDir, 'pg_hba.conf'), `host all all ${link.nsIp}/32 trust\n`);
    admin = testPool(server.url, 4);
    await admin.query('select pg_reload_conf()');
    await admin.query(`create role approver login`);
    url = `postgres://postgres@${link.hostIp}:${server.port}/postgres`;
    approverUrl = server.url.replace('postgres@', 'approver@');
  }, 120_000);
  afterAll(async () => {
    link?.close();
    await admin?.end();
    await server?.stop();
    for (const d of [dir, journal]) rmSync(d, { recursive: true, force: true });
    process.stdout.write(`packet-drop faults (PG ${majors()[0]}):\n${outcomes.map((o) => `  ${o}`).join('\n')}\n`);
  });
  beforeEach(async () => {
    link.restore();
    await admin.query(`drop schema if exists pgrunbook cascade; drop table if exists faults;
      create table faults (id bigint primary key, counter int not null default 0);
      insert into faults select g, 0 from generate_series(1, ${ROWS}) g`);
  });

  const query = async <R extends pg.QueryResultRow>(sql: string): Promise<R[]> => (await admin.query<R>(sql)).rows;
  const touched = async () => (await query<{ n: number }>(`select count(*)::int n from faults where counter > 0`))[0]!.n;
  const startRun = (file: string) =>
    startCli(['run', file, '--db', url, '--plain', '--yes', '--allow-irreversible', '--journal-dir', journal], { prefix: link.prefix });

  /**
   * Every connection pgrunbook has open to the server, seen from its namespace, has a keepalive timer.
   * `ss` shows one timer per socket: while a connection has data in flight it shows the retransmit
   * timer (`timer:(on,…)`) instead, so each connection must show keepalive in one of a few samples.
   */
  async function expectKeepalives(): Promise<number> {
    const seen = new Set<string>();
    const local = (line: string) => line.trim().split(/\s+/)[2]!;
    let conns: string[] = [];
    for (let i = 0; i < 40; i++) {
      conns = link.connections(server.port);
      for (const c of conns) if (/timer:\(keepalive,/.test(c)) seen.add(local(c));
      if (conns.length >= 2 && conns.every((c) => seen.has(local(c)))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(conns.length).toBeGreaterThanOrEqual(2);
    for (const c of conns) expect(seen.has(local(c)), conns.join('\n')).toBe(true);
    return conns.length;
  }

  /** Drops every packet until pgrunbook has noticed the dead run-lock connection, then a few seconds more. */
  async function blackOut(cli: CliProcess): Promise<{ detectedMs: number; rowsDuring: number }> {
    const t0 = Date.now();
    link.drop();
    try {
      // A batch whose packets were already in the server's socket may still commit; nothing after.
      await new Promise((r) => setTimeout(r, 2_000));
      const rowsBefore = await touched();
      await cli.waitFor(/lost the connection that holds the run lock/, 90_000);
      const detectedMs = Date.now() - t0;
      await new Promise((r) => setTimeout(r, 3_000));
      return { detectedMs, rowsDuring: (await touched()) - rowsBefore };
    } finally {
      link.restore();
    }
  }

  async function finish(first: CliResult): Promise<{ first: CliResult; resumed?: CliResult }> {
    if (first.code === 0) return { first };
    const resumed = await runCli(['resume', '--db', url, '--plain', '--yes', '--allow-irreversible', '--journal-dir', journal], {
      prefix: link.prefix,
    });
    return { first, resumed };
  }

  function record(fault: string, conns: number, d: { detectedMs: number }, r: { first: CliResult; resumed?: CliResult }): void {
    const how = r.resumed ? `stopped (exit ${r.first.code}), resume exit ${r.resumed.code}` : `continued by itself (exit ${r.first.code})`;
    outcomes.push(
      `${fault}: ${conns} connections, all with keepalive; dead run-lock connection noticed after ${(d.detectedMs / 1000).toFixed(1)} s; ${how}`,
    );
    const said = (r.first.stdout + (r.resumed?.stdout ?? ''))
      .split('\n')
      .filter((l) => /run lock|ended it|reconnect|retry|connection/i.test(l));
    outcomes.push(...said.map((l) => `    ${l.trim().slice(0, 220)}`));
  }

  it('mid-backfill: the stall is noticed within the keepalive bound and every row is updated exactly once', async () => {
    const cli = startRun(runbookFile('drop-mid-backfill', ''));
    for (let i = 0; (await touched()) < 1_000; i++) {
      if (i > 1_200) throw new Error(`the backfill did not start:\n${cli.stdout()}\n${cli.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const conns = await expectKeepalives();
    const d = await blackOut(cli);
    // Nothing reached the server while its packets were dropped.
    expect(d.rowsDuring).toBe(0);
    expect(d.detectedMs).toBeLessThan(IDLE_DEAD_WITHIN_MS);
    const r = await finish(await cli.done);
    record('packet drop mid-backfill', conns, d, r);
    expect(r.resumed?.code ?? r.first.code, text(r)).toBe(0);
    expect(await query(`select counter, count(*)::int n from faults group by counter`)).toEqual([{ counter: 1, n: ROWS }]);
  }, 240_000);

  it('at an approval gate: the stall is noticed, nothing runs before the approval, then every row once', async () => {
    const cli = startRun(runbookFile('drop-at-gate', '      gate: { type: confirm, approvers: 1 }\n'));
    await cli.waitFor(/fill: waiting for approval/, 60_000);
    const runId = /run (\S+) started/.exec(cli.stdout())![1]!;
    await admin.query(`grant usage on schema pgrunbook to approver; grant select on all tables in schema pgrunbook to approver;
      grant insert on pgrunbook.approval_decisions to approver; grant usage on all sequences in schema pgrunbook to approver`);
    const conns = await expectKeepalives();
    const d = await blackOut(cli);
    expect(d.detectedMs).toBeLessThan(IDLE_DEAD_WITHIN_MS);
    expect(await touched()).toBe(0);
    const approved = await runCli(['approve', runId, 'fill', '--db', approverUrl, '--reason', 'after the outage']);
    expect(approved.code, approved.stdout + approved.stderr).toBe(0);
    const r = await finish(await cli.done);
    record('packet drop at an approval gate', conns, d, r);
    expect(r.resumed?.code ?? r.first.code, text(r)).toBe(0);
    expect(await query(`select counter, count(*)::int n from faults group by counter`)).toEqual([{ counter: 1, n: ROWS }]);
  }, 240_000);
});

function text(r: { first: CliResult; resumed?: CliResult }): string {
  return `${r.first.stdout}\n${r.first.stderr}\n--- resume:\n${r.resumed?.stdout ?? ''}\n${r.resumed?.stderr ?? ''}`;
}
