// Fleet: `runbooks/add-column-backfill.yaml` on N databases spread over two embedded servers, (a) by one
// `pgrunbook fleet run` (--parallel at once, --per-server per server) and (b) by a sequential shell-style
// loop of `pgrunbook run`, one child process per database, in the same run on identical copies.
// During the fleet a sampler reads pg_stat_activity on each server; the per-server connection budget
// is --per-server times the most sessions one `pgrunbook run` held at once (sampled the same way
// during the loop). Bars (DESIGN §7): the fleet ≥ 5× faster than the loop; no server over its budget.
//   npx tsx bench/fleet.ts [--dbs 100] [--parallel 8] [--per-server 4] [--rows 2000] [--major 17]
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { EmbeddedServer } from '../src/pg/embedded-server.js';
import { admin } from '../test/support/pg-session.js';
import { ratio, writeSection } from './lib/readme.js';

const { values } = parseArgs({
  options: {
    dbs: { type: 'string', default: '100' },
    parallel: { type: 'string', default: '8' },
    'per-server': { type: 'string', default: '4' },
    rows: { type: 'string', default: '2000' },
    major: { type: 'string', default: '17' },
    'sample-ms': { type: 'string', default: '25' },
  },
});
const DBS = positive(values.dbs, '--dbs');
const PARALLEL = positive(values.parallel, '--parallel');
const PER_SERVER = positive(values['per-server'], '--per-server');
const ROWS = positive(values.rows, '--rows');
const SAMPLE_MS = positive(values['sample-ms'], '--sample-ms');
const BIN = fileURLToPath(new URL('../bin/pgrunbook.js', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNBOOK = join(ROOT, 'runbooks/add-column-backfill.yaml');
const dir = mkdtempSync(join(tmpdir(), 'pgrunbook-bench-fleet-'));

function positive(v: string | undefined, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} "${v}": expected a whole number of at least 1`);
  return n;
}

/** One child `pgrunbook` process, as a shell would start it; rejects on a non-zero exit with its output. */
function pgrunbook(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`pgrunbook ${args.slice(0, 2).join(' ')} exited ${code}:\n${out.slice(-3000)}`)),
    );
  });
}

/** Samples client sessions on each server (the sampler's own excluded) until stopped; keeps the peak per server. */
function connectionSampler(servers: EmbeddedServer[]) {
  const peaks = servers.map(() => 0);
  let stopped = false;
  const loops = servers.map(async (s, i) => {
    const c = new pg.Client(s.url);
    await c.connect();
    try {
      while (!stopped) {
        const r = await c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
        );
        peaks[i] = Math.max(peaks[i]!, r.rows[0]!.n);
        await new Promise((r) => setTimeout(r, SAMPLE_MS));
      }
    } finally {
      await c.end();
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return peaks;
    },
  };
}

console.log(`starting two PostgreSQL ${values.major} servers; ${DBS} databases for the fleet and ${DBS} for the loop, ${ROWS} rows each`);
const servers = await Promise.all([0, 1].map(() => EmbeddedServer.start({ major: Number(values.major) })));
try {
  // One template per server, copied into every database: both ways start from identical data.
  for (const s of servers) {
    await admin(s.url, (c) => c.query('CREATE DATABASE bench_fleet_template'));
    await admin(s.urlFor('bench_fleet_template'), async (c) => {
      await c.query(
        `CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2) NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL)`,
      );
      await c.query(`INSERT INTO orders SELECT g, hashint4(g) & 65535, (g % 100000) / 100.0 + 1, (ARRAY['new','paid','shipped'])[1 + g % 3],
                       now() - g * interval '1 second' FROM generate_series(1, ${ROWS}) g`);
      await c.query('VACUUM ANALYZE orders');
    });
  }
  const databases = (prefix: string) =>
    Array.from({ length: DBS }, (_, i) => {
      const s = servers[i % 2]!;
      const name = `${prefix}_${String(i).padStart(3, '0')}`;
      return { name, server: i % 2, url: s.urlFor(name) };
    });
  const fleetDbs = databases('fleet');
  const loopDbs = databases('loop');
  for (const d of [...fleetDbs, ...loopDbs])
    await admin(servers[d.server]!.url, (c) => c.query(`CREATE DATABASE ${d.name} TEMPLATE bench_fleet_template`));
  const load0 = loadavg();

  // (b) The sequential loop: `for db in ...; do pgrunbook run ... --db $db --yes; done`.
  const loopSampler = connectionSampler(servers);
  const loopT0 = performance.now();
  for (const d of loopDbs) {
    await pgrunbook(['run', RUNBOOK, '--db', d.url, '--yes', '--plain', '--journal-dir', join(dir, 'loop-journal')]);
  }
  const loopS = (performance.now() - loopT0) / 1000;
  // One run at a time: the peak on either server is what one `pgrunbook run` holds at once.
  const perRun = Math.max(...(await loopSampler.stop()));
  console.log(`sequential loop: ${DBS} runs in ${loopS.toFixed(1)} s; one run held at most ${perRun} sessions`);

  // (a) The fleet.
  const targets = join(dir, 'targets.yaml');
  writeFileSync(targets, `targets:\n${fleetDbs.map((d) => `  - name: ${d.name}\n    url: ${d.url}\n`).join('')}`);
  const fleetSampler = connectionSampler(servers);
  const fleetT0 = performance.now();
  await pgrunbook([
    'fleet',
    'run',
    RUNBOOK,
    '--targets',
    targets,
    '--waves',
    `[{percent: 100, parallel: ${PARALLEL}}]`,
    '--per-server',
    String(PER_SERVER),
    '--yes',
    '--json',
    '--state-dir',
    join(dir, 'fleet-state'),
    '--journal-dir',
    join(dir, 'fleet-journal'),
  ]);
  const fleetS = (performance.now() - fleetT0) / 1000;
  const peaks = await fleetSampler.stop();
  const load1 = loadavg();

  // Both ways must have done the change on every database: filled, NOT NULL, indexed.
  for (const d of [...fleetDbs, ...loopDbs]) {
    const ok = await admin(d.url, async (c) => {
      const wrong = await c.query(`SELECT count(*)::int AS n FROM orders WHERE amount_cents IS DISTINCT FROM (amount * 100)::bigint`);
      const col = await c.query(
        `SELECT a.attnotnull AS not_null, EXISTS (SELECT FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisvalid AND a.attnum = ANY (i.indkey)) AS indexed
           FROM pg_attribute a WHERE a.attrelid = 'orders'::regclass AND a.attname = 'amount_cents'`,
      );
      return wrong.rows[0].n === 0 && col.rows[0]?.not_null === true && col.rows[0]?.indexed === true;
    });
    if (!ok) throw new Error(`${d.name}: amount_cents is not filled, NOT NULL and indexed: the run did not finish the change`);
  }

  const budget = PER_SERVER * perRun;
  const speedup = loopS / fleetS;
  const fast = speedup >= 5;
  const within = peaks.every((p) => p <= budget);
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' / ');
  console.log(`fleet: ${DBS} targets in ${fleetS.toFixed(1)} s (parallel ${PARALLEL}, per-server ${PER_SERVER})`);
  console.log(`speed-up: ${ratio(loopS, fleetS)} the sequential loop (bar ≥ 5×: ${fast ? 'met' : 'NOT met'})`);
  console.log(
    `peak sessions per server during the fleet: ${peaks.join(', ')}; budget ${budget} (${PER_SERVER} runs × ${perRun}): ${within ? 'within' : 'OVER'}`,
  );

  writeSection(
    'fleet',
    `## Fleet: ${DBS} databases

\`npx tsx bench/fleet.ts --dbs ${DBS} --parallel ${PARALLEL} --per-server ${PER_SERVER}\`: \`runbooks/add-column-backfill.yaml\`
(add \`orders.amount_cents\`, backfill, NOT NULL, index) on ${DBS} databases spread over two embedded PostgreSQL ${values.major}
servers, each with a ${ROWS.toLocaleString('en-US')}-row \`orders\` table copied from one template, done two ways in the same run on
separate identical copies: one \`pgrunbook fleet run\` (one wave, parallel ${PARALLEL}, at most ${PER_SERVER} runs per server, \`--yes\`),
and a sequential loop of \`pgrunbook run --yes\`, one child process per database, as a shell loop would. Sessions were
sampled from \`pg_stat_activity\` every ${SAMPLE_MS} ms on each server (client backends, the sampler excluded); the per-server
budget is ${PER_SERVER} runs × the most sessions one \`pgrunbook run\` held during the loop (${perRun}). Load average
${load(load0)} before and ${load(load1)} after (1/5/15 min).

| way | time | databases/s |
|---|---:|---:|
| sequential loop of \`pgrunbook run\` | ${loopS.toFixed(1)} s | ${(DBS / loopS).toFixed(2)} |
| \`pgrunbook fleet run\` | ${fleetS.toFixed(1)} s | ${(DBS / fleetS).toFixed(2)} |

Speed-up: **${ratio(loopS, fleetS)}** (bar ≥ 5×: ${fast ? 'met' : '**not met**'}). Peak sessions per server during the fleet:
${peaks.map((p, i) => `server ${i + 1} ${p}`).join(', ')} of a budget of ${budget} (bar: never over: ${within ? 'met' : '**not met**'}).`,
  );
  process.exitCode = fast && within ? 0 : 1;
} finally {
  await Promise.all(servers.map((s) => s.stop()));
}
