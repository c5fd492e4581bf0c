// Zero downtime: runbooks/add-column-backfill.yaml (orders.amount_cents = (amount*100)::bigint,
// with the index) on a 1M-row `orders` table while pgbench runs a fixed-rate workload
// (300 tps, 8 clients, an UPDATE and a SELECT by random id per transaction), compared in the same
// run with a baseline (no change) and the naive way (one transaction: ADD COLUMN, UPDATE all,
// SET NOT NULL, CREATE INDEX). Each scenario starts from a copy of the same template database.
// Latency comes from pgbench's per-transaction log (under --rate it counts from the scheduled
// start, so time spent blocked shows), over the window the change ran (baseline: the whole run).
// Bars (DESIGN §7): 0 failed, p99 <= 3x baseline p99, max <= 50 ms, time <= 1.5x naive.
//   npx tsx bench/zero-downtime.ts [--rows 1000000] [--major 17] [--baseline-seconds 20]
import pg from 'pg';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EmbeddedServer } from '../src/pg/embedded.js';
import { Runner } from '../src/engine/runner.js';
import { PolicyGates } from '../src/engine/gates.js';
import { resolveConnection } from '../src/pg/connection.js';
import { loadRunbookFile } from '../src/runbook/load.js';
import { formatProblem } from '../src/runbook/model.js';
import { backfillSchemaSql } from '../src/backfill/cursorStore.js';
import { ratio, writeSection } from './lib/readme.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    major: { type: 'string', default: '17' },
    'baseline-seconds': { type: 'string', default: '20' },
    rate: { type: 'string', default: '300' },
    clients: { type: 'string', default: '8' },
    'batch-time': { type: 'string', default: '100ms' },
  },
});
const ROWS = Number(values.rows);
const RATE = Number(values.rate);
const CLIENTS = Number(values.clients);
const RUNBOOK = fileURLToPath(new URL('../runbooks/add-column-backfill.yaml', import.meta.url));
const SETTLE_MS = 3000;

function pgbenchPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v pgbench'], { encoding: 'utf8' }).trim();
  } catch {
    console.error('pgbench is not installed: apt-get install postgresql-client (it ships pgbench)');
    process.exit(2);
  }
}
const PGBENCH = pgbenchPath();

const server = await EmbeddedServer.start({
  major: Number(values.major),
  settings: { fsync: 'on', synchronous_commit: 'on', shared_buffers: '512MB', max_wal_size: '8GB', checkpoint_timeout: '1h', maintenance_work_mem: '256MB' },
});
const admin = new pg.Client(server.url);
await admin.connect();

async function buildTemplate(): Promise<void> {
  await admin.query('DROP DATABASE IF EXISTS zd_template');
  await admin.query('CREATE DATABASE zd_template');
  const c = new pg.Client(server.urlFor('zd_template'));
  await c.connect();
  await c.query(`CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2) NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL)`);
  await c.query(`INSERT INTO orders SELECT g, g % 50000, (g % 100000) / 100.0 + 1, (ARRAY['new','paid','shipped'])[1 + g % 3],
                   timestamptz '2024-01-01' + g * interval '1 second' FROM generate_series(1, ${ROWS}) g`);
  await c.query('CREATE INDEX orders_customer ON orders (customer_id)');
  await c.query('VACUUM (FREEZE, ANALYZE) orders');
  // pgrunbook's state schema, with the backfill cursor table (see test/runbooks/seed.ts).
  await c.query(`CREATE SCHEMA pgrunbook; ${backfillSchemaSql}`);
  await c.end();
}

async function freshDb(name: string): Promise<string> {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name} TEMPLATE zd_template`);
  await admin.query('CHECKPOINT');
  return server.urlFor(name);
}

interface Load {
  child: ChildProcess;
  dir: string;
  stderr: string[];
  done: Promise<void>;
}

function startLoad(url: string, seconds: number): Load {
  const dir = mkdtempSync(join(tmpdir(), 'zd-pgbench-'));
  writeFileSync(
    join(dir, 'workload.sql'),
    `\\set id random(1, ${ROWS})\nUPDATE orders SET amount = amount + 0.01 WHERE id = :id;\nSELECT id, customer_id, amount, status FROM orders WHERE id = :id;\n`,
  );
  const u = new URL(url);
  const child = spawn(
    PGBENCH,
    ['-n', '-f', 'workload.sql', '-c', String(CLIENTS), '-j', '2', '-R', String(RATE), '-T', String(seconds), '-l', '--log-prefix=tx',
     '-h', u.hostname, '-p', u.port, '-U', decodeURIComponent(u.username), u.pathname.slice(1)],
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
  const lat = txs.filter((t) => !Number.isNaN(t.ms)).map((t) => t.ms).sort((a, b) => a - b);
  const failed = txs.length - lat.length;
  const pct = (q: number) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(q * lat.length))]! : NaN);
  const aborted = l.stderr.join('').split('\n').filter((s) => /aborted/.test(s)).length;
  return { tx: lat.length, failed: failed + aborted, aborted, p50: pct(0.5), p99: pct(0.99), max: lat.at(-1) ?? NaN, tps: lat.length / ((toMs - fromMs) / 1000) };
}

/** Per runbook step: how long it ran, and the workload's p99 / max / count over 50 ms meanwhile. */
function perStep(l: Load, steps: { id: string; from: number; to: number }[]): string[] {
  const txs = transactions(l);
  return steps.map((s) => {
    const lat = txs.filter((t) => t.at >= s.from && t.at <= s.to && !Number.isNaN(t.ms)).map((t) => t.ms).sort((a, b) => a - b);
    const p99 = lat.length ? lat[Math.min(lat.length - 1, Math.floor(0.99 * lat.length))]! : NaN;
    return `| ${s.id} | ${((s.to - s.from) / 1000).toFixed(1)} s | ${lat.length} | ${p99.toFixed(1)} ms | ${(lat.at(-1) ?? NaN).toFixed(1)} ms | ${lat.filter((x) => x > 50).length} |`;
  });
}

async function baseline(): Promise<Stats> {
  const url = await freshDb('zd_baseline');
  const seconds = Number(values['baseline-seconds']);
  const l = startLoad(url, seconds);
  const t0 = Date.now();
  await l.done;
  const s = stats(l, t0 + 1000, Date.now());
  rmSync(l.dir, { recursive: true, force: true });
  return s;
}

async function naive(): Promise<{ stats: Stats; ms: number }> {
  const url = await freshDb('zd_naive');
  const l = startLoad(url, 900);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const c = new pg.Client(url);
  await c.connect();
  const t0 = Date.now();
  await c.query(`BEGIN;
    ALTER TABLE orders ADD COLUMN amount_cents bigint;
    UPDATE orders SET amount_cents = (amount * 100)::bigint;
    ALTER TABLE orders ALTER COLUMN amount_cents SET NOT NULL;
    CREATE INDEX orders_amount_cents_idx ON orders (amount_cents);
    COMMIT`);
  const t1 = Date.now();
  await c.end();
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  await stopLoad(l);
  const s = stats(l, t0, t1 + SETTLE_MS);
  rmSync(l.dir, { recursive: true, force: true });
  return { stats: s, ms: t1 - t0 };
}

async function runbook(batchTime: string): Promise<{ stats: Stats; ms: number; steps: string[] }> {
  const url = await freshDb('zd_runbook');
  const vars = { table: 'orders', column: 'amount_cents', type: 'bigint', expression: '(amount * 100)::bigint', index: 'true', batch_time: batchTime };
  const { runbook: rb, problems } = await loadRunbookFile(RUNBOOK, { vars });
  if (!rb) throw new Error(problems.map(formatProblem).join('\n'));
  const l = startLoad(url, 900);
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const runner = new Runner({
    runbook: rb,
    connection: resolveConnection(url),
    gates: new PolicyGates({ yes: true, allowIrreversible: true, user: 'bench' }),
    nonInteractive: true,
    phases: ['deploy'],
    journalDir: null,
  });
  const steps: { id: string; from: number; to: number }[] = [];
  runner.bus.on((e) => {
    if (e.type === 'step.started') steps.push({ id: e.stepId, from: Date.parse(e.at), to: NaN });
    if (e.type === 'step.completed' || e.type === 'step.failed') {
      const s = steps.find((x) => x.id === e.stepId && Number.isNaN(x.to));
      if (s) s.to = Date.parse(e.at);
    }
  });
  const t0 = Date.now();
  const outcome = await runner.run();
  const t1 = Date.now();
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  await stopLoad(l);
  if (outcome.status !== 'completed') throw new Error(`runbook ${outcome.status}: ${outcome.error?.message}`);
  const check = new pg.Client(url);
  await check.connect();
  const bad = await check.query(`SELECT count(*)::int AS n FROM orders WHERE amount_cents IS NULL`);
  const idx = await check.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('orders_amount_cents_idx')`);
  await check.end();
  if (bad.rows[0].n !== 0 || idx.rows[0]?.indisvalid !== true) throw new Error('the runbook did not leave amount_cents filled and indexed');
  const s = stats(l, t0, t1 + SETTLE_MS);
  const byStep = perStep(l, steps);
  rmSync(l.dir, { recursive: true, force: true });
  return { stats: s, ms: t1 - t0, steps: byStep };
}

const fmt = (s: Stats) => `${s.tx} tx, ${s.tps.toFixed(0)} tps, p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms, max ${s.max.toFixed(1)} ms, failed ${s.failed}`;

console.log(`building a ${ROWS.toLocaleString('en-US')}-row template...`);
await buildTemplate();
const base = await baseline();
console.log(`baseline: ${fmt(base)}`);
const nv = await naive();
console.log(`naive:    ${(nv.ms / 1000).toFixed(1)} s; workload ${fmt(nv.stats)}`);
const BT = values['batch-time']!;
const rbk = await runbook(BT);
console.log(`runbook:  ${(rbk.ms / 1000).toFixed(1)} s; workload ${fmt(rbk.stats)}`);
const load = loadavg();
await admin.end();
await server.stop();

const barsOf = (r: { stats: Stats; ms: number }) => ({
  failed: r.stats.failed === 0,
  p99: r.stats.p99 <= 3 * base.p99,
  max: r.stats.max <= 50,
  time: r.ms <= 1.5 * nv.ms,
});
const mark = (ok: boolean) => (ok ? 'met' : '**not met**');
const verdict = (r: { stats: Stats; ms: number }) => {
  const b = barsOf(r);
  return `failed ${r.stats.failed} (bar 0: ${mark(b.failed)}); p99 ${ratio(r.stats.p99, base.p99)} the baseline's (bar ≤ 3×: ${mark(b.p99)}); ` +
    `max ${r.stats.max.toFixed(1)} ms (bar ≤ 50 ms: ${mark(b.max)}); time ${ratio(r.ms, nv.ms)} the naive way's (bar ≤ 1.5×: ${mark(b.time)})`;
};
console.log(rbk.steps.join('\n'));
console.log(`\nrunbook: ${verdict(rbk)}`);
const row = (name: string, ms: number | null, s: Stats) =>
  `| ${name} | ${ms === null ? '–' : `${(ms / 1000).toFixed(1)} s`} | ${s.tx} | ${s.p50.toFixed(1)} ms | ${s.p99.toFixed(1)} ms | ${s.max.toFixed(1)} ms | ${s.failed} |`;
writeSection(
  'zero-downtime',
  `## Zero downtime under load

\`npx tsx bench/zero-downtime.ts\`: \`runbooks/add-column-backfill.yaml\` (\`orders.amount_cents = (amount * 100)::bigint\`,
with the index) on a ${ROWS.toLocaleString('en-US')}-row \`orders\` table while pgbench runs ${RATE} tps with ${CLIENTS} clients
(\`--rate ${RATE}\`; each transaction an UPDATE and a SELECT by random id), against a baseline (no change) and the naive
way (one transaction: ADD COLUMN, UPDATE all, SET NOT NULL, CREATE INDEX), each on a fresh copy of the same table.
Latency is per transaction from pgbench's log, counted from the scheduled start (time spent blocked shows), over
the time the change ran plus ${SETTLE_MS / 1000} s (baseline: the whole run). The runbook runs through the real runner
(deploy phase, non-interactive, \`--yes\`) with \`batch_time\` ${BT} (the runbook's default is 100ms; a workload
UPDATE that hits a row of the batch being written waits for that batch to commit). Embedded PostgreSQL ${values.major}, fsync on. Load average during the run:
${load.map((x) => x.toFixed(1)).join(' / ')} (1/5/15 min) on this shared machine; the baseline row shows what that noise costs.

| scenario | change took | workload tx | p50 | p99 | max | failed |
|---|---|---|---|---|---|---|
${row('baseline (no change)', null, base)}
${row('naive (one transaction)', nv.ms, nv.stats)}
${row('runbook', rbk.ms, rbk.stats)}

Bars: ${verdict(rbk)}.

The workload while each runbook step ran:

| step | took | workload tx | p99 | max | tx over 50 ms |
|---|---|---|---|---|---|
${rbk.steps.join('\n')}`,
);
process.exit(Object.values(barsOf(rbk)).every(Boolean) ? 0 : 1);
