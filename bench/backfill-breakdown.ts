// Where the backfill's time goes next to one plain UPDATE (issue 18): on the same freshly built
// table, in the same run, each round times
//   update        one UPDATE of the whole table (the baseline every ratio is against, run again
//                 before each variant);
//   raw N         the same UPDATE cut into key ranges of N rows, one transaction and one round trip
//                 each (synchronous_commit off, as the engine): the cost of batching itself;
//   raw+state N   raw N plus what the engine adds per batch in SQL: a first round trip that locks a
//                 cursor row and looks up the batch's upper key (OFFSET N-1), and the cursor row
//                 written with the UPDATE;
//   raw x2 N      raw N on two connections, each on its own half of the keys: what a second worker
//                 could gain at most;
//   engine N      the backfill step with batch_size N and throttle off (no probes);
//   engine N+t    the same with the default throttle probes;
//   engine auto   runbook defaults (the tuned batch size of bench/backfill-throughput.ts).
// Each variant is paired with an UPDATE run just before it (load drifts on a shared machine), and
// the order of the variants rotates every round.
// CPU is read from /proc (server processes) and process.cpuUsage (runner): cores busy = CPU / wall.
// It prints ratios only; it writes no README section.
//   npx tsx bench/backfill-breakdown.ts [--rows 2000000] [--rounds 3] [--sizes 1000,10000,100000]
//                                        [--variants update,raw,raw+state,raw-x2,engine,engine+t,auto] [--major 17]
import pg from 'pg';
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { ORDERS_SET, checkOrdersFilled, resetOrders, startOrdersServer, timedBackfill, timedUpdate } from './lib/orders-table.js';
import { treeCpuMs } from './lib/proc-cpu.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '2000000' },
    rounds: { type: 'string', default: '3' },
    sizes: { type: 'string', default: '1000,10000,100000' },
    variants: { type: 'string', default: 'raw,raw+state,raw-x2,engine,engine+t,auto' },
    major: { type: 'string', default: '17' },
  },
});
const ROWS = Number(values.rows);
const ROUNDS = Number(values.rounds);
const SIZES = values.sizes.split(',').map(Number);
const KINDS = new Set(values.variants.split(','));

interface Timing {
  rows: number;
  ms: number;
  serverCpuMs: number;
  runnerCpuMs: number;
  batches: number;
  /** Throttle rules that fired (engine variants). */
  throttles?: string;
}

const { server, admin } = await startOrdersServer(Number(values.major));
await admin.query('CREATE TABLE IF NOT EXISTS bench_cursor (id int PRIMARY KEY, last_key bigint)');

async function measured(run: () => Promise<{ rows: number; batches: number }>): Promise<Timing> {
  const c0 = treeCpuMs(server.pid);
  const n0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await run();
  const ms = performance.now() - t0;
  const n = process.cpuUsage(n0);
  return { ...r, ms, serverCpuMs: treeCpuMs(server.pid) - c0, runnerCpuMs: (n.user + n.system) / 1000 };
}

/** Keys (lo, hi] in batches of `size`, on one connection; with `state`, the engine's cursor round trip and write too. */
async function rawBatches(c: pg.Client, lo: number, hi: number, size: number, state: boolean): Promise<{ rows: number; batches: number }> {
  let rows = 0;
  let batches = 0;
  let cursor = lo;
  while (cursor < hi) {
    let upper = Math.min(cursor + size, hi);
    if (state) {
      const r = await c.query(
        `BEGIN; SET LOCAL synchronous_commit = off; SELECT last_key FROM bench_cursor WHERE id = ${lo} FOR UPDATE;
         SELECT id FROM orders WHERE id > ${cursor} AND id <= ${hi} ORDER BY id OFFSET ${size - 1} LIMIT 1`,
      );
      const found = (r as unknown as pg.QueryResult[])[3]!.rows[0];
      upper = found ? Number(found.id) : hi;
      const u = await c.query(
        `WITH upd AS (UPDATE orders SET ${ORDERS_SET} WHERE id > ${cursor} AND id <= ${upper} RETURNING 1)
         UPDATE bench_cursor SET last_key = ${upper} WHERE id = ${lo} RETURNING (SELECT count(*) FROM upd)::int AS n; COMMIT`,
      );
      rows += (u as unknown as pg.QueryResult[])[0]!.rows[0].n;
    } else {
      const u = await c.query(
        `BEGIN; SET LOCAL synchronous_commit = off; UPDATE orders SET ${ORDERS_SET} WHERE id > ${cursor} AND id <= ${upper}; COMMIT`,
      );
      rows += (u as unknown as pg.QueryResult[])[2]!.rowCount ?? 0;
    }
    cursor = upper;
    batches++;
  }
  return { rows, batches };
}

/** `workers` connections, each batching its own contiguous share of the keys. */
async function raw(size: number, state: boolean, workers: number): Promise<Timing> {
  const clients = await Promise.all(
    Array.from({ length: workers }, async () => {
      const c = new pg.Client(server.url);
      await c.connect();
      return c;
    }),
  );
  try {
    const share = Math.ceil(ROWS / workers);
    await admin.query('TRUNCATE bench_cursor');
    for (let w = 0; w < workers; w++) await admin.query(`INSERT INTO bench_cursor VALUES (${w * share}, ${w * share})`);
    return await measured(async () => {
      const parts = await Promise.all(clients.map((c, w) => rawBatches(c, w * share, Math.min(ROWS, (w + 1) * share), size, state)));
      return { rows: parts.reduce((a, p) => a + p.rows, 0), batches: parts.reduce((a, p) => a + p.batches, 0) };
    });
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

async function engine(runId: string, size?: number, throttle = true): Promise<Timing> {
  const params = {
    table: 'orders',
    set: ORDERS_SET,
    ...(size ? { batch_size: size } : {}),
    ...(throttle ? {} : { throttle: false as const }),
  };
  const n0 = process.cpuUsage();
  const b = await timedBackfill(server, admin, params, runId);
  const n = process.cpuUsage(n0);
  return {
    rows: b.rows,
    ms: b.ms,
    serverCpuMs: b.cpuMs,
    runnerCpuMs: (n.user + n.system) / 1000,
    batches: b.batches.count,
    throttles: b.throttles,
  };
}

const variants: { name: string; run: (round: number) => Promise<Timing> }[] = [];
for (const size of SIZES) {
  if (KINDS.has('raw')) variants.push({ name: `raw ${size}`, run: () => raw(size, false, 1) });
  if (KINDS.has('raw+state')) variants.push({ name: `raw+state ${size}`, run: () => raw(size, true, 1) });
  if (KINDS.has('raw-x2')) variants.push({ name: `raw x2 ${size}`, run: () => raw(size, false, 2) });
  if (KINDS.has('engine')) variants.push({ name: `engine ${size}`, run: (r) => engine(`breakdown-${r}-${size}`, size, false) });
  if (KINDS.has('engine+t')) variants.push({ name: `engine ${size}+t`, run: (r) => engine(`breakdown-${r}-${size}-t`, size) });
}
if (KINDS.has('raw')) variants.push({ name: 'raw all', run: () => raw(ROWS, false, 1) });
if (KINDS.has('auto')) variants.push({ name: 'engine auto', run: (r) => engine(`breakdown-${r}-auto`) });

const ratios = new Map<string, number[]>();
const cpuRatios = new Map<string, number[]>();
const cores = new Map<string, string[]>();
const add = <T>(m: Map<string, T[]>, k: string, v: T) => m.set(k, [...(m.get(k) ?? []), v]);

const loadStart = loadavg()[0]!;
for (let round = 1; round <= ROUNDS; round++) {
  const shift = (round - 1) % Math.max(1, variants.length);
  for (const v of [...variants.slice(shift), ...variants.slice(0, shift)]) {
    // Each variant against its own UPDATE, run just before it: the load on a shared machine drifts.
    await resetOrders(admin, ROWS);
    const u = await timedUpdate(server, admin);
    await resetOrders(admin, ROWS);
    const t = await v.run(round);
    await checkOrdersFilled(admin, ROWS, v.name);
    const ratio = t.rows / t.ms / (u.rows / u.ms);
    const cpuRatio = (t.serverCpuMs + t.runnerCpuMs) / t.rows / (u.cpuMs / u.rows);
    add(ratios, v.name, ratio);
    add(cpuRatios, v.name, cpuRatio);
    add(cores, v.name, `${(t.serverCpuMs / t.ms).toFixed(2)}+${(t.runnerCpuMs / t.ms).toFixed(2)}`);
    add(cores, 'update', (u.cpuMs / u.ms).toFixed(2));
    console.log(
      `round ${round}: ${v.name.padEnd(16)} ${ratio.toFixed(2)}x rows/s, ${cpuRatio.toFixed(2)}x CPU/row of its UPDATE (${Math.round((t.rows / t.ms) * 1000)} vs ${Math.round((u.rows / u.ms) * 1000)} rows/s, ${t.batches} batches; cores busy server ${(t.serverCpuMs / t.ms).toFixed(2)} + runner ${(t.runnerCpuMs / t.ms).toFixed(2)}, UPDATE ${(u.cpuMs / u.ms).toFixed(2)}; ${t.throttles ? `throttles: ${t.throttles}; ` : ''}load ${loadavg()[0]!.toFixed(1)})`,
    );
  }
}
await admin.end();
await server.stop();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `\nagainst the UPDATE run just before each: rows/s ratio and CPU-per-row ratio (CPU = server + runner), median of ${ROUNDS} round(s) then each; cores busy = CPU / wall, server+runner, on ${cpus().length} cores; load ${loadStart.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end`,
);
for (const [name, rs] of ratios) {
  const cr = cpuRatios.get(name)!;
  console.log(
    `${name.padEnd(16)} ${median(rs).toFixed(2)}x rows/s (${rs.map((r) => r.toFixed(2)).join(' / ')}), ${median(cr).toFixed(2)}x CPU/row (${cr.map((r) => r.toFixed(2)).join(' / ')}), cores ${cores.get(name)!.join(' / ')}`,
  );
}
console.log(`UPDATE cores busy: ${cores.get('update')!.join(' / ')}`);
