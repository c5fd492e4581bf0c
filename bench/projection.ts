// Projection bar (DESIGN §7): the deploy time `rehearse` projects from a 10% sample of a 1M-row
// table must land within ±30% of the real deploy on the full table, measured in the same run on
// the same machine. Each trial re-seeds the full table, rehearses and runs the real deploy, so the
// two are minutes apart at most; on a shared machine their speeds still differ, hence --trials.
// Usage: npx tsx bench/projection.ts [--trials 3] [--rows 1000000] [--sample 10] [--runbook FILE]
//          [--sample-method auto|slices|tablesample] [--orders-key SQL]  (customer_id of row g; default 1 + (g % 10000))
// Bounded: one server, one 1M-row source, per trial one rehearsal and one real deploy (about a
// minute per trial on 2 cores).
import pg from 'pg';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { EmbeddedServer, installedMajors } from '../src/pg/embedded-server.js';
import { findPgDump } from '../src/rehearsal/pgdump.js';
import { newRunner, rehearse, STEP_KINDS } from '../src/cli/composition-root.js';
import { steadyRate } from '../src/rehearsal/projection.js';
import type { RehearsalResult } from '../src/rehearsal/rehearsal-types.js';
import type { SampleChoice } from '../src/rehearsal/clone.js';
import { PolicyGates } from '../src/engine/gates.js';
import { resolveConnection } from '../src/pg/connection.js';
import { loadRunbookFile } from '../src/runbook/load.js';
import { formatProblem, type Runbook } from '../src/runbook/model.js';
import { writeSection } from './lib/readme.js';

// The backfill's cursor tables join the runner's state schema through this hook (a no-op when
// src/backfill already registers them).

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    sample: { type: 'string', default: '10' },
    trials: { type: 'string', default: '3' },
    runbook: { type: 'string', default: 'runbooks/add-column-backfill.yaml' },
    'sample-method': { type: 'string', default: 'auto' },
    'orders-key': { type: 'string', default: '1 + (g % 10000)' },
    'no-readme': { type: 'boolean', default: false },
  },
});
const ROWS = Number(values.rows);
const SAMPLE = Number(values.sample);
const TRIALS = Math.max(1, Number(values.trials));
const METHOD = values['sample-method'] as SampleChoice;

async function seed(url: string): Promise<void> {
  const c = new pg.Client(url);
  c.on('error', () => {});
  await c.connect();
  await c.query(`
    create table customers (id bigserial primary key, name text not null);
    insert into customers (name) select 'c' || g from generate_series(1, 10000) g;
    create table orders (id bigserial primary key, customer_id bigint not null references customers(id),
                         amount numeric(10,2) not null, status text not null default 'new', created_at timestamptz not null default now());
    insert into orders (customer_id, amount, status)
      select ${values['orders-key']}, (g % 100000) / 100.0, (array['new','paid','shipped'])[1 + g % 3] from generate_series(1, ${ROWS}) g;
    create index orders_customer_idx on orders (customer_id);`);
  await c.query('vacuum analyze customers');
  await c.query('vacuum analyze orders');
  await c.end();
}

/** Autovacuums of orders so far (the table is new each trial); statistics reach the view within a second. */
async function autovacuums(url: string): Promise<number> {
  await new Promise((r) => setTimeout(r, 1000));
  const c = new pg.Client(url);
  await c.connect();
  try {
    return Number(
      (await c.query<{ n: string }>(`select autovacuum_count::text as n from pg_stat_user_tables where relname = 'orders'`)).rows[0]?.n ??
        0,
    );
  } finally {
    await c.end();
  }
}

async function perCustomer(url: string): Promise<string> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    const r = await c.query<{ n: string }>(`select round(count(*)::numeric / count(distinct customer_id))::text as n from orders`);
    return `~${r.rows[0]!.n}`;
  } finally {
    await c.end();
  }
}

async function recreate(server: EmbeddedServer, db: string): Promise<void> {
  const admin = new pg.Client(server.url);
  admin.on('error', () => {});
  await admin.connect();
  await admin.query(`drop database if exists ${db}`);
  await admin.query(`create database ${db}`);
  await admin.end();
}

interface Trial {
  r: RehearsalResult;
  real: Map<string, number>;
  realTotal: number;
  realRowsPerS: number | null;
  /** Autovacuum runs on orders during the real deploy (pg_stat_user_tables). */
  realAutovacuums: number;
  throttles: string[];
  wall: number;
}

async function trial(server: EmbeddedServer, runbook: Runbook): Promise<Trial> {
  await recreate(server, 'fullrun');
  await seed(server.urlFor('fullrun'));
  const t0 = Date.now();
  const r = await rehearse({ runbook, sourceUrl: server.urlFor('source'), samplePct: SAMPLE, sampleMethod: METHOD });
  const wall = (Date.now() - t0) / 1000;
  if (r.deploy.status !== 'completed') throw new Error(`the rehearsal's deploy ${r.deploy.status}: ${r.deploy.error}`);
  const runner = newRunner({
    runbook,
    connection: resolveConnection(server.urlFor('fullrun')),
    gates: new PolicyGates({ yes: true, allowIrreversible: true, user: 'bench' }),
    nonInteractive: true,
    phases: ['deploy'],
    journalDir: null,
  });
  const real = new Map<string, number>();
  const throttles: string[] = [];
  const progress: { atMs: number; rows: number }[] = [];
  let started = 0;
  runner.bus.on((e) => {
    if (e.type === 'step.started' && e.stepId === 'backfill') started = Date.parse(e.at);
    if (e.type === 'step.progress' && e.stepId === 'backfill' && e.progress.kind === 'backfill')
      progress.push({ atMs: Date.parse(e.at) - started, rows: e.progress.rowsDone });
    if (e.type === 'step.completed') real.set(e.stepId, e.durationMs / 1000);
    if (e.type === 'step.throttle' && e.reason) throttles.push(e.reason);
  });
  const outcome = await runner.run();
  if (outcome.status !== 'completed') throw new Error(`the real deploy ${outcome.status}: ${outcome.error?.message}`);
  const rate = steadyRate(progress, (real.get('backfill') ?? 0) * 1000);
  return {
    r,
    real,
    realTotal: [...real.values()].reduce((a, b) => a + b, 0),
    realRowsPerS: rate ? rate.rowsPerMs * 1000 : null,
    realAutovacuums: await autovacuums(server.urlFor('fullrun')),
    throttles,
    wall,
  };
}

function sampleDesc(t: { method: string; slices?: { count: number; index: string } } | undefined): string {
  if (!t) return 'no sample';
  if (t.method === 'key-groups') return `${t.slices?.count} range(s) of whole key groups of ${t.slices?.index}`;
  if (t.method === 'slices') return `${t.slices?.count} slice(s) of ${t.slices?.index}`;
  return `TABLESAMPLE ${t.method.toUpperCase()}`;
}

const count = (xs: string[]) =>
  Object.entries(xs.reduce<Record<string, number>>((a, x) => ({ ...a, [x]: (a[x] ?? 0) + 1 }), {}))
    .map(([k, v]) => `${k} ×${v}`)
    .join(', ') || 'none';
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)}%`;

async function main(): Promise<void> {
  const dump = await findPgDump(0);
  const major = installedMajors()
    .filter((m) => m <= dump.major)
    .sort((a, b) => b - a)[0];
  if (major === undefined) throw new Error(`no embedded PostgreSQL at or below pg_dump ${dump.major}`);
  const loaded = await loadRunbookFile(values.runbook!, { kinds: STEP_KINDS });
  if (!loaded.runbook) throw new Error(loaded.problems.map(formatProblem).join('\n'));
  const runbook = loaded.runbook;
  const server = await EmbeddedServer.start({ major });
  try {
    await recreate(server, 'source');
    process.stdout.write(`seeding ${ROWS.toLocaleString('en-US')} rows on PostgreSQL ${major}...\n`);
    await seed(server.urlFor('source'));
    const rowsPerCustomer = await perCustomer(server.urlFor('source'));
    const loadBefore = loadavg();
    const trials = await runTrials(server, runbook);
    const { md, pass } = report({ trials, major, rowsPerCustomer, loadBefore, loadAfter: loadavg() });
    process.stdout.write(`\n${md}\n`);
    if (!values['no-readme']) writeSection('projection', md);
    if (!pass) process.exitCode = 1;
  } finally {
    await server.stop();
  }
}

/** TRIALS times: re-seed, rehearse on the sample, run the real deploy. */
async function runTrials(server: EmbeddedServer, runbook: Runbook): Promise<Trial[]> {
  const trials: Trial[] = [];
  for (let i = 0; i < TRIALS; i++) {
    process.stdout.write(
      `trial ${i + 1}/${TRIALS}: re-seeding the full table, rehearsing on a ${SAMPLE}% sample, running the real deploy...\n`,
    );
    const t = await trial(server, runbook);
    trials.push(t);
    const p = t.r.projection;
    process.stdout.write(
      `  projected ${p.total_seconds.toFixed(2)} s (${p.low_seconds?.toFixed(2)}–${p.high_seconds?.toFixed(2)}), real ${t.realTotal.toFixed(2)} s, projected/real ${(p.total_seconds / t.realTotal).toFixed(2)}\n`,
    );
  }
  return trials;
}

/** One table row per trial: projected, band, real, ratio, in band, both backfill rates, autovacuum. */
function perTrialRows(trials: Trial[]): string[] {
  return trials.map((t, i) => {
    const p = t.r.projection;
    const fill = t.r.deploy.steps.find((s) => s.stepId === 'backfill');
    const sr = fill?.progress ? steadyRate(fill.progress, fill.durationMs) : null;
    return `| ${i + 1} | ${p.total_seconds.toFixed(2)} | ${p.low_seconds?.toFixed(2)}–${p.high_seconds?.toFixed(2)} | ${t.realTotal.toFixed(2)} | **${(p.total_seconds / t.realTotal).toFixed(2)}** (${pct(p.total_seconds / t.realTotal - 1)}) | ${t.realTotal >= (p.low_seconds ?? 0) && t.realTotal <= (p.high_seconds ?? Infinity) ? 'yes' : 'no'} | ${sr ? Math.round(sr.rowsPerMs * 1000).toLocaleString('en-US') : 'n/a'} | ${t.realRowsPerS ? Math.round(t.realRowsPerS).toLocaleString('en-US') : 'n/a'} | ${t.realAutovacuums ? 'yes' : 'no'} |`;
  });
}

interface ReportInput {
  trials: Trial[];
  major: number;
  rowsPerCustomer: string;
  loadBefore: number[];
  loadAfter: number[];
}

/** The README section: every trial, then the last one step by step; pass when every trial is within ±30%. */
function report({ trials, major, rowsPerCustomer, loadBefore, loadAfter }: ReportInput): { md: string; pass: boolean } {
  const last = trials[trials.length - 1]!;
  const r = last.r;
  const orders = r.clone?.tables.find((t) => t.table === 'orders');
  const sampleFill = r.deploy.steps.find((s) => s.stepId === 'backfill');
  const sampleRate = sampleFill?.progress ? steadyRate(sampleFill.progress, sampleFill.durationMs) : null;
  const rows = r.projection.steps.map((s) => {
    const sample = r.steps.find((x) => x.stepId === s.id)!;
    const rl = last.real.get(s.id) ?? 0;
    return `| ${s.id} | ${s.basis} | ${sample.sampleSeconds.toFixed(3)} | ${s.seconds.toFixed(2)} (${s.low_seconds.toFixed(2)}–${s.high_seconds.toFixed(2)}) | ${rl.toFixed(2)} | ${rl > 0 ? (s.seconds / rl).toFixed(2) : 'n/a'} |`;
  });
  const ratios = trials.map((t) => t.r.projection.total_seconds / t.realTotal);
  const within = ratios.filter((x) => Math.abs(x - 1) <= 0.3).length;
  const inBand = trials.filter(
    (t) => t.realTotal >= (t.r.projection.low_seconds ?? 0) && t.realTotal <= (t.r.projection.high_seconds ?? Infinity),
  ).length;
  const sorted = [...ratios].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const perTrial = perTrialRows(trials);
  const notes = r.warnings.filter((w) => w.startsWith('projection: ')).map((w) => `- ${w.slice('projection: '.length)}`);
  const sampleThrottles = r.deploy.steps.flatMap((s) => s.throttles.map((t) => t.reason).filter((x): x is string => !!x));
  const pass = within === trials.length;
  const md = [
    '## Projection (rehearse)',
    '',
    `\`npx tsx bench/projection.ts --trials ${TRIALS}${METHOD !== 'auto' ? ` --sample-method ${METHOD}` : ''}\`: \`${values.runbook}\` rehearsed on a ${SAMPLE}% sample (${orders?.sampleRows.toLocaleString('en-US')} of ${ROWS.toLocaleString('en-US')} rows, ${sampleDesc(orders)}) in an embedded sandbox, ` +
      `projected to the full table, then the same deploy phase run for real on a freshly seeded full table (same machine, PostgreSQL ${major}). Each trial repeats all of it. ` +
      `orders.customer_id of row g is \`${values['orders-key']}\` (${rowsPerCustomer} orders per customer, indexed). ` +
      `Load average ${loadBefore.map((x) => x.toFixed(1)).join(' / ')} before and ${loadAfter.map((x) => x.toFixed(1)).join(' / ')} after (1/5/15 min) on this shared machine.`,
    '',
    '| trial | projected s | band s | real s | projected / real | real in band | sample backfill rows/s | real backfill rows/s | autovacuum during the real run |',
    '|---:|---:|---:|---:|---:|:-:|---:|---:|:-:|',
    ...perTrial,
    '',
    `Bar: projected within ±30% of the real run in every trial → **${pass ? 'PASS' : 'FAIL'}** (within in ${within} of ${trials.length}; projected/real median ${median.toFixed(2)}, range ${sorted[0]!.toFixed(2)}–${sorted[sorted.length - 1]!.toFixed(2)}); ` +
      `the real run fell inside the stated band in ${inBand} of ${trials.length}.`,
    '',
    `Last trial, per step (sample backfill steady rate ${sampleRate ? Math.round(sampleRate.rowsPerMs * 1000).toLocaleString('en-US') : 'n/a'} rows/s, standard error ${sampleRate ? pct(sampleRate.stderr).replace('+', '±') : 'n/a'}):`,
    '',
    '| step | basis | sample s | projected s (band) | real s | projected / real |',
    '|---|---|---:|---:|---:|---:|',
    ...rows,
    `| **total** | | ${r.steps.reduce((a, s) => a + s.sampleSeconds, 0).toFixed(3)} | **${r.projection.total_seconds.toFixed(2)}** (${r.projection.low_seconds?.toFixed(2)}–${r.projection.high_seconds?.toFixed(2)}) | **${last.realTotal.toFixed(2)}** | **${(r.projection.total_seconds / last.realTotal).toFixed(2)}** |`,
    '',
    `The rehearsal took ${last.wall.toFixed(1)} s (sandbox start, clone, deploy, rollback, checks); rollback ${r.rollbackVerified ? 'verified' : 'NOT verified'}. ` +
      `Throttle events: sample ${count(sampleThrottles)}; real run ${count(last.throttles)}.`,
    ...(notes.length ? ['', 'What the rehearsal said about its own projection:', '', ...notes] : []),
    '',
    'Reading it: the backfill’s per-row cost is dominated by keeping orders_customer_idx in order (btree bottom-up deletion of the old row versions’ entries), which depends on ' +
      'how many rows each key has and which keys share a leaf page. The default sample takes whole customers in contiguous ranges of customer_id, so the sample’s index has the ' +
      'source’s leaf pages; a block sample (`--sample-method tablesample`, run it to compare) keeps every customer with a tenth of their orders, and its backfill runs faster per row than the source’s. The band’s sides are ' +
      'the rate’s spread plus allowances for table size and the repeated-key index, whose lower side also covers autovacuum vacuuming orders during the real backfill: ' +
      'when it does (last column), it removes the old versions’ index entries itself and the real run takes about a fifth less. The sample’s backfill lasts about a second, ' +
      'too short for autovacuum, and on a shared 2-core box it and the real run can also get different shares of the CPU.',
  ].join('\n');
  return { md, pass };
}

await main();
