// Projection bar (DESIGN §7): the deploy time `rehearse` projects from a 10% sample of a 1M-row
// table must land within ±30% of the real deploy on the full table, measured in the same run on
// the same machine. Usage: npx tsx bench/projection.ts [--rows 1000000] [--sample 10] [--runbook FILE]
// Bounded: one 1M-row table, one rehearsal, one real deploy (a few minutes at most on 2 cores).
import pg from 'pg';
import { parseArgs } from 'node:util';
import { EmbeddedServer, installedMajors } from '../src/pg/embedded.js';
import { findPgDump } from '../src/rehearsal/pgdump.js';
import { rehearse } from '../src/rehearsal/rehearse.js';
import { Runner } from '../src/engine/runner.js';
import { PolicyGates } from '../src/engine/gates.js';
import { resolveConnection } from '../src/pg/connection.js';
import { loadRunbookFile } from '../src/runbook/load.js';
import { formatProblem } from '../src/runbook/model.js';
import { writeSection } from './lib/readme.js';
import { registerStateSql } from '../src/engine/stateSchema.js';
import { backfillSchemaSql } from '../src/backfill/cursorStore.js';

// The backfill's cursor tables join the runner's state schema through this hook (a no-op when
// src/backfill already registers them).
registerStateSql(backfillSchemaSql);

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    sample: { type: 'string', default: '10' },
    runbook: { type: 'string', default: 'runbooks/add-column-backfill.yaml' },
    'no-readme': { type: 'boolean', default: false },
  },
});
const ROWS = Number(values.rows);
const SAMPLE = Number(values.sample);

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
      select 1 + (g % 10000), (g % 100000) / 100.0, (array['new','paid','shipped'])[1 + g % 3] from generate_series(1, ${ROWS}) g;
    create index orders_customer_idx on orders (customer_id);`);
  await c.query('vacuum analyze customers');
  await c.query('vacuum analyze orders');
  await c.end();
}

async function main(): Promise<void> {
  const dump = await findPgDump(0);
  const major = installedMajors().filter((m) => m <= dump.major).sort((a, b) => b - a)[0];
  if (major === undefined) throw new Error(`no embedded PostgreSQL at or below pg_dump ${dump.major}`);
  const loaded = await loadRunbookFile(values.runbook!);
  if (!loaded.runbook) throw new Error(loaded.problems.map(formatProblem).join('\n'));
  const runbook = loaded.runbook;
  const server = await EmbeddedServer.start({ major });
  try {
    const admin = new pg.Client(server.url);
    await admin.connect();
    await admin.query('create database source');
    await admin.query('create database fullrun');
    await admin.end();
    process.stdout.write(`seeding ${ROWS.toLocaleString('en-US')} rows twice on PostgreSQL ${major}...\n`);
    await Promise.all([seed(server.urlFor('source')), seed(server.urlFor('fullrun'))]);

    process.stdout.write(`rehearsing on a ${SAMPLE}% sample...\n`);
    const t0 = Date.now();
    const r = await rehearse({ runbook, sourceUrl: server.urlFor('source'), samplePct: SAMPLE });
    const rehearsalWall = (Date.now() - t0) / 1000;
    if (r.deploy.status !== 'completed') throw new Error(`the rehearsal's deploy ${r.deploy.status}: ${r.deploy.error}`);

    process.stdout.write('running the real deploy on the full table...\n');
    const runner = new Runner({
      runbook,
      connection: resolveConnection(server.urlFor('fullrun')),
      gates: new PolicyGates({ yes: true, allowIrreversible: true, user: 'bench' }),
      nonInteractive: true,
      phases: ['deploy'],
      journalDir: null,
    });
    const real = new Map<string, number>();
    const realThrottles: string[] = [];
    runner.bus.on((e) => {
      if (e.type === 'step.completed') real.set(e.stepId, e.durationMs / 1000);
      if (e.type === 'step.throttle' && e.reason) realThrottles.push(e.reason);
    });
    const outcome = await runner.run();
    if (outcome.status !== 'completed') throw new Error(`the real deploy ${outcome.status}: ${outcome.error?.message}`);
    const realTotal = [...real.values()].reduce((a, b) => a + b, 0);
    const projected = r.projection.total_seconds;
    const ratio = projected / realTotal;
    const pass = Math.abs(ratio - 1) <= 0.3;

    const rows = r.projection.steps.map((s) => {
      const sample = r.steps.find((x) => x.stepId === s.id)!;
      const rl = real.get(s.id) ?? 0;
      return `| ${s.id} | ${s.basis} | ${sample.sampleSeconds.toFixed(3)} | ${s.seconds.toFixed(2)} (${s.low_seconds.toFixed(2)}–${s.high_seconds.toFixed(2)}) | ${rl.toFixed(2)} | ${rl > 0 ? (s.seconds / rl).toFixed(2) : 'n/a'} |`;
    });
    const orders = r.clone?.tables.find((t) => t.table === 'orders');
    const sampleThrottles = r.deploy.steps.flatMap((s) => s.throttles.map((t) => t.reason).filter(Boolean));
    const count = (xs: (string | null)[]) => Object.entries(xs.reduce<Record<string, number>>((a, x) => ({ ...a, [x!]: (a[x!] ?? 0) + 1 }), {})).map(([k, v]) => `${k} ×${v}`).join(', ') || 'none';
    const md = [
      '## Projection (rehearse)',
      '',
      `\`npx tsx bench/projection.ts\`: \`${values.runbook}\` rehearsed on a ${SAMPLE}% sample (${orders?.sampleRows.toLocaleString('en-US')} of ${ROWS.toLocaleString('en-US')} rows) in an embedded sandbox, ` +
        `projected to the full table, then the same deploy phase run for real on the full table (same machine, same PostgreSQL ${major}).`,
      '',
      '| step | basis | sample s | projected s (range) | real s | projected / real |',
      '|---|---|---:|---:|---:|---:|',
      ...rows,
      `| **total** | | ${r.steps.reduce((a, s) => a + s.sampleSeconds, 0).toFixed(3)} | **${projected.toFixed(2)}** (±${Math.round(r.projection.uncertainty * 100)}%) | **${realTotal.toFixed(2)}** | **${ratio.toFixed(2)}** |`,
      '',
      `Bar: projected within ±30% of the real run → **${pass ? 'PASS' : 'FAIL'}** (${((ratio - 1) * 100).toFixed(1)}%). ` +
        `The whole rehearsal (sandbox start, clone, deploy, rollback, checks) took ${rehearsalWall.toFixed(1)} s; rollback ${r.rollbackVerified ? 'verified' : 'NOT verified'}. ` +
        `Throttle events: sample ${count(sampleThrottles)}; real run ${count(realThrottles)}.`,
    ].join('\n');
    process.stdout.write(`\n${md}\n`);
    if (!values['no-readme']) writeSection('projection', md);
    if (!pass) process.exitCode = 1;
  } finally {
    await server.stop();
  }
}

await main();
