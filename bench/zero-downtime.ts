// Zero downtime, two scenarios (--scenario). add-column: runbooks/add-column-backfill.yaml (orders.amount_cents = (amount*100)::bigint,
// with the index) on a 1M-row `orders` table while pgbench runs a fixed-rate workload
// (300 tps, 8 clients, an UPDATE and a SELECT by random id per transaction), compared in the same
// run with a baseline (no change) and the naive way (one transaction: ADD COLUMN, UPDATE all,
// SET NOT NULL, CREATE INDEX). Each scenario starts from a copy of the same template database.
// Latency comes from pgbench's per-transaction log (under --rate it counts from the scheduled
// start, so time spent blocked shows), over the window the change ran (baseline: the whole run).
// swap-table: runbooks/swap-table.yaml (accounts.id int -> bigint, with a referencing `invoices`
// table) under the same kind of workload (plus a read of the invoices of the same account),
// against the naive ALTER COLUMN .. TYPE bigint.
// Bars (DESIGN §7): 0 failed, p99 <= 3x baseline p99, max <= 50 ms, time <= 1.5x naive (add-column
// only: a copy beside the table is not meant to be faster than rewriting it under an exclusive lock).
// Rounds alternate naive and runbook on fresh copies; every round must meet the bars. The baseline
// runs half before and half after the rounds, pooled, so drift in the machine's load shows in it.
//   npx tsx bench/zero-downtime.ts [--scenario add-column|swap-table] [--rows 1000000] [--major 17] [--rounds 3] [--baseline-seconds 20]
//     [--key random|periodic] [--batch-time 50ms (default: the runbook's)] [--dump FILE (per-transaction
//     latencies and 25 ms samples of pg_stat_activity's waits, each runbook round to FILE.N)] [--workload heavy [--heavy-share 0.7]]
// --workload heavy (add-column): pgbench first runs unthrottled for a few seconds to find what this
// machine sustains, then the workload runs at --heavy-share of that; each round runs the runbook with
// app_latency: 0, with the app_latency throttle (1.5x, pg_stat_statements created in the copy), and
// with host_cpu: 85% through a real prometheus-node-exporter the bench starts (--node-exporter),
// against the baseline. Bars (with a throttle): p99 <= 2x baseline, max <= 50 ms, 0 failed, the
// migration finishes; the price is its time against the run with no throttle on the application.
import pg from 'pg';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EmbeddedServer } from '../src/pg/embedded-server.js';
import { PolicyGates } from '../src/engine/gates.js';
import { resolveConnection } from '../src/pg/connection.js';
import { loadRunbookFile } from '../src/runbook/load.js';
import { formatProblem } from '../src/runbook/model.js';
import { backfillSchemaSql } from '../src/backfill/cursor-store.js';
import { ratio, writeSection } from './lib/readme.js';
import { newRunner, STEP_KINDS } from '../src/cli/composition-root.js';
import { NodeExporterSignals } from '../src/host/node-exporter.js';
import { systemClock } from '../src/util/clock.js';
import { HOST_CPU_MIN_DUTY } from '../src/backfill/host-rules.js';
import { type BenchExporter, cpuBusyBetween, startNodeExporter } from './lib/node-exporter.js';
import type { RunEvent } from '../src/engine/events.js';
import { PHASE_HEADER, phaseRows, swapPhases, type Phase } from './lib/swap-phases.js';
import { childCpuSampler, treeCpuMs } from './lib/proc-cpu.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    major: { type: 'string', default: '17' },
    'baseline-seconds': { type: 'string', default: '20' },
    rate: { type: 'string', default: '300' },
    clients: { type: 'string', default: '8' },
    'batch-time': { type: 'string' },
    rounds: { type: 'string', default: '3' },
    key: { type: 'string', default: 'random' },
    dump: { type: 'string' },
    scenario: { type: 'string', default: 'add-column' },
    workload: { type: 'string', default: 'steady' },
    'heavy-share': { type: 'string', default: '0.7' },
  },
});
const HEAVY = values.workload === 'heavy';
if (!['steady', 'heavy'].includes(values.workload!) || (HEAVY && values.scenario !== 'add-column')) {
  console.error('--workload must be steady or heavy, and heavy runs with --scenario add-column only');
  process.exit(2);
}
const HEAVY_SHARE = Number(values['heavy-share']);
if (!(HEAVY_SHARE > 0 && HEAVY_SHARE <= 1)) {
  console.error('--heavy-share must be a fraction above 0, at most 1 (e.g. 0.7)');
  process.exit(2);
}
/** Seconds of unthrottled pgbench that find the rate this machine sustains (heavy mode). */
const PROBE_SECONDS = 6;
const ROWS = Number(values.rows);
let RATE = Number(values.rate);
const CLIENTS = Number(values.clients);
const SETTLE_MS = 3000;
const ROUNDS = Math.max(1, Number(values.rounds));
// customer_id shape. random: as in a real orders table. periodic (id % 50000): the worst case for
// batched commits (see the note the section prints).
const KEYS: Record<string, string> = { random: 'hashint4(g) & 65535', periodic: 'g % 50000' };
const KEY = values.key!;
if (!KEYS[KEY]) {
  console.error(`--key must be one of ${Object.keys(KEYS).join(', ')}`);
  process.exit(2);
}

function pgbenchPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v pgbench'], { encoding: 'utf8' }).trim();
  } catch {
    console.error('pgbench is not installed: apt-get install postgresql-client (it ships pgbench)');
    process.exit(2);
  }
}
const PGBENCH = pgbenchPath();

/** What differs between the scenarios: the table, the workload, the naive way and the runbook. */
interface Scenario {
  runbook: string;
  vars(batchTime: string | undefined): Record<string, string>;
  template(c: pg.Client): Promise<void>;
  /** pgbench script after `\set id random(1, ROWS)`. */
  workload: string;
  naive: string;
  /**
   * The floor: the naive way's work on a copy of the table the workload never touches (built by
   * `setup`, before the workload starts). No lock is shared with the workload, so what it costs the
   * workload is this machine's CPU, WAL and disk alone, at about the naive way's speed. `text` says
   * what runs, for the report.
   */
  floor: { setup: string[]; sql: string; text: string };
  /** Throws unless the runbook left the change done. */
  check(c: pg.Client): Promise<void>;
  /** Whether the time bar (<= 1.5x the naive way) applies. */
  timeBar: boolean;
}

/** A frozen copy `<table>_floor` with the same columns, indexes and rows (one statement each: VACUUM runs alone). */
function copyTableSql(table: string): string[] {
  return [
    `CREATE TABLE ${table}_floor (LIKE ${table} INCLUDING ALL)`,
    `INSERT INTO ${table}_floor SELECT * FROM ${table}`,
    `VACUUM (FREEZE, ANALYZE) ${table}_floor`,
    'CHECKPOINT',
  ];
}

const runbookPath = (name: string) => fileURLToPath(new URL(`../runbooks/${name}`, import.meta.url));

const ADD_COLUMN: Scenario = {
  runbook: runbookPath('add-column-backfill.yaml'),
  vars: (bt) => ({
    table: 'orders',
    column: 'amount_cents',
    type: 'bigint',
    expression: '(amount * 100)::bigint',
    index: 'true',
    ...(bt ? { batch_time: bt } : {}),
  }),
  template: async (c) => {
    await c.query(
      `CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2) NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL)`,
    );
    await c.query(`INSERT INTO orders SELECT g, ${KEYS[KEY]}, (g % 100000) / 100.0 + 1, (ARRAY['new','paid','shipped'])[1 + g % 3],
                   timestamptz '2024-01-01' + g * interval '1 second' FROM generate_series(1, ${ROWS}) g`);
    await c.query('CREATE INDEX orders_customer ON orders (customer_id)');
    await c.query('VACUUM (FREEZE, ANALYZE) orders');
  },
  workload: `UPDATE orders SET amount = amount + 0.01 WHERE id = :id;\nSELECT id, customer_id, amount, status FROM orders WHERE id = :id;\n`,
  naive: `BEGIN;
    ALTER TABLE orders ADD COLUMN amount_cents bigint;
    UPDATE orders SET amount_cents = (amount * 100)::bigint;
    ALTER TABLE orders ALTER COLUMN amount_cents SET NOT NULL;
    CREATE INDEX orders_amount_cents_idx ON orders (amount_cents);
    COMMIT`,
  floor: {
    text: 'its index built on one core, as the runbook builds it',
    setup: copyTableSql('orders'),
    // The index on one core, as the runbook builds it (index_workers 0).
    sql: `SET max_parallel_maintenance_workers = 0; BEGIN;
    ALTER TABLE orders_floor ADD COLUMN amount_cents bigint;
    UPDATE orders_floor SET amount_cents = (amount * 100)::bigint;
    ALTER TABLE orders_floor ALTER COLUMN amount_cents SET NOT NULL;
    CREATE INDEX ON orders_floor (amount_cents);
    COMMIT`,
  },
  check: async (c) => {
    const bad = await c.query(`SELECT count(*)::int AS n FROM orders WHERE amount_cents IS NULL`);
    const idx = await c.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('orders_amount_cents_idx')`);
    if (bad.rows[0].n !== 0 || idx.rows[0]?.indisvalid !== true)
      throw new Error('the runbook did not leave amount_cents filled and indexed');
  },
  timeBar: true,
};

const SWAP_TABLE: Scenario = {
  runbook: runbookPath('swap-table.yaml'),
  vars: (bt) => ({ table: 'accounts', column: 'id', type: 'bigint', ...(bt ? { batch_time: bt } : {}) }),
  template: async (c) => {
    await c.query(
      `CREATE TABLE accounts (id serial PRIMARY KEY, customer_id int NOT NULL, balance numeric(12,2) NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL)`,
    );
    await c.query(`INSERT INTO accounts SELECT g, ${KEYS[KEY]}, (g % 100000) / 100.0 + 1, (ARRAY['new','active','closed'])[1 + g % 3],
                   timestamptz '2024-01-01' + g * interval '1 second' FROM generate_series(1, ${ROWS}) g`);
    await c.query(`SELECT setval('accounts_id_seq', ${ROWS})`);
    await c.query('CREATE INDEX accounts_customer ON accounts (customer_id)');
    await c.query(
      `CREATE TABLE invoices (id bigint PRIMARY KEY, account_id int NOT NULL REFERENCES accounts (id), amount numeric(12,2) NOT NULL)`,
    );
    await c.query(
      `INSERT INTO invoices SELECT g, 1 + (hashint4(g) & 2147483647) % ${ROWS}, 10 FROM generate_series(1, ${Math.round(ROWS / 5)}) g`,
    );
    await c.query('CREATE INDEX invoices_account ON invoices (account_id)');
    await c.query('VACUUM (FREEZE, ANALYZE) accounts, invoices');
  },
  workload: `UPDATE accounts SET balance = balance + 0.01 WHERE id = :id;\nSELECT id, customer_id, balance, status FROM accounts WHERE id = :id;\nSELECT count(*) FROM invoices WHERE account_id = :id;\n`,
  naive: `BEGIN; ALTER TABLE accounts ALTER COLUMN id TYPE bigint; ALTER SEQUENCE accounts_id_seq AS bigint; COMMIT`,
  floor: {
    text: 'the same ALTER COLUMN .. TYPE bigint rewrite',
    setup: copyTableSql('accounts'),
    sql: 'ALTER TABLE accounts_floor ALTER COLUMN id TYPE bigint',
  },
  check: async (c) => {
    const r = await c.query(`SELECT format_type(atttypid, atttypmod) AS t, (SELECT count(*)::int FROM accounts) AS n,
      (SELECT bool_and(convalidated) FROM pg_constraint WHERE conrelid = 'invoices'::regclass AND contype = 'f') AS fk
      FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'id'`);
    const row = r.rows[0];
    if (row?.t !== 'bigint' || row.n !== ROWS || row.fk !== true)
      throw new Error(`the swap did not leave accounts.id bigint with every row and a valid FK: ${JSON.stringify(row)}`);
  },
  timeBar: false,
};

const SCENARIOS: Record<string, Scenario> = { 'add-column': ADD_COLUMN, 'swap-table': SWAP_TABLE };
const SCENARIO_NAME = values.scenario!;
const SCENARIO = SCENARIOS[SCENARIO_NAME]!;
/** The runbook's own batch_time (its vars, through the runbook loader), said in the report when --batch-time is not given. */
async function runbookBatchTime(): Promise<string> {
  const { runbook: rb, problems } = await loadRunbookFile(SCENARIO.runbook, { kinds: STEP_KINDS, vars: SCENARIO.vars(undefined) });
  const bt = rb?.vars.batch_time;
  if (!bt) throw new Error(`${SCENARIO.runbook}: no batch_time var${problems.length ? `: ${problems.map(formatProblem).join('; ')}` : ''}`);
  return bt;
}
const RUNBOOK_BATCH_TIME = await runbookBatchTime();
if (!SCENARIOS[SCENARIO_NAME]) {
  console.error(`--scenario must be one of ${Object.keys(SCENARIOS).join(', ')}`);
  process.exit(2);
}

const server = await EmbeddedServer.start({
  major: Number(values.major),
  settings: {
    fsync: 'on',
    synchronous_commit: 'on',
    full_page_writes: 'on',
    shared_buffers: '512MB',
    max_wal_size: '8GB',
    checkpoint_timeout: '1h',
    maintenance_work_mem: '256MB',
  },
});
const admin = new pg.Client(server.url);
await admin.connect();

async function buildTemplate(): Promise<void> {
  await admin.query('DROP DATABASE IF EXISTS zd_template');
  await admin.query('CREATE DATABASE zd_template');
  const c = new pg.Client(server.urlFor('zd_template'));
  await c.connect();
  await SCENARIO.template(c);
  // app_latency reads pg_stat_statements: without it the rule is off (the steady mode leaves it so).
  if (HEAVY) await c.query('CREATE EXTENSION pg_stat_statements');
  // pgrunbook's state schema, with the backfill cursor table (see test/runbooks/seed.ts).
  await c.query(`CREATE SCHEMA pgrunbook; ${backfillSchemaSql}`);
  await c.end();
}

/**
 * Leaves pg_wal holding recycled segments, as on a server that has been running. A cluster fresh from
 * initdb has almost none: each new 16 MB segment is zero-filled and fsynced while commits wait (here
 * a ~60 ms stall of every client once per segment, every 0.7 s of a copy writing 23 MB/s, from the
 * moment the few recycled ones ran out), which made the first round of every run the worst. About
 * 1 GB of WAL, then a checkpoint, which keeps segments for reuse in proportion to the WAL written.
 */
async function warmWal(): Promise<number> {
  await admin.query(`CREATE TABLE zd_wal_warm AS SELECT g, repeat('x', 500) AS pad FROM generate_series(1, 1500000) g`);
  await admin.query('DROP TABLE zd_wal_warm');
  await admin.query('CHECKPOINT');
  const n = await walSegmentFiles();
  console.log(`pg_wal warmed: ${n} segment files, all but the current one ready for reuse`);
  return n;
}

/** Segment files in pg_wal: fewer than a run writes means new ones get zero-filled (see warmWal). */
async function walSegmentFiles(): Promise<number> {
  return (await admin.query(`SELECT count(*)::int AS n FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$'`)).rows[0].n;
}

async function freshDb(name: string): Promise<string> {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name} TEMPLATE zd_template`);
  await admin.query('CHECKPOINT');
  console.log(`  ${name}: ${await walSegmentFiles()} segment files in pg_wal`);
  return server.urlFor(name);
}

interface Load {
  child: ChildProcess;
  dir: string;
  stderr: string[];
  done: Promise<void>;
}

function startLoad(url: string, seconds: number, rate = RATE): Load {
  const dir = mkdtempSync(join(tmpdir(), 'zd-pgbench-'));
  writeFileSync(join(dir, 'workload.sql'), `\\set id random(1, ${ROWS})\n${SCENARIO.workload}`);
  const u = new URL(url);
  const child = spawn(
    PGBENCH,
    [
      '-n',
      '-f',
      'workload.sql',
      '-c',
      String(CLIENTS),
      '-j',
      '2',
      ...(rate > 0 ? ['-R', String(rate)] : []),
      '-T',
      String(seconds),
      '-l',
      '--log-prefix=tx',
      '-h',
      u.hostname,
      '-p',
      u.port,
      '-U',
      decodeURIComponent(u.username),
      u.pathname.slice(1),
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stderr: string[] = [];
  child.stderr!.on('data', (d) => stderr.push(String(d)));
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, dir, stderr, done };
}

async function stopLoad(l: Load): Promise<void> {
  if (l.child.exitCode === null) l.child.kill('SIGINT'); // pgbench flushes its per-transaction logs on SIGINT
  await l.done;
}

interface Tx {
  at: number;
  ms: number;
}

/** All logged transactions: completion time (epoch ms) and latency (ms); failed ones as NaN. */
function transactions(l: Load): Tx[] {
  const out: Tx[] = [];
  for (const f of readdirSync(l.dir).filter((n) => n.startsWith('tx.'))) {
    for (const line of readFileSync(join(l.dir, f), 'utf8').split('\n')) {
      const p = line.trim().split(/\s+/);
      if (p.length < 6 || p[2] === 'skipped') continue;
      out.push({ at: Number(p[4]) * 1000 + Number(p[5]) / 1000, ms: p[2] === 'failed' ? NaN : Number(p[2]) / 1000 });
    }
  }
  return out;
}

interface Stats {
  tx: number;
  failed: number;
  aborted: number;
  p50: number;
  p99: number;
  max: number;
  tps: number;
}

/** Per-transaction log lines: client tx latency_us script epoch_s epoch_us [lag]; latency may be "failed". */
function stats(l: Load, fromMs: number, toMs: number): Stats {
  const txs = transactions(l).filter((t) => t.at >= fromMs && t.at <= toMs);
  const lat = txs
    .filter((t) => !Number.isNaN(t.ms))
    .map((t) => t.ms)
    .sort((a, b) => a - b);
  const failed = txs.length - lat.length;
  const pct = (q: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]! : NaN);
  const aborted = l.stderr
    .join('')
    .split('\n')
    .filter((s) => /aborted/.test(s)).length;
  return {
    tx: lat.length,
    failed: failed + aborted,
    aborted,
    p50: pct(0.5),
    p99: pct(0.99),
    max: lat.at(-1) ?? NaN,
    tps: lat.length / ((toMs - fromMs) / 1000),
  };
}

/** Per runbook step: how long it ran, and the workload's p99 / max / count over 50 ms meanwhile. */
interface Step {
  id: string;
  from: number;
  to: number;
  /** The server's CPU while the step ran (its value when it started, until it ends). */
  cpuMs: number;
}

function perStep(l: Load, steps: Step[]): string[] {
  const txs = transactions(l);
  return steps.map((s) => {
    const lat = txs
      .filter((t) => t.at >= s.from && t.at <= s.to && !Number.isNaN(t.ms))
      .map((t) => t.ms)
      .sort((a, b) => a - b);
    const p99 = lat.length ? lat[Math.min(lat.length - 1, Math.floor(0.99 * lat.length))]! : NaN;
    return `| ${s.id} | ${((s.to - s.from) / 1000).toFixed(1)} s | ${lat.length} | ${p99.toFixed(1)} ms | ${(lat.at(-1) ?? NaN).toFixed(1)} ms | ${lat.filter((x) => x > 50).length} | ${(s.cpuMs / 1000).toFixed(1)} s |`;
  });
}

/** The workload alone for `seconds`: its transactions (the first second, pgbench's ramp-up, dropped). */
async function baselineTxs(
  seconds: number,
  exporter?: BenchExporter,
): Promise<{ txs: Tx[]; seconds: number; aborted: number; cpuBusyPct?: number }> {
  const url = await freshDb('zd_baseline');
  const l = startLoad(url, seconds);
  const t0 = Date.now();
  const cpu0 = await exporter?.sample();
  await l.done;
  const cpu1 = await exporter?.sample();
  const t1 = Date.now();
  const txs = transactions(l).filter((t) => t.at >= t0 + 1000 && t.at <= t1);
  const aborted = l.stderr
    .join('')
    .split('\n')
    .filter((x) => /aborted/.test(x)).length;
  rmSync(l.dir, { recursive: true, force: true });
  return { txs, seconds: (t1 - t0 - 1000) / 1000, aborted, ...(cpu0 && cpu1 ? { cpuBusyPct: cpuBusyBetween(cpu0, cpu1) } : {}) };
}

/** Baseline halves before and after the rounds, pooled into one set of figures. */
function pooled(parts: { txs: Tx[]; seconds: number; aborted: number }[]): Stats {
  const txs = parts.flatMap((p) => p.txs);
  const lat = txs
    .filter((t) => !Number.isNaN(t.ms))
    .map((t) => t.ms)
    .sort((a, b) => a - b);
  const pct = (q: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]! : NaN);
  const aborted = parts.reduce((n, p) => n + p.aborted, 0);
  const seconds = parts.reduce((n, p) => n + p.seconds, 0);
  return {
    tx: lat.length,
    failed: txs.length - lat.length + aborted,
    aborted,
    p50: pct(0.5),
    p99: pct(0.99),
    max: lat.at(-1) ?? NaN,
    tps: lat.length / seconds,
  };
}

/** The naive way on the table the workload uses, or (`floor`) its work on a copy the workload never touches. */
async function oneTransaction(which: 'naive' | 'floor'): Promise<{ stats: Stats; ms: number; cpu: Cpu }> {
  const url = await freshDb(`zd_${which}`);
  const c = new pg.Client(url);
  await c.connect();
  for (const sql of which === 'floor' ? SCENARIO.floor.setup : []) await c.query(sql);
  const l = startLoad(url, 900);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const t0 = Date.now();
  const cpu0 = treeCpuMs(server.pid);
  const vacuum = childCpuSampler(server.pid, AUTOVACUUM);
  await c.query(which === 'floor' ? SCENARIO.floor.sql : SCENARIO.naive);
  const cpu = { serverMs: treeCpuMs(server.pid) - cpu0, autovacuumMs: vacuum.stop() };
  const t1 = Date.now();
  await c.end();
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  await stopLoad(l);
  const s = stats(l, t0, t1 + SETTLE_MS);
  rmSync(l.dir, { recursive: true, force: true });
  return { stats: s, ms: t1 - t0, cpu };
}

/**
 * CPU spent while the change ran: the server's (every backend, the workload's included, so compare rows, not
 * totals with the wall time) and, for the runbook, the runner's own process (this bench's, which runs it).
 */
interface Cpu {
  serverMs: number;
  /** Of serverMs: autovacuum workers' (on any table: the runbook's committed batches leave dead rows behind as they go). */
  autovacuumMs: number;
  runnerMs?: number;
}

const AUTOVACUUM = /autovacuum worker/;

interface RunbookRun {
  stats: Stats;
  ms: number;
  cpu: Cpu;
  steps: string[];
  /** step.throttle events by rule (a rule announced again at a new duty counts again). */
  fired: Record<string, number>;
  /** The host's CPU busy while the migration ran (heavy mode, with an exporter). */
  cpuBusyPct?: number;
  /** swap-table only: the swap step's phases, and every logged transaction, to set one against the other. */
  swap?: { phases: Phase[]; txs: Tx[] };
}

let dumpRound = 0;

/**
 * For --dump: every 25 ms, what each non-idle session of the database waits on (pg_stat_activity),
 * to name the wait behind a stall of the workload.
 */
function sampleWaits(url: string): { stop(): Promise<{ at: number; ms: number; rows: string[] }[]> } {
  const out: { at: number; ms: number; rows: string[] }[] = [];
  let running = true;
  const c = new pg.Client(url);
  const loop = (async () => {
    await c.connect();
    while (running) {
      const at = Date.now();
      const r = await c.query<{ s: string }>(
        `SELECT concat_ws(' ', backend_type, application_name, state, wait_event_type || ':' || wait_event, left(regexp_replace(query, '\\s+', ' ', 'g'), 60)) AS s
           FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND (state IS DISTINCT FROM 'idle' OR wait_event_type NOT IN ('Client', 'Activity'))`,
      );
      out.push({ at, ms: Date.now() - at, rows: r.rows.map((x) => x.s) });
      await new Promise((res) => setTimeout(res, 25));
    }
    await c.end();
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return out;
    },
  };
}

/** `exporter`: sample the host's CPU around the migration; `watchHost`: also give it to the run (--node-exporter). */
async function runbook(
  batchTime: string | undefined,
  file = SCENARIO.runbook,
  opts: { exporter?: BenchExporter; watchHost?: boolean } = {},
): Promise<RunbookRun> {
  const url = await freshDb('zd_runbook');
  const vars = SCENARIO.vars(batchTime);
  const { runbook: rb, problems } = await loadRunbookFile(file, { kinds: STEP_KINDS, vars });
  if (!rb) throw new Error(problems.map(formatProblem).join('\n'));
  const l = startLoad(url, 900);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const runner = newRunner({
    runbook: rb,
    connection: resolveConnection(url),
    gates: new PolicyGates({ yes: true, allowIrreversible: true, user: 'bench' }),
    nonInteractive: true,
    phases: ['deploy'],
    journalDir: null,
    ...(opts.exporter && opts.watchHost ? { host: new NodeExporterSignals(opts.exporter.url, systemClock) } : {}),
  });
  const steps: Step[] = [];
  const fired: Record<string, number> = {};
  // For --dump: what the runbook did when, to line up with the workload's slow transactions.
  const marks: { at: number; type: string; text: string }[] = [];
  // The swap step's events, split into its phases afterwards (bench/lib/swap-phases.ts).
  const events: RunEvent[] = [];
  runner.bus.on((e) => {
    if (SCENARIO_NAME === 'swap-table') events.push(e);
    if (values.dump && ['step.log', 'step.sql', 'step.evidence', 'step.throttle', 'step.retry'].includes(e.type))
      marks.push({ at: Date.parse(e.at), type: e.type, text: JSON.stringify(e).slice(0, 300) });
    if (e.type === 'step.throttle' && e.reason) fired[e.reason] = (fired[e.reason] ?? 0) + 1;
    // A statement, lock wait or retry long enough to stall the workload is said as it comes: where a bad round's time went.
    if (e.type === 'step.sql' && e.durationMs > 50)
      console.log(`  ${e.stepId}: ${e.durationMs.toFixed(0)} ms for ${e.sql.replace(/\s+/g, ' ').slice(0, 90)}`);
    if (e.type === 'step.retry' || e.type === 'step.lock_wait' || (e.type === 'step.log' && /autovacuum|VACUUM/.test(e.message)))
      console.log(`  ${e.stepId}: ${e.type} ${JSON.stringify(e).slice(0, 240)}`);
    if (HEAVY && e.type === 'step.throttle' && e.reason && ['app_latency', 'host_cpu'].includes(e.reason))
      console.log(`  throttle: ${e.reason} (${e.detail})`);
    if (e.type === 'step.log' && /pg_stat_statements/.test(e.message)) console.log(`runbook: ${e.message}`);
    // Whether auto's second worker ran, and why (its start, park and stop lines).
    if (e.type === 'step.log' && /^(main pass cut|second worker)/.test(e.message)) console.log(`  ${e.stepId}: ${e.message}`);
    if (e.type === 'step.started') steps.push({ id: e.stepId, from: Date.parse(e.at), to: NaN, cpuMs: treeCpuMs(server.pid) });
    if (e.type === 'step.completed' || e.type === 'step.failed') {
      const s = steps.find((x) => x.id === e.stepId && Number.isNaN(x.to));
      if (s) {
        s.to = Date.parse(e.at);
        s.cpuMs = treeCpuMs(server.pid) - s.cpuMs;
      }
    }
  });
  const t0 = Date.now();
  const cpu0 = await opts.exporter?.sample();
  const waits = values.dump ? sampleWaits(url) : undefined;
  const serverCpu0 = treeCpuMs(server.pid);
  const runnerCpu0 = process.cpuUsage();
  const vacuum = childCpuSampler(server.pid, AUTOVACUUM);
  const outcome = await runner.run();
  const runnerCpu = process.cpuUsage(runnerCpu0);
  const cpu = {
    serverMs: treeCpuMs(server.pid) - serverCpu0,
    autovacuumMs: vacuum.stop(),
    runnerMs: (runnerCpu.user + runnerCpu.system) / 1000,
  };
  const waitSamples = await waits?.stop();
  const cpu1 = await opts.exporter?.sample();
  const t1 = Date.now();
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  await stopLoad(l);
  if (outcome.status !== 'completed') throw new Error(`runbook ${outcome.status}: ${outcome.error?.message}`);
  const check = new pg.Client(url);
  await check.connect();
  try {
    await SCENARIO.check(check);
  } finally {
    await check.end();
  }
  const s = stats(l, t0, t1 + SETTLE_MS);
  const byStep = perStep(l, steps);
  const txs = transactions(l);
  // Every runbook round's dump: FILE.1, FILE.2, ... (a stall is rarely in the last round).
  if (values.dump)
    writeFileSync(`${values.dump}.${++dumpRound}`, JSON.stringify({ t0, t1, steps, marks, events, txs, waits: waitSamples }));
  const swap = SCENARIO_NAME === 'swap-table' ? { phases: swapPhases(events, 'swap'), txs } : undefined;
  rmSync(l.dir, { recursive: true, force: true });
  return {
    stats: s,
    ms: t1 - t0,
    cpu,
    steps: byStep,
    fired,
    ...(swap ? { swap } : {}),
    ...(cpu0 && cpu1 ? { cpuBusyPct: cpuBusyBetween(cpu0, cpu1) } : {}),
  };
}

/** What pgbench sustains unthrottled on a fresh copy (transactions per second), and the host's CPU busy meanwhile. */
async function sustainedTps(exporter: BenchExporter): Promise<{ tps: number; cpuBusyPct: number }> {
  const url = await freshDb('zd_probe');
  const l = startLoad(url, PROBE_SECONDS, 0);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, 1000));
  const cpu0 = await exporter.sample();
  await l.done;
  const cpu1 = await exporter.sample();
  const txs = transactions(l).filter((t) => t.at >= t0 + 1000 && !Number.isNaN(t.ms));
  rmSync(l.dir, { recursive: true, force: true });
  return { tps: txs.length / (PROBE_SECONDS - 1), cpuBusyPct: cpuBusyBetween(cpu0, cpu1) };
}

/** The shipped runbook with these keys under the backfill's `throttle:` (a variant file in a temp folder). */
function runbookVariant(name: string, throttle: Record<string, string>): string {
  const text = readFileSync(SCENARIO.runbook, 'utf8');
  const anchor = '        target_batch_time: "{{ batch_time }}"\n';
  if (!text.includes(anchor)) throw new Error(`${SCENARIO.runbook}: the backfill's target_batch_time line moved; update runbookVariant`);
  const file = join(mkdtempSync(join(tmpdir(), 'zd-variant-')), `add-column-${name}.yaml`);
  const keys = Object.entries(throttle).map(([k, v]) => `          ${k}: ${v}\n`);
  writeFileSync(file, text.replace(anchor, `${anchor}        throttle:\n${keys.join('')}`));
  return file;
}

/** host_cpu's limit in the heavy mode's third run. */
const HOST_CPU_LIMIT = 85;

/** The heavy mode's runs, in the order each round runs them. */
const HEAVY_RUNS = [
  { name: 'app_latency off', file: () => runbookVariant('app-latency-0', { app_latency: '0' }), watchHost: false },
  { name: 'app_latency 1.5x', file: () => runbookVariant('app-latency-1.5x', { app_latency: '1.5x' }), watchHost: false },
  {
    name: `host_cpu ${HOST_CPU_LIMIT}%`,
    file: () => runbookVariant(`host-cpu-${HOST_CPU_LIMIT}`, { app_latency: '0', host_cpu: `${HOST_CPU_LIMIT}%` }),
    watchHost: true,
  },
] as const;

const firedText = (f: Record<string, number>) =>
  Object.keys(f).length
    ? Object.entries(f)
        .map(([k, n]) => `${k} ${n}×`)
        .join(', ')
    : 'none';
const pctText = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '–' : `${v.toFixed(0)}%`);

/**
 * --workload heavy: the runbook with no throttle on the application, with app_latency, and with
 * host_cpu through a real node_exporter, under a workload near this machine's limit.
 */
async function heavyWorkload(): Promise<never> {
  const exporter = await startNodeExporter();
  const sustained = await sustainedTps(exporter);
  RATE = Math.max(1, Math.round(sustained.tps * HEAVY_SHARE));
  console.log(
    `pgbench sustains ${sustained.tps.toFixed(0)} tps unthrottled (${CLIENTS} clients, host CPU busy ${pctText(sustained.cpuBusyPct)}); the workload runs at ${RATE} tps`,
  );
  const half = Number(values['baseline-seconds']) / 2;
  const parts = [await baselineTxs(half, exporter)];
  const rounds = await heavyRounds(exporter);
  parts.push(await baselineTxs(half, exporter));
  const base = pooled(parts);
  const baseCpu = parts.map((p) => p.cpuBusyPct ?? Number.NaN).reduce((a, b) => a + b, 0) / parts.length;
  console.log(`baseline: ${fmt(base)}; host CPU ${pctText(baseCpu)}`);
  const load = loadavg();
  await exporter.stop();
  await admin.end();
  await server.stop();
  const ok = reportHeavy({ sustained, half, base, baseCpu, rounds, load });
  process.exit(ok ? 0 : 1);
}

/** Each round runs every HEAVY_RUNS variant on a fresh copy, in order. */
async function heavyRounds(exporter: BenchExporter): Promise<RunbookRun[][]> {
  const files = HEAVY_RUNS.map((r) => r.file());
  const rounds: RunbookRun[][] = [];
  for (let i = 1; i <= ROUNDS; i++) {
    const round: RunbookRun[] = [];
    for (const [k, variant] of HEAVY_RUNS.entries()) {
      const r = await runbook(BT, files[k], { exporter, watchHost: variant.watchHost });
      console.log(
        `round ${i} ${variant.name}: ${(r.ms / 1000).toFixed(1)} s; workload ${fmt(r.stats)}; host CPU ${pctText(r.cpuBusyPct)}; throttle events: ${firedText(r.fired)}`,
      );
      round.push(r);
    }
    rounds.push(round);
  }
  return rounds;
}

interface HeavyResult {
  sustained: { tps: number; cpuBusyPct: number };
  half: number;
  base: Stats;
  baseCpu: number;
  rounds: RunbookRun[][];
  load: number[];
}

/**
 * When the workload alone already exceeds the bars, the machine's load sets the figures, not the
 * change: a "met" against such a baseline says little, and the README says so next to the verdicts.
 */
function noisyBaseline(base: Stats, p99Factor: number): string {
  const notes: string[] = [];
  if (base.max > 50)
    notes.push(
      `The baseline's own max (${base.max.toFixed(1)} ms, no change running) is above the 50 ms bar: at this load the max bar cannot tell the change from the machine's noise, and needs a quiet machine to be judged.`,
    );
  if (base.p99 > 50 / p99Factor)
    notes.push(
      `The baseline's own p99 is ${base.p99.toFixed(1)} ms, so the p99 bar (≤ ${p99Factor}× it) allows ${(p99Factor * base.p99).toFixed(0)} ms: a "met" there says the change added little to an already slow workload, not that the workload was fast; the baseline is too noisy for this bar to mean more.`,
    );
  return notes.length ? `\n\n${notes.join(' ')}` : '';
}

/**
 * What the floor says about the bars: the workload's p99 and max while the naive way's work ran on a
 * table it never touches, against the baseline and against the runbook in the same round; and, for
 * add-column, issue 18's stricter bars (p99 <= 2x, max <= 25 ms, time <= 1.2x), round by round.
 */
function floorVerdict(
  rounds: { naive: { ms: number }; floor: { stats: Stats; ms: number }; runbook: { stats: Stats; ms: number } }[],
  base: Stats,
): string {
  type R = (typeof rounds)[number];
  const count = (f: (r: R) => boolean) => `${rounds.filter(f).length} of ${rounds.length}`;
  const span = (f: (r: R) => number, show: (v: number) => string) =>
    `${show(Math.min(...rounds.map(f)))}–${show(Math.max(...rounds.map(f)))}`;
  const text = [
    `The floor (the naive way's work on a copy of the table that the workload never touches, built before the workload started, ${SCENARIO.floor.text}: ` +
      "only the machine's CPU, WAL and disk are shared) " +
      `took ${span(
        (r) => r.floor.ms / 1000,
        (v) => `${v.toFixed(1)} s`,
      )} and left the workload a p99 of ` +
      `${span(
        (r) => r.floor.stats.p99 / base.p99,
        (v) => `${v.toFixed(2)}×`,
      )} the baseline's and a max of ${span(
        (r) => r.floor.stats.max,
        (v) => `${v.toFixed(1)} ms`,
      )}. ` +
      `The runbook's p99 was at most its round's floor's in ${count((r) => r.runbook.stats.p99 <= r.floor.stats.p99)} rounds, its max in ${count((r) => r.runbook.stats.max <= r.floor.stats.max)}.`,
  ];
  if (!SCENARIO.timeBar) return text.join('');
  const p99Ok = (s: Stats) => s.p99 <= 2 * base.p99;
  const maxOk = (s: Stats) => s.max <= 25;
  text.push(
    ` Issue 18's bars for this deploy, every round: p99 ≤ 2× the baseline's met in ${count((r) => p99Ok(r.runbook.stats))} rounds (the floor in ${count((r) => p99Ok(r.floor.stats))}), ` +
      `max ≤ 25 ms in ${count((r) => maxOk(r.runbook.stats))} (the floor in ${count((r) => maxOk(r.floor.stats))}), ` +
      `time ≤ 1.2× the naive way's in ${count((r) => r.runbook.ms <= 1.2 * r.naive.ms)}, failed 0 in ${count((r) => r.runbook.stats.failed === 0)}.`,
  );
  const floorMissed = rounds.filter((r) => !p99Ok(r.floor.stats) || !maxOk(r.floor.stats)).length;
  if (floorMissed)
    text.push(
      ` In ${floorMissed} of ${rounds.length} rounds the floor itself missed one of those latency bars: there the machine alone, with no lock shared, held the workload over it.`,
    );
  return text.join('');
}

/** The verdicts and the README section of the heavy mode; true when a throttle met every bar in every round. */
function reportHeavy({ sustained, half, base, baseCpu, rounds, load }: HeavyResult): boolean {
  const meets = (r: RunbookRun) => r.stats.failed === 0 && r.stats.p99 <= 2 * base.p99 && r.stats.max <= 50;
  const mark = (ok: boolean) => (ok ? 'met' : '**not met**');
  const verdictOf = (k: number) => {
    const runs = rounds.map((round) => round[k]!);
    const off = rounds.map((round) => round[0]!);
    return (
      `${HEAVY_RUNS[k]!.name}: p99 at most ${ratio(Math.max(...runs.map((r) => r.stats.p99)), base.p99)} the baseline's ` +
      `(bar ≤ 2×: ${mark(runs.every((r) => r.stats.p99 <= 2 * base.p99))}), max ${Math.max(...runs.map((r) => r.stats.max)).toFixed(1)} ms at most ` +
      `(bar ≤ 50 ms: ${mark(runs.every((r) => r.stats.max <= 50))}), failed ${Math.max(...runs.map((r) => r.stats.failed))} at most; ` +
      `price: the migration took ${runs.map((r, i) => ratio(r.ms, off[i]!.ms)).join(', ')} its time with no throttle on the application; ` +
      `rounds meeting every bar: ${runs.filter(meets).length} of ${ROUNDS}`
    );
  };
  const verdicts = HEAVY_RUNS.slice(1).map((_, k) => verdictOf(k + 1));
  console.log(`\n${verdicts.join('\n')}`);
  const row = (name: string, r: RunbookRun | null, s: Stats, cpu: number | undefined, vs = '') =>
    `| ${name} | ${r === null ? '–' : `${(r.ms / 1000).toFixed(1)} s`}${vs} | ${s.tx} | ${s.p50.toFixed(1)} ms | ${s.p99.toFixed(1)} ms | ${s.max.toFixed(1)} ms | ${s.failed} | ${pctText(cpu)} | ${r === null ? '–' : firedText(r.fired)} |`;
  const tableRows = rounds.flatMap((round, i) =>
    round.map((r, k) =>
      row(`${i + 1}: ${HEAVY_RUNS[k]!.name}`, r, r.stats, r.cpuBusyPct, k === 0 ? '' : ` (${ratio(r.ms, round[0]!.ms)})`),
    ),
  );
  const hostRun = rounds.at(-1)!.at(-1)!;
  // What the workload alone leaves of the host: the share CPU busy the baseline took, against the limit.
  const left = HOST_CPU_LIMIT - baseCpu;
  writeSection(
    'zero-downtime-heavy',
    `## Zero downtime under a heavy workload: the app_latency and host_cpu throttles

\`npx tsx bench/zero-downtime.ts --workload heavy\`: \`runbooks/add-column-backfill.yaml\` on a ${ROWS.toLocaleString('en-US')}-row \`orders\`
table while pgbench runs near what this machine sustains: unthrottled for ${PROBE_SECONDS} s it did ${sustained.tps.toFixed(0)} tps with
${CLIENTS} clients (host CPU busy ${pctText(sustained.cpuBusyPct)}), so the workload runs at ${RATE} tps (${HEAVY_SHARE} of that; each transaction
an UPDATE and a SELECT by random id). Each round runs the runbook on fresh copies three times: \`app_latency: 0\` (no throttle
on the application), \`app_latency: 1.5x\` (\`pg_stat_statements\` created in the copy: the mean, the stalls and the calls/s
against the rate before the first batch) and \`host_cpu: ${HOST_CPU_LIMIT}%\` with \`app_latency: 0\`
through a real \`prometheus-node-exporter\` the bench starts on a free port (\`--node-exporter\`). The baseline (no change) runs
${half} s before and ${half} s after the rounds, pooled. Latency is per transaction from pgbench's log, counted from the
scheduled start, over the time the change ran plus ${SETTLE_MS / 1000} s. "host CPU" is node_exporter's CPU busy (all CPUs, I/O
wait excluded) over the migration (baseline: over the workload alone); "throttle events" counts \`step.throttle\` events by
rule (host_cpu is announced again each time its duty moves to another power of two). Embedded PostgreSQL ${values.major}
with production durability. ${walWarmNote} Load average at the end: ${load.map((x) => x.toFixed(1)).join(' / ')} (1/5/15 min).

| run | migration took | workload tx | p50 | p99 | max | failed | host CPU | throttle events |
|---|---|---|---|---|---|---|---|---|
${row('baseline (no change)', null, base, baseCpu)}
${tableRows.join('\n')}

Bars (with a throttle, every round; the migration must finish):
${verdicts.map((v) => `- ${v}.`).join('\n')}${noisyBaseline(base, 2)}

What the host has left: with the workload alone the host was ${pctText(baseCpu)} busy (node_exporter counts every process on the
machine, other sessions' included), so ${left > 0 ? `the ${HOST_CPU_LIMIT}% limit leaves ${left.toFixed(0)} points of CPU for the migration` : `the ${HOST_CPU_LIMIT}% limit leaves the migration no CPU at all: host_cpu holds the backfill near its lowest duty (1/${Math.round(1 / HOST_CPU_MIN_DUTY)}) for the whole step`};
unthrottled, pgbench drove it to ${pctText(sustained.cpuBusyPct)}. The workload while each step ran (last round, host_cpu ${HOST_CPU_LIMIT}%); only the
backfill is throttled, the other steps run as they are:

| step | took | workload tx | p99 | max | tx over 50 ms | server CPU |
|---|---|---|---|---|---|---|
${hostRun.steps.join('\n')}`,
  );
  return rounds.every((round) => round.slice(1).some(meets));
}

const seconds = (ms: number | undefined) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);
const cpuText = (c: Cpu) => `${seconds(c.serverMs)}${c.autovacuumMs >= 100 ? ` (autovacuum ${seconds(c.autovacuumMs)})` : ''}`;
const fmt = (s: Stats) =>
  `${s.tx} tx, ${s.tps.toFixed(0)} tps, p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms, failed ${s.failed}`;

console.log(`building a ${ROWS.toLocaleString('en-US')}-row template (customer_id ${KEY})...`);
await buildTemplate();
const walWarmNote = `Before the rounds the bench writes about 1 GB of WAL and checkpoints, so pg_wal holds ${await warmWal()} segment files for reuse, as on a server that has been running (a cluster fresh from initdb zero-fills and fsyncs each new 16 MB segment while commits wait, which made the first round of every run the worst).`;
const BT = values['batch-time'];
if (HEAVY) await heavyWorkload();
const halfBaseline = Number(values['baseline-seconds']) / 2;
const baseParts = [await baselineTxs(halfBaseline)];
interface Round {
  naive: { stats: Stats; ms: number; cpu: Cpu };
  floor: { stats: Stats; ms: number; cpu: Cpu };
  runbook: RunbookRun;
}
const rounds: Round[] = [];
for (let i = 1; i <= ROUNDS; i++) {
  const nv = await oneTransaction('naive');
  console.log(`round ${i} naive:   ${(nv.ms / 1000).toFixed(1)} s; workload ${fmt(nv.stats)}`);
  const fl = await oneTransaction('floor');
  console.log(`round ${i} floor:   ${(fl.ms / 1000).toFixed(1)} s; workload ${fmt(fl.stats)}`);
  const rbk = await runbook(BT);
  console.log(
    `round ${i} runbook: ${(rbk.ms / 1000).toFixed(1)} s; workload ${fmt(rbk.stats)}; throttle events ${firedText(rbk.fired)}; CPU server ${cpuText(rbk.cpu)} (floor ${cpuText(fl.cpu)}), runner ${seconds(rbk.cpu.runnerMs)}`,
  );
  rounds.push({ naive: nv, floor: fl, runbook: rbk });
}
baseParts.push(await baselineTxs(halfBaseline));
const base = pooled(baseParts);
console.log(`baseline: ${fmt(base)}`);
const load = loadavg();
await admin.end();
await server.stop();

const barsOf = (r: Round) => ({
  failed: r.runbook.stats.failed === 0,
  p99: r.runbook.stats.p99 <= 3 * base.p99,
  max: r.runbook.stats.max <= 50,
  time: !SCENARIO.timeBar || r.runbook.ms <= 1.5 * r.naive.ms,
});
const met = (r: Round) => Object.values(barsOf(r)).every(Boolean);
const mark = (ok: boolean) => (ok ? 'met' : '**not met**');
const every = (bar: keyof ReturnType<typeof barsOf>) => rounds.every((r) => barsOf(r)[bar]);
const worst = (f: (r: Round) => number) => Math.max(...rounds.map(f));
const verdict =
  `failed ${worst((r) => r.runbook.stats.failed)} at most (bar 0: ${mark(every('failed'))}); ` +
  `p99 at most ${ratio(
    worst((r) => r.runbook.stats.p99),
    base.p99,
  )} the baseline's (bar ≤ 3×: ${mark(every('p99'))}); ` +
  `max ${worst((r) => r.runbook.stats.max).toFixed(1)} ms at most (bar ≤ 50 ms: ${mark(every('max'))}); ` +
  `time at most ${worst((r) => r.runbook.ms / r.naive.ms).toFixed(2)}× the naive way's (${SCENARIO.timeBar ? `bar ≤ 1.5×: ${mark(every('time'))}` : 'no bar: the naive way holds ACCESS EXCLUSIVE for all of it'})`;
const last = rounds.at(-1)!;
console.log(last.runbook.steps.join('\n'));
// swap-table: each round's swap step split into its phases, the slow transactions (over the p99 bar's
// line, 3x the baseline p99) counted in the phase they overlapped most.
const slowMs = 3 * base.p99;
const phaseTable = (r: Round) => [...PHASE_HEADER, ...phaseRows(r.runbook.swap!.phases, r.runbook.swap!.txs, slowMs)].join('\n');
const worstRound = rounds.reduce((a, r) => (r.runbook.stats.p99 > a.runbook.stats.p99 ? r : a), rounds[0]!);
if (SCENARIO_NAME === 'swap-table')
  for (const [i, r] of rounds.entries())
    console.log(`\nround ${i + 1}: the swap step's phases (slow = over ${slowMs.toFixed(1)} ms)\n${phaseTable(r)}`);
console.log(`\nrunbook: ${verdict}; rounds meeting every bar: ${rounds.filter(met).length} of ${ROUNDS}`);
const row = (name: string, ms: number | null, s: Stats, cpu?: Cpu, vsNaive = '') =>
  `| ${name} | ${ms === null ? '–' : `${(ms / 1000).toFixed(1)} s`}${vsNaive} | ${s.tx} | ${s.p50.toFixed(1)} ms | ${s.p99.toFixed(1)} ms | ${s.max.toFixed(1)} ms | ${s.failed} | ${cpu ? cpuText(cpu) : '–'} | ${seconds(cpu?.runnerMs)} |`;
const roundRows = rounds.flatMap((r, i) => [
  row(`${i + 1}: naive (one transaction)`, r.naive.ms, r.naive.stats, r.naive.cpu),
  row(`${i + 1}: floor (that work on a copy nobody uses)`, r.floor.ms, r.floor.stats, r.floor.cpu),
  row(`${i + 1}: runbook`, r.runbook.ms, r.runbook.stats, r.runbook.cpu, ` (${ratio(r.runbook.ms, r.naive.ms)})`),
]);
const floorText = floorVerdict(rounds, base);
console.log(floorText);
const keyNote =
  KEY === 'random'
    ? `\`customer_id\` (indexed) is pseudo-random, \`hashint4(id) & 65535\`, as in a real orders table; \`--key periodic\`
(\`id % 50000\`) is the worst case for batched commits and has its own section below.`
    : `\`customer_id\` (indexed) is strictly periodic, \`id % 50000\`: the worst case for batched commits. Earlier batches leave
dead index entries exactly where later batches insert into \`orders_customer\`, so btree bottom-up deletion runs on
nearly every insert; the single UPDATE leaves that work to VACUUM instead.`;
const noisyMax = noisyBaseline(base, 3);
// A function: its phase table exists only in the swap-table scenario.
const swapIntro = () => `## Zero downtime under load: swap_table

\`npx tsx bench/zero-downtime.ts --scenario swap-table\`: \`runbooks/swap-table.yaml\` (\`accounts.id\` int → bigint: shadow
table, sync trigger, the copy through the backfill engine, verify, swap, FK re-pointed and validated) on a
${ROWS.toLocaleString('en-US')}-row \`accounts\` table referenced by a ${Math.round(ROWS / 5).toLocaleString('en-US')}-row \`invoices\` table, while pgbench runs ${RATE} tps with
${CLIENTS} clients (\`--rate ${RATE}\`; each transaction an UPDATE and a SELECT of \`accounts\` by random id, and a read of that
account's invoices), against a baseline (no change) and the naive way (one transaction: \`ALTER COLUMN id TYPE bigint\`,
\`ALTER SEQUENCE .. AS bigint\`), each on a fresh copy. There is no time bar here: the naive way is a rewrite under
ACCESS EXCLUSIVE, which the swap exists to avoid; its time is shown for scale.
${ROUNDS} rounds alternate the naive way and the runbook; the baseline runs ${halfBaseline} s before and ${halfBaseline} s after them, pooled.
Latency is per transaction from pgbench's log, counted from the scheduled start, over the time the change ran plus
${SETTLE_MS / 1000} s. The runbook runs through the real runner (deploy phase, non-interactive) with \`batch_time\` ${BT ?? `${RUNBOOK_BATCH_TIME} (its default)`}.
Embedded PostgreSQL ${values.major} with production durability. ${walWarmNote} Load average at the end: ${load.map((x) => x.toFixed(1)).join(' / ')}
(1/5/15 min) on this shared machine; the baseline row
shows what its noise costs.

| scenario | change took | workload tx | p50 | p99 | max | failed | server CPU | runner CPU |
|---|---|---|---|---|---|---|---|---|
${row('baseline (no change)', null, base)}
${roundRows.join('\n')}

Bars, every round: ${verdict}. Rounds meeting every bar: **${rounds.filter(met).length} of ${ROUNDS}**.${noisyMax}

${floorText}

The workload while each runbook step ran (last round):

| step | took | workload tx | p99 | max | tx over 50 ms | server CPU |
|---|---|---|---|---|---|---|
${last.runbook.steps.join('\n')}

The swap step split into its phases (round ${rounds.indexOf(worstRound) + 1}, the one with the highest p99), from the runner's events
(each statement's step.sql duration; the copy ends at its \`copied\` log line, verify at its checksum evidence). A
transaction is slow above ${slowMs.toFixed(1)} ms (3× the baseline p99); each slow one counts once, in the phase its span
(completion minus latency, to completion) overlapped most; the indented rows are parts of the swap transaction and count
every slow transaction overlapping them.

${phaseTable(worstRound)}`;
if (SCENARIO_NAME === 'swap-table') writeSection('zero-downtime-swap-table', swapIntro());
else
  writeSection(
    KEY === 'random' ? 'zero-downtime' : `zero-downtime-${KEY}`,
    `## Zero downtime under load${KEY === 'random' ? '' : ` (${KEY} customer_id)`}

\`npx tsx bench/zero-downtime.ts${KEY === 'random' ? '' : ` --key ${KEY}`}\`: \`runbooks/add-column-backfill.yaml\` (\`orders.amount_cents = (amount * 100)::bigint\`,
with the index) on a ${ROWS.toLocaleString('en-US')}-row \`orders\` table while pgbench runs ${RATE} tps with ${CLIENTS} clients
(\`--rate ${RATE}\`; each transaction an UPDATE and a SELECT by random id), against a baseline (no change) and the naive
way (one transaction: ADD COLUMN, UPDATE all, SET NOT NULL, CREATE INDEX), each on a fresh copy of the same table.
${keyNote}
${ROUNDS} rounds alternate the naive way and the runbook; the baseline runs ${halfBaseline} s before and ${halfBaseline} s after them, pooled.
Latency is per transaction from pgbench's log, counted from the scheduled start (time spent blocked shows), over
the time the change ran plus ${SETTLE_MS / 1000} s. The runbook runs through the real runner (deploy phase,
non-interactive, \`--yes\`) with ${BT ? `\`batch_time\` ${BT}` : `its defaults: \`batch_time\` ${RUNBOOK_BATCH_TIME} (a workload UPDATE that hits a row of the batch being written waits for that batch to commit) and \`index_workers\` 0 (the index build leaves the second core to the workload; the naive way builds with the server's 2 parallel workers)`}.
Embedded PostgreSQL ${values.major} with production durability (fsync, synchronous_commit, full_page_writes on). ${walWarmNote} Load average at the end:
${load.map((x) => x.toFixed(1)).join(' / ')} (1/5/15 min) on this shared machine; the baseline row shows what its noise costs.

| scenario | change took | workload tx | p50 | p99 | max | failed | server CPU | runner CPU |
|---|---|---|---|---|---|---|---|---|
${row('baseline (no change)', null, base)}
${roundRows.join('\n')}

Bars, every round: ${verdict}. Rounds meeting every bar: **${rounds.filter(met).length} of ${ROUNDS}**.${noisyMax}

${floorText}

The workload while each runbook step ran (last round):

| step | took | workload tx | p99 | max | tx over 50 ms | server CPU |
|---|---|---|---|---|---|---|
${last.runbook.steps.join('\n')}`,
  );
process.exit(rounds.every(met) ? 0 : 1);
