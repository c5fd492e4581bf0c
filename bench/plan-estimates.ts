// Plan estimates against real runs: for each table size, `plan` estimates every row-moving step
// (backfill, the validation scans of not_null / add_check / add_foreign_key, a create_index build,
// a swap_table copy), then the same deploy phase runs for real on the same database, and each
// step's real time is set against the estimate and its band. Estimates are size-based (a measured
// read rate times assumed work factors for scans and index builds; timed sample batches, run
// through the engine's tuner, for the backfill and the swap copy): the question is whether the
// bands hold, and where they are too wide or too narrow. The table and runbook are the test's
// (test/analyze/plan-estimates-fixture.ts), so test and bench measure the same thing.
// Usage: npx tsx bench/plan-estimates.ts [--sizes 100000,300000,1000000] [--major 17] [--no-readme]
// Bounded: one embedded server, one database per size, one plan and one deploy per size.
import pg from 'pg';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedServer, installedMajors } from '../src/pg/embedded-server.js';
import { STEP_KINDS } from '../src/cli/composition-root.js';
import { buildPlan } from '../src/analyze/plan/build.js';
import { fmtDuration } from '../src/analyze/plan/estimate.js';
import type { Estimate } from '../src/analyze/plan/plan-types.js';
import { loadRunbookFile } from '../src/runbook/load.js';
import { formatProblem, type Runbook } from '../src/runbook/model.js';
import { writeSection } from './lib/readme.js';
import { estimatesRunbook, runDeploy, seedOrders, workHigh } from '../test/analyze/plan-estimates-fixture.js';

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
const RUNBOOK = estimatesRunbook({ lockTimeoutSeconds: LOCK_TIMEOUT_S, ddlRetries: RETRIES });

async function seed(url: string, rows: number): Promise<void> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    await seedOrders(c, rows);
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
  /** The throttle rules that fired in the real run, with how often. */
  throttle: string;
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
  // The throttle's decisions in the real run, per step and rule: what the estimate's WAL pacing is set against.
  const throttled = new Map<string, Map<string, number>>();
  const real = await runDeploy(runbook, server.urlFor(db), (e) => {
    if (e.type !== 'step.throttle' || !e.reason) return;
    const m = throttled.get(e.stepId) ?? new Map<string, number>();
    throttled.set(e.stepId, m.set(e.reason, (m.get(e.reason) ?? 0) + 1));
  });
  const out = plan.steps.map((s) => ({
    rows,
    step: s.id,
    kind: s.kind,
    estimate: s.estimate,
    workHigh: workHigh(s, { lockTimeoutSeconds: LOCK_TIMEOUT_S, ddlRetries: RETRIES }),
    real: real.get(s.id) ?? Number.NaN,
    throttle: [...(throttled.get(s.id) ?? [])].map(([r, n]) => `${r} ×${n}`).join(', '),
  }));
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
    `\`npx tsx bench/plan-estimates.ts --sizes ${SIZES.join(',')}\`: for each size, \`plan\` on a fresh \`orders\` table (10,000 customers, an index on customer_id, VACUUM ANALYZE), then the same deploy phase run for real, one step after the other: a backfill of every row, not_null / add_check / add_foreign_key (each a VALIDATE scan), create_index CONCURRENTLY, and swap_table (numeric(12,2) → numeric(14,2): copy, verify, swap). PostgreSQL ${major}, embedded, nothing else running on the database. lock_timeout ${LOCK_TIMEOUT_S}s with ${RETRIES} retries: the plan's band allows ${LOCK_TIMEOUT_S * (RETRIES + 1)} s of lock wait per statement on top of the work; "work band" below is the band without that allowance, and "in band" is judged on it. The backfill's and the swap copy's estimates add the pacing of the throttle's WAL rules (wal_rate, checkpoint_pressure) from the WAL the sample batches wrote per key and the server's checkpoint distance; the last column counts the throttle's decisions in the real run. Load average ${la(load.before)} before and ${la(load.after)} after (1/5/15 min) on this shared machine.`,
    '',
    '| rows | step | kind | estimate (work band) | real | real / estimate | in work band | throttle in the real run |',
    '|---:|---|---|---|---:|---:|:-:|---|',
  ];
  for (const r of all) {
    const e = r.estimate;
    lines.push(
      `| ${r.rows.toLocaleString('en-US')} | ${r.step} | ${r.kind} | ${e ? `${fmtDuration(e.seconds)} (${fmtDuration(e.low)} – ${fmtDuration(r.workHigh)})` : 'none'} | ${fmtDuration(r.real)} | ${e ? (r.real / e.seconds).toFixed(2) : ''} | ${inBand(r) ? 'yes' : '**no**'} | ${r.throttle || '–'} |`,
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
    `Planning itself (read-rate samples, and rolled-back sample batches of the backfill and of the swap copy) took ${planMs.map((m) => fmtDuration(m / 1000)).join(', ')}.`,
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
          `  ${x.step.padEnd(5)} estimate ${x.estimate ? `${fmtDuration(x.estimate.seconds)} (${fmtDuration(x.estimate.low)} – ${fmtDuration(x.workHigh)})` : 'none'}, real ${fmtDuration(x.real)}, ${inBand(x) ? 'in band' : 'OUT of band'}${x.throttle ? `; throttle: ${x.throttle}` : ''}${/WAL: /.test(x.estimate?.basis ?? '') ? `\n        ${/WAL: [^;]*(;[^;]*){0,3}/.exec(x.estimate!.basis)![0]}` : ''}\n`,
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
