// Memory: RSS of the process running the backfill, sampled every 250 ms across a backfill of a
// narrow 10M-row table. Bar (DESIGN §7): flat RSS, i.e. no per-row or per-batch accumulation.
// "Flat" here: the least-squares slope of RSS against rows done, from 10% of the rows on (after
// warm-up), stays under 1 MB per million rows, RSS at the end is within 16 MB of the 10% mark, and
// the heap retained after a full GC grows by less than 2 MB.
// The baseline in the same run is the idle process (after connecting, before the first batch).
//   npx tsx bench/backfill-memory.ts [--rows 10000000]
import pg from 'pg';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EmbeddedServer } from '../src/pg/embedded-server.js';
import { backfill } from '../src/steps/backfill.js';
import { backfillSchemaSql } from '../src/backfill/cursor-store.js';
import { backfillContext, backfillStep } from './lib/backfill-context.js';
import { writeSection } from './lib/readme.js';

// Forced collections need --expose-gc: run again with it when it is missing.
const gc = (globalThis as { gc?: () => void }).gc!;
if (typeof gc !== 'function') {
  const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}

const { values } = parseArgs({ options: { rows: { type: 'string', default: '10000000' }, major: { type: 'string', default: '17' } } });
const ROWS = Number(values.rows);
const MB = 1024 * 1024;

const server = await EmbeddedServer.start({
  major: Number(values.major),
  settings: { shared_buffers: '1GB', max_wal_size: '16GB', checkpoint_timeout: '1h', maintenance_work_mem: '1GB', wal_buffers: '64MB' },
});
const admin = new pg.Client(server.url);
await admin.connect();
await admin.query('CREATE SCHEMA pgrunbook');
await admin.query(backfillSchemaSql);
let t = performance.now();
// Narrow table: key plus one int. Load first, then build the key (faster than inserting into an index).
await admin.query(`CREATE TABLE narrow AS SELECT g::bigint AS id, 0 AS counter FROM generate_series(1, ${ROWS}) g`);
await admin.query('ALTER TABLE narrow ADD PRIMARY KEY (id)');
await admin.query('VACUUM (FREEZE, ANALYZE) narrow');
await admin.query('CHECKPOINT');
const loadS = (performance.now() - t) / 1000;
console.log(`loaded ${ROWS} rows in ${loadS.toFixed(1)} s`);

// Constant-size sample buffers (the bench must not be what grows).
const CAP = 1 << 14;
const rss = new Float64Array(CAP);
const heap = new Float64Array(CAP);
const done = new Float64Array(CAP);
let n = 0;
let rowsNow = 0;
const sample = () => {
  if (n >= CAP) return;
  const m = process.memoryUsage();
  rss[n] = m.rss / MB;
  heap[n] = m.heapUsed / MB;
  done[n] = rowsNow;
  n++;
};
// Retained heap (after a forced full GC) at 10%, 50% and the end: garbage not yet collected would
// otherwise look like growth. Only three collections, so RSS keeps its natural course.
const retained: { at: string; mb: number }[] = [];
const marks = [0.1, 0.5];
const retainedNow = (at: string) => {
  gc();
  retained.push({ at, mb: process.memoryUsage().heapUsed / MB });
};

const step = backfillStep('fill', { table: 'narrow', set: 'counter = counter + 1' });
const ctx = await backfillContext(server.url, step, 'memory', (e) => {
  if (e.type === 'step.progress' && e.progress.kind === 'backfill') {
    rowsNow = e.progress.rowsDone;
    if (marks.length && rowsNow >= ROWS * marks[0]!) retainedNow(`${Math.round(marks.shift()! * 100)}%`);
  }
});
await ctx.pool.query('select 1');
const baselineRss = process.memoryUsage().rss / MB;
const timer = setInterval(sample, 250);
t = performance.now();
const result: any = await backfill.apply(step, ctx);
const runS = (performance.now() - t) / 1000;
rowsNow = result.rowsDone;
sample();
retainedNow('end');
clearInterval(timer);
await ctx.close();
const check = await admin.query(`SELECT count(*) FILTER (WHERE counter <> 1)::int AS bad FROM narrow`);
await admin.end();
await server.stop();
if (check.rows[0].bad !== 0) throw new Error(`${check.rows[0].bad} rows not updated exactly once`);

// Samples from 10% of the rows on.
const idx = [...Array(n).keys()].filter((i) => done[i]! >= ROWS * 0.1);
const at = (f: number) => idx.find((i) => done[i]! >= ROWS * f) ?? idx.at(-1)!;
const first = idx[0]!;
const mid = at(0.5);
const last = idx.at(-1)!;
const xs = idx.map((i) => done[i]! / 1e6);
const ys = idx.map((i) => rss[i]!);
const mean = (a: number[]) => a.reduce((p, c) => p + c, 0) / a.length;
const mx = mean(xs);
const my = mean(ys);
const slope = xs.reduce((p, x, k) => p + (x - mx) * (ys[k]! - my), 0) / xs.reduce((p, x) => p + (x - mx) ** 2, 0);
const peak = Math.max(...ys);
const drift = rss[last]! - rss[first]!;
const heapGrowth = retained.at(-1)!.mb - retained[0]!.mb;
// Growth is what matters: RSS that falls back after warm-up is fine.
const flat = slope < 1 && drift < 16 && heapGrowth < 2;
const fmt = (v: number) => v.toFixed(1);
console.log(
  `backfill of ${ROWS} rows in ${runS.toFixed(1)} s (${Math.round(ROWS / runS)} rows/s, ${result.batches} batches), ${n} RSS samples`,
);
console.log(
  `RSS MB: idle ${fmt(baselineRss)}, at 10% ${fmt(rss[first]!)}, 50% ${fmt(rss[mid]!)}, end ${fmt(rss[last]!)}, peak ${fmt(peak)}; slope ${slope.toFixed(3)} MB per million rows`,
);
console.log(
  `heapUsed MB: at 10% ${fmt(heap[first]!)}, 50% ${fmt(heap[mid]!)}, end ${fmt(heap[last]!)}; retained after a full GC: ${retained.map((r) => `${r.at} ${fmt(r.mb)}`).join(', ')}`,
);
console.log(`flat RSS: ${flat ? 'PASS' : 'FAIL'}`);

writeSection(
  'backfill-memory',
  `## Backfill memory

\`npx tsx bench/backfill-memory.ts\`: the \`backfill\` step (\`set: counter = counter + 1\`, runbook defaults) over a narrow
${ROWS.toLocaleString('en-US')}-row table (\`id bigint primary key, counter int\`), in this process; RSS and heap sampled
every 250 ms (${n} samples). The backfill took ${runS.toFixed(1)} s (${Math.round(ROWS / runS).toLocaleString('en-US')} rows/s, ${result.batches} batches; loading took ${loadS.toFixed(0)} s).

| | idle (before) | at 10% | at 50% | end | peak | slope from 10% |
|---|---|---|---|---|---|---|
| RSS | ${fmt(baselineRss)} MB | ${fmt(rss[first]!)} MB | ${fmt(rss[mid]!)} MB | ${fmt(rss[last]!)} MB | ${fmt(peak)} MB | ${slope.toFixed(3)} MB per million rows |
| heap used | | ${fmt(heap[first]!)} MB | ${fmt(heap[mid]!)} MB | ${fmt(heap[last]!)} MB | | |
| heap retained after a full GC | | ${fmt(retained[0]!.mb)} MB | ${fmt(retained[1]?.mb ?? NaN)} MB | ${fmt(retained.at(-1)!.mb)} MB | | |

**Flat RSS: ${flat ? 'yes' : '**no**'}** (criterion: RSS slope from the 10% mark < 1 MB per million rows, RSS end − 10% mark < 16 MB
(measured ${drift.toFixed(1)} MB), retained heap growth < 2 MB (measured ${heapGrowth.toFixed(1)} MB)).
The engine keeps only running averages (tuner, throttle, rate) and the current cursor; batch keys live in the
database, never in memory.`,
);
process.exit(flat ? 0 : 1);
