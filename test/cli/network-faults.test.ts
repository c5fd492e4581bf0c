// Network faults between pgrunbook and PostgreSQL, through the real binary and a TCP proxy
// (test/support/tcp-proxy.ts): connections reset mid-backfill-batch, mid-DDL, mid-CREATE INDEX
// CONCURRENTLY and at a gate, and a black hole (established connections stall, nothing closes).
// Each must end in an automatic reconnect-and-continue or a stop that `resume` completes, with
// every effect applied exactly once (asserted on the data).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { STEP_KINDS } from '../../src/cli/composition-root.js';
import type { GatePort } from '../../src/engine/gates.js';
import { Runner } from '../../src/engine/runner.js';
import { connectionFactory, resolveConnection } from '../../src/pg/connection.js';
import { runCli, startCli, type CliResult } from '../support/cli.js';
import { loadOrThrow } from '../support/runbook.js';
import { useTestDatabase } from '../support/pg.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-netfault-'));

function runbookFile(name: string, body: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `version: 1\nname: ${name}\nsettings:\n  lock_timeout: 2s\n  statement_timeout: 0\nphases:\n  deploy:\n${body}`);
  return file;
}

const BACKFILL = runbookFile(
  'backfill-through-faults',
  `    - id: fill
      backfill:
        table: faults
        set: counter = counter + 1
        batch_size: 200
        pause: 20ms
`,
);

const ADD_COLUMN = runbookFile(
  'ddl-through-faults',
  `    - id: add_note
      add_column:
        table: faults
        column: note
        type: text
`,
);

const CIC = runbookFile(
  'cic-through-faults',
  `    - id: build
      lock_timeout: 1m
      create_index:
        table: faults
        name: faults_counter_idx
        columns: [counter]
`,
);

describe('network faults through a TCP proxy', () => {
  const db = useTestDatabase();
  let proxy: TcpProxy;
  let url: string;
  const journal = mkdtempSync(join(tmpdir(), 'pgrunbook-netfault-j-'));
  beforeAll(async () => {
    proxy = await startTcpProxy(Number(new URL(db.url).port));
    url = proxy.url(db.url);
  });
  afterAll(async () => {
    await proxy?.stop();
    for (const d of [dir, journal]) rmSync(d, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await db.query(`drop schema if exists pgrunbook cascade; drop table if exists faults;
      create table faults (id bigint primary key, counter int not null default 0);
      insert into faults select g, 0 from generate_series(1, 20000) g`);
  });

  const run = (file: string) => startCli(['run', file, '--db', url, '--plain', '--yes', '--allow-irreversible', '--journal-dir', journal]);

  /** Waits until a pgrunbook session (through the proxy) runs a statement matching `like`, then holds there. */
  async function waitForBackend(like: string, extra = 'true'): Promise<number> {
    for (let i = 0; i < 600; i++) {
      const r = await db.query<{ pid: number }>(
        `select pid from pg_stat_activity where application_name like 'pgrunbook%' and query ilike $1 and state = 'active' and ${extra}`,
        [like],
      );
      if (r[0]) return r[0].pid;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`no pgrunbook session ran ${like}`);
  }

  /** The orphaned backend of a reset connection finishes its statement on its own; wait for it. */
  async function orphanGone(pid: number): Promise<void> {
    for (let i = 0; i < 600; i++) {
      if ((await db.query(`select 1 from pg_stat_activity where pid = $1`, [pid])).length === 0) return;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`backend ${pid} still there`);
  }

  async function finish(first: CliResult): Promise<{ first: CliResult; resumed?: CliResult }> {
    // The journal's session reconnects: the stop is recorded, not left to the JSONL copy.
    expect(first.stdout + first.stderr).not.toMatch(/not in pgrunbook\.events/);
    if (first.code === 0) return { first };
    const resumed = await runCli(['resume', '--db', url, '--plain', '--yes', '--allow-irreversible', '--journal-dir', journal]);
    return { first, resumed };
  }

  it('a reset mid-backfill-batch: the run lock is taken again, the backfill continues, every row updated exactly once', async () => {
    const cli = startCli(['run', BACKFILL, '--db', url, '--plain', '--yes', '--allow-irreversible', '--journal-dir', journal]);
    await waitRows(db, 2000);
    const n = proxy.resetAll();
    const r = await finish(await cli.done);
    outcomes.push(outcome('reset mid-backfill-batch', n, r));
    expect(r.resumed, text(r)).toBeUndefined();
    expect(r.first.code, text(r)).toBe(0);
    expect(r.first.stdout, text(r)).toMatch(/took the run lock again after/);
    // The run's row names the session that holds the lock now.
    expect(await db.query(`select status, backend_pid <> 0 as named from pgrunbook.runs`)).toEqual([{ status: 'completed', named: true }]);
    expect(await db.query(`select counter, count(*)::int n from faults group by counter`)).toEqual([{ counter: 1, n: 20000 }]);
  }, 120_000);

  it('a reset mid-DDL (ADD COLUMN waiting for its lock): the column is added once', async () => {
    const blocker = await db.pool.connect();
    await blocker.query('begin; lock table faults in access share mode');
    const cli = run(ADD_COLUMN);
    const pid = await waitForBackend('%ALTER TABLE%', `wait_event_type = 'Lock'`);
    const n = proxy.resetAll();
    await blocker.query('commit');
    blocker.release();
    const first = await cli.done;
    await orphanGone(pid);
    const r = await finish(first);
    outcomes.push(outcome('reset mid-DDL', n, r));
    expect(r.resumed?.code ?? r.first.code, text(r)).toBe(0);
    expect(await db.query(`select count(*)::int n from pg_attribute where attrelid = 'faults'::regclass and attname = 'note'`)).toEqual([
      { n: 1 },
    ]);
    expect(await db.query(`select step_id, status from pgrunbook.step_states where step_id = 'add_note'`)).toEqual([
      { step_id: 'add_note', status: 'completed' },
    ]);
  }, 120_000);

  it('a reset mid-CREATE INDEX CONCURRENTLY (waiting for an older transaction): one valid index at the end', async () => {
    const old = await db.pool.connect();
    await old.query('begin isolation level repeatable read; select count(*) from faults');
    const cli = run(CIC);
    const pid = await waitForBackend('%CREATE INDEX CONCURRENTLY%');
    // Let the build reach its wait for the older transaction.
    for (let i = 0; i < 200; i++) {
      const p = await db.query(`select phase from pg_stat_progress_create_index where pid = $1`, [pid]);
      if (/waiting/.test(p[0]?.phase ?? '')) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const n = proxy.resetAll();
    await old.query('commit');
    old.release();
    const first = await cli.done;
    await orphanGone(pid);
    const r = await finish(first);
    outcomes.push(outcome('reset mid-CREATE INDEX CONCURRENTLY', n, r));
    expect(r.resumed?.code ?? r.first.code, text(r)).toBe(0);
    expect(
      await db.query(
        `select indexrelid::regclass::text i, indisvalid, indisready from pg_index where indrelid = 'faults'::regclass and not indisprimary`,
      ),
    ).toEqual([{ i: 'faults_counter_idx', indisvalid: true, indisready: true }]);
  }, 120_000);

  it('a black hole mid-backfill (connections stall, nothing resets): detected in bounded time, the backfill reconnects and continues', async () => {
    const cli = run(BACKFILL);
    await waitRows(db, 2000);
    const t0 = Date.now();
    const n = proxy.blackHole();
    const before = await db.query<{ n: number }>(`select count(*)::int n from faults where counter > 0`);
    // Rows move again once the stalled batch's connection is given up and a new one is used.
    await waitRows(db, before[0]!.n + 400);
    const detectedMs = Date.now() - t0;
    const r = await finish(await cli.done);
    outcomes.push(`${outcome('black hole mid-backfill', n, r, 'stalled')}; rows moving again after ${(detectedMs / 1000).toFixed(1)} s`);
    expect(r.resumed, text(r)).toBeUndefined();
    expect(r.first.code, text(r)).toBe(0);
    // STALL_AFTER_MS + 2 checks (CHECK_MS apart) + a reconnect, with a wide margin for a loaded machine.
    expect(detectedMs).toBeLessThan(30_000);
    expect(await db.query(`select counter, count(*)::int n from faults group by counter`)).toEqual([{ counter: 1, n: 20000 }]);
  }, 120_000);

  it('a reset while the run waits at a gate: nothing ran before the answer, the lock is taken again and the step runs once', async () => {
    let reached!: () => void;
    const atGate = new Promise<void>((r) => (reached = r));
    let answer!: () => void;
    const answered = new Promise<void>((r) => (answer = r));
    // The operator takes a while: the reset happens while the gate is open.
    const gates: GatePort = {
      async request(req) {
        if (req.stepId === 'fill') {
          reached();
          await answered;
        }
        return { approved: true, by: 'operator' };
      },
    };
    const connection = resolveConnection(url);
    const runner = new Runner({
      runbook: await loadOrThrow(BACKFILL),
      connection,
      connect: connectionFactory(connection),
      gates,
      nonInteractive: false,
      journalDir: journal,
      kinds: STEP_KINDS,
    });
    const running = runner.run();
    await atGate;
    const n = proxy.resetAll();
    await new Promise((res) => setTimeout(res, 500));
    expect(await db.query(`select count(*)::int n from faults where counter <> 0`)).toEqual([{ n: 0 }]);
    answer();
    const outcome1 = await running;
    expect(outcome1.status, outcome1.error?.message).toBe('completed');
    const first: CliResult = { code: outcome1.status === 'completed' ? 0 : 1, signal: null, stdout: outcome1.status, stderr: '' };
    const r = await finish(first);
    outcomes.push(outcome(`reset at a gate (run ${outcome1.status})`, n, r));
    expect(r.resumed?.code ?? r.first.code, text(r)).toBe(0);
    expect(await db.query(`select counter, count(*)::int n from faults group by counter`)).toEqual([{ counter: 1, n: 20000 }]);
  }, 120_000);
});

const outcomes: string[] = [];
afterAll(() => {
  process.stdout.write(`network faults:\n${outcomes.map((o) => `  ${o}`).join('\n')}\n`);
});

function text(r: { first: CliResult; resumed?: CliResult }): string {
  return `${r.first.stdout}\n${r.first.stderr}\n--- resume:\n${r.resumed?.stdout ?? ''}\n${r.resumed?.stderr ?? ''}`;
}

function outcome(fault: string, connections: number, r: { first: CliResult; resumed?: CliResult }, what = 'reset'): string {
  const how = r.resumed ? `stopped (exit ${r.first.code}), resume exit ${r.resumed.code}` : `continued (exit ${r.first.code})`;
  return `${fault}: ${connections} connections ${what}; ${how}`;
}

async function waitRows(db: { query: (s: string) => Promise<{ n: number }[]> }, n: number): Promise<void> {
  for (;;) {
    const [r] = await db.query(`select count(*)::int n from faults where counter > 0`);
    if (r!.n >= n) return;
    await new Promise((res) => setTimeout(res, 50));
  }
}
