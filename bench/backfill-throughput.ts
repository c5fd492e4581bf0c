// Backfill throughput: the `backfill` step with runbook defaults (only `table` and `set`) against
// one plain UPDATE of the whole table, on the same freshly built 2M-row table, in the same run.
// Rounds alternate (UPDATE, backfill, UPDATE, backfill) so drift on a shared machine hits both.
// Bar (DESIGN §7): backfill rows/s >= 0.8x the single UPDATE's. Also reports the batch
// transaction times at the default target (bar: p99 <= 100 ms).
//   npx tsx bench/backfill-throughput.ts [--rows 2000000] [--rounds 2] [--major 17]
import pg from 'pg';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { EmbeddedServer } from '../src/pg/embedded.js';
import { backfill } from '../src/steps/backfill.js';
import { backfillSchemaSql } from '../src/backfill/cursorStore.js';
import { backfillContext, backfillStep } from './lib/backfillContext.js';
import { timeBatches } from './lib/batchTimer.js';
import { ratio, writeSection } from './lib/readme.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '2000000' }, rounds: { type: 'string', default: '3' }, major: { type: 'string', default: '17' } } });
const ROWS = Number(values.rows);
const ROUNDS = Number(values.rounds);
const SET = 'amount_cents = (amount * 100)::bigint';

// Production-like durability (the embedded default turns fsync off); memory and WAL sized so that
// neither run is interrupted by a checkpoint.
const server = await EmbeddedServer.start({
  major: Number(values.major),
  settings: {
    fsync: 'on',
    synchronous_commit: 'on',
    full_page_writes: 'on',
    shared_buffers: '1GB',
    wal_buffers: '64MB',
    max_wal_size: '16GB',
    checkpoint_timeout: '1h',
    maintenance_work_mem: '512MB',
  },
});
const admin = new pg.Client(server.url);
await admin.connect();

async function reset(): Promise<void> {
  await admin.query('DROP TABLE IF EXISTS orders');
  await admin.query(`CREATE TABLE orders (
    id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2) NOT NULL, status text NOT NULL,
    created_at timestamptz NOT NULL, amount_cents bigint)`);
  await admin.query(`INSERT INTO orders SELECT g, g % 50000, (g % 100000) / 100.0 + 1, (ARRAY['new','paid','shipped'])[1 + g % 3],
                            timestamptz '2024-01-01' + g * interval '1 second', NULL FROM generate_series(1, ${ROWS}) g`);
  await admin.query('CREATE INDEX orders_customer ON orders (customer_id)');
  await admin.query('VACUUM (FREEZE, ANALYZE) orders');
  await admin.query('CHECKPOINT');
}

/** Autovacuum runs on the table so far (a long batched run gives it time to start; one UPDATE does not). */
async function autovacuums(): Promise<number> {
  const r = await admin.query(`SELECT autovacuum_count + autoanalyze_count AS n FROM pg_stat_user_tables WHERE relname = 'orders'`);
  return Number(r.rows[0]?.n ?? 0);
}

async function plainUpdate(): Promise<{ rows: number; ms: number; load: number }> {
  const t0 = performance.now();
  const r = await admin.query(`UPDATE orders SET ${SET}`);
  return { rows: r.rowCount ?? 0, ms: performance.now() - t0, load: loadavg()[0]! };
}

async function runBackfill(round: number) {
  const pool = new pg.Pool({ connectionString: server.url, application_name: 'pgrunbook:bench', max: 4 });
  const timer = timeBatches(pool);
  const step = backfillStep('fill', { table: 'orders', set: SET });
  const ctx = await backfillContext(server.url, step, `throughput-${round}`, () => {}, pool);
  try {
    const t0 = performance.now();
    const av = await autovacuums();
    const result: any = await backfill.apply(step, ctx);
    const ms = performance.now() - t0;
    return { rows: result.rowsDone as number, ms, batches: timer.summary(), load: loadavg()[0]!, autovacuums: (await autovacuums()) - av };
  } finally {
    await ctx.close();
  }
}

await admin.query('CREATE SCHEMA IF NOT EXISTS pgrunbook');
await admin.query(backfillSchemaSql);
const updates: { rows: number; ms: number }[] = [];
const fills: Awaited<ReturnType<typeof runBackfill>>[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  await reset();
  const u = await plainUpdate();
  updates.push(u);
  console.log(`round ${round}: single UPDATE  ${u.rows} rows in ${(u.ms / 1000).toFixed(2)} s = ${Math.round((u.rows / u.ms) * 1000)} rows/s (load ${u.load.toFixed(1)})`);
  await reset();
  const b = await runBackfill(round);
  fills.push(b);
  const check = await admin.query(`SELECT count(*) FILTER (WHERE amount_cents = (amount * 100)::bigint)::int AS ok FROM orders`);
  if (check.rows[0].ok !== ROWS || b.rows !== ROWS) throw new Error(`backfill left ${ROWS - check.rows[0].ok} rows not updated`);
  console.log(
    `round ${round}: backfill       ${b.rows} rows in ${(b.ms / 1000).toFixed(2)} s = ${Math.round((b.rows / b.ms) * 1000)} rows/s` +
      ` (${b.batches.count} batches, p50 ${b.batches.p50.toFixed(0)} ms, p99 ${b.batches.p99.toFixed(0)} ms, max ${b.batches.max.toFixed(0)} ms; autovacuum/analyze runs ${b.autovacuums}; load ${b.load.toFixed(1)})`,
  );
}
await admin.end();
await server.stop();

const rate = (x: { rows: number; ms: number }) => (x.rows / x.ms) * 1000;
const sum = (xs: { rows: number; ms: number }[]) => ({ rows: xs.reduce((a, x) => a + x.rows, 0), ms: xs.reduce((a, x) => a + x.ms, 0) });
const uRate = rate(sum(updates));
const bRate = rate(sum(fills));
const r = bRate / uRate;
const p99 = Math.max(...fills.map((f) => f.batches.p99));
const pass = r >= 0.8;
console.log(`\nbackfill / single UPDATE = ${ratio(bRate, uRate)} (bar >= 0.80x): ${pass ? 'PASS' : 'FAIL'}; batch p99 ${p99.toFixed(0)} ms (bar <= 100 ms): ${p99 <= 100 ? 'PASS' : 'FAIL'}`);

const rows = updates.map((u, i) => {
  const f = fills[i]!;
  return `| ${i + 1} | ${(u.ms / 1000).toFixed(2)} s, ${Math.round(rate(u)).toLocaleString('en-US')} rows/s | ${(f.ms / 1000).toFixed(2)} s, ${Math.round(rate(f)).toLocaleString('en-US')} rows/s | ${ratio(rate(f), rate(u))} | ${f.batches.count} | ${f.batches.p50.toFixed(0)} / ${f.batches.p99.toFixed(0)} / ${f.batches.max.toFixed(0)} ms |`;
});
writeSection(
  'backfill-throughput',
  `## Backfill throughput

\`npx tsx bench/backfill-throughput.ts\`: the \`backfill\` step with runbook defaults (only \`table\` and \`set: ${SET}\`;
auto-tuned batches aiming at 100 ms, no pause) against one plain \`UPDATE orders SET ${SET}\`, on the same freshly
built ${ROWS.toLocaleString('en-US')}-row table (bigint key, 6 columns, a secondary index), rebuilt, frozen and checkpointed
before every run. Embedded PostgreSQL ${values.major} with production durability (fsync, synchronous_commit and
full_page_writes on), shared_buffers 1GB, max_wal_size 16GB. Rounds alternate UPDATE / backfill.

| round | single UPDATE | backfill | ratio | batches | batch tx p50 / p99 / max |
|---|---|---|---|---|---|
${rows.join('\n')}

**Backfill / single UPDATE: ${ratio(bRate, uRate)}** over all rounds (bar ≥ 0.80×: ${pass ? 'met' : '**not met**'}).
Batch transactions p99 ${p99.toFixed(0)} ms at the default target (bar ≤ 100 ms: ${p99 <= 100 ? 'met' : '**not met**'}).
The backfill commits every batch with its cursor, never holds a row lock longer than one batch, and can be paused,
throttled and resumed; the single UPDATE holds every row lock of the table until it commits.`,
);
process.exit(pass ? 0 : 1);
