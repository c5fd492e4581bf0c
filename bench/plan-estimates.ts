// Plan estimates against real runs: for each table size, `plan` estimates every row-moving step
// (backfill, the validation scans of not_null / add_check / add_foreign_key, a create_index build,
// a swap_table copy), then the same deploy phase runs for real on the same database, and each
// step's real time is set against the estimate and its band. Estimates are size-based (a measured
// read rate times assumed work factors; one real backfill batch): the question is whether the
// bands hold, and where they are too wide or too narrow.
// Usage: npx tsx bench/plan-estimates.ts [--sizes 100000,300000,1000000] [--major 17] [--no-readme]
// Bounded: one embedded server, one database per size, one plan and one deploy per size.
import pg from 'pg';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedServer, installedMajors } from '../src/pg/embedded-server.js';
import { newRunner, STEP_KINDS } from '../src/cli/composition-root.js';
import { buildPlan } from '../src/analyze/plan/build.js';
import { fmtDuration } from '../src/analyze/plan/estimate.js';
import type { Estimate } from '../src/analyze/plan/plan-types.js';
import { PolicyGates } from '../src/engine/gates.js';
import { resolveConnection } from '../src/pg/connection.js';
import { loadRunbookFile } from '../src/runbook/load.js';
import { formatProblem, type Runbook } from '../src/runbook/model.js';
import { writeSection } from './lib/readme.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,300000,1000000' },
    major: { type: 'string' },
    'no-readme': { type: 'boolean', default: false },
  },
});
const SIZES = values.sizes!.split(',').map((s) => Number(s.trim()));

// lock_timeout 2s (above deadlock_timeout, so an autovacuum in the way is cancelled) and 2 retries.
// The band's high end allows lock_timeout × (retries + 1) of lock wait per statement; the bench
// takes that allowance out and judges the real time against the band of the work alone.
const LOCK_TIMEOUT_S = 2;
const RETRIES = 2;
const RUNBOOK = `version: 1
name: plan-estimates bench
settings:
  lock_timeout: ${LOCK_TIMEOUT_S}s
  ddl_retries: ${RETRIES}
phases:
  deploy:
    - id: fill
      backfill: { table: orders, set: "note = 'n' || id", where: "note IS NULL" }
    - id: nn
      not_null: { table: orders, column: amount }
    - id: chk
      add_check: { table: orders, name: orders_amount_nonneg, expression: "amount >= 0" }
    - id: fk
      add_foreign_key: { table: orders, columns: [customer_id], references: { table: customers, columns: [id] } }
    - id: idx
      create_index: { table: orders, columns: [status] }
    - id: swap
      swap_table: { table: orders, columns: [{ name: amount, type: "numeric(14,2)" }] }
`;

async function seed(url: string, rows: number): Promise<void> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    await c.query(`
      create table customers (id int primary key, name text not null);
      insert into customers select g, 'c' || g from generate_series(1, 10000) g;
      create table orders (id bigint primary key, customer_id int not null, amount numeric(12,2),
                           status text not null, note text, created_at timestamptz not null default now());
      insert into orders select g, 1 + g % 10000, (g % 100000) / 100.0, (array['new','paid','shipped'])[1 + g % 3], null, now()
        from generate_series(1, ${rows}) g;
      create index orders_customer_idx on orders (customer_id);`);
    await c.query('vacuum analyze customers');
    await c.query('vacuum analyze orders');
  } finally {
    await c.end();
  }
}

async function recreate(server: EmbeddedServer, db: string): Promise<void> {
  const admin = new pg.Client(server.url);
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${db} with (force)`);
    await admin.query(`create database ${db}`);
  } finally {
    await admin.end();
  }
}

interface Row {
  rows: number;
  step: string;
  kind: string;
  estimate: Estimate | undefined;
  /** The band's high end without its lock-wait allowance. */
  workHigh: number;
  real: number;
}

async function planThenRun(server: EmbeddedServer, runbook: Runbook, rows: number): Promise<{ out: Row[]; planMs: number }> {
  const db = `est_${rows}`;
  await recreate(server, db);
  await seed(server.urlFor(db), rows);
  const pool = new pg.Pool({ connectionString: server.urlFor(db), max: 3 });
  const t0 = performance.now();
  let plan;
  try {
    plan = await buildPlan({ runbook, kinds: STEP_KINDS, pool, phases: ['deploy'] });
  } finally {
    await pool.end();
  }
  const planMs = performance.now() - t0;
  const runner = newRunner({
    runbook,
    connection: resolveConnection(server.urlFor(db)),
    gates: new PolicyGates({ yes: true, allowIrreversible: true, user: 'bench' }),
    nonInteractive: true,
    phases: ['deploy'],
    journalDir: null,
  });
  const real = new Map<string, number>();
  runner.bus.on((e) => {
    if (e.type === 'step.completed') real.set(e.stepId, e.durationMs / 1000);
  });
  const outcome = await runner.run();
  if (outcome.status !== 'completed') throw new Error(`the deploy on ${rows} rows ${outcome.status}: ${outcome.error?.message}`);
  const wait = LOCK_TIMEOUT_S * (RETRIES + 1);
  const out = plan.steps.map((s) => {
    const waits = s.kind === 'backfill' ? 0 : s.statements.filter((st) => st.estimate).length * wait; // a backfill is timed, not summed
    const workHigh = s.estimate ? Math.max(s.estimate.seconds, s.estimate.high - waits) : Number.NaN;
    return { rows, step: s.id, kind: s.kind, estimate: s.estimate, workHigh, real: real.get(s.id) ?? Number.NaN };
  });
  return { out, planMs };
}

const inBand = (r: Row) => !!r.estimate && r.real >= r.estimate.low && r.real <= r.workHigh;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function report(all: Row[], planMs: number[], major: number, load: { before: number[]; after: number[] }): string {
  const la = (l: number[]) => l.map((x) => x.toFixed(1)).join(' / ');
  const lines = [
    '## Plan estimates (`bench/plan-estimates.ts`)',
    '',
    `\`npx tsx bench/plan-estimates.ts --sizes ${SIZES.join(',')}\`: for each size, \`plan\` on a fresh \`orders\` table (10,000 customers, an index on customer_id, VACUUM ANALYZE), then the same deploy phase run for real, one step after the other: a backfill of every row, not_null / add_check / add_foreign_key (each a VALIDATE scan), create_index CONCURRENTLY, and swap_table (numeric(12,2) → numeric(14,2): copy, verify, swap). PostgreSQL ${major}, embedded, nothing else running on the database. lock_timeout ${LOCK_TIMEOUT_S}s with ${RETRIES} retries: the plan's band allows ${LOCK_TIMEOUT_S * (RETRIES + 1)} s of lock wait per statement on top of the work; "work band" below is the band without that allowance, and "in band" is judged on it. Load average ${la(load.before)} before and ${la(load.after)} after (1/5/15 min) on this shared machine.`,
    '',
    '| rows | step | kind | estimate (work band) | real | real / estimate | in work band |',
    '|---:|---|---|---|---:|---:|:-:|',
  ];
  for (const r of all) {
    const e = r.estimate;
    lines.push(
      `| ${r.rows.toLocaleString('en-US')} | ${r.step} | ${r.kind} | ${e ? `${fmtDuration(e.seconds)} (${fmtDuration(e.low)} – ${fmtDuration(r.workHigh)})` : 'none'} | ${fmtDuration(r.real)} | ${e ? (r.real / e.seconds).toFixed(2) : ''} | ${inBand(r) ? 'yes' : '**no**'} |`,
    );
  }
  const held = all.filter(inBand).length;
  lines.push(
    '',
    `The real time fell inside the band in **${held} of ${all.length}** steps. By kind (real / estimate, median over the sizes; band held):`,
    '',
  );
  for (const kind of [...new Set(all.map((r) => r.kind))]) {
    const rs = all.filter((r) => r.kind === kind && r.estimate);
    lines.push(`- ${kind}: ${median(rs.map((r) => r.real / r.estimate!.seconds)).toFixed(2)}; ${rs.filter(inBand).length} of ${rs.length}`);
  }
  lines.push(
    '',
    `Planning itself (read-rate samples and one rolled-back backfill batch) took ${planMs.map((m) => fmtDuration(m / 1000)).join(', ')}.`,
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  const major = values.major ? Number(values.major) : installedMajors().sort((a, b) => b - a)[0]!;
  const file = join(mkdtempSync(join(tmpdir(), 'pgrunbook-bench-estimates-')), 'kinds.yaml');
  writeFileSync(file, RUNBOOK);
  const loaded = await loadRunbookFile(file, { kinds: STEP_KINDS });
  if (!loaded.runbook) throw new Error(loaded.problems.map(formatProblem).join('\n'));
  const before = loadavg();
  const server = await EmbeddedServer.start({ major });
  const all: Row[] = [];
  const planMs: number[] = [];
  try {
    for (const rows of SIZES) {
      process.stdout.write(`${rows.toLocaleString('en-US')} rows: plan, then run...\n`);
      const r = await planThenRun(server, loaded.runbook, rows);
      for (const x of r.out)
        process.stdout.write(
          `  ${x.step.padEnd(5)} estimate ${x.estimate ? `${fmtDuration(x.estimate.seconds)} (${fmtDuration(x.estimate.low)} – ${fmtDuration(x.workHigh)})` : 'none'}, real ${fmtDuration(x.real)}, ${inBand(x) ? 'in band' : 'OUT of band'}\n`,
        );
      all.push(...r.out);
      planMs.push(r.planMs);
    }
  } finally {
    await server.stop();
  }
  const text = report(all, planMs, major, { before, after: loadavg() });
  process.stdout.write(`\n${text}\n`);
  if (!values['no-readme']) writeSection('plan-estimates', text);
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
