// Crash safety: a child process runs a non-idempotent backfill (counter = counter + 1, runbook
// defaults otherwise) over 300k rows; the parent SIGKILLs it 20 times at random moments and starts
// it again with the same run id / step id each time. On top, the server itself crash-restarts a few
// times (SIGKILL of the batch's backend makes the postmaster reset every session and replay WAL; the
// server runs with synchronous_commit = off, so that can even drop batches the client saw commit).
// Bar (DESIGN §7): afterwards every row has counter = 1.
//   npx tsx bench/backfill-crash.ts [--rows 300000] [--kills 20] [--server-crashes 3]
import pg from 'pg';
import { parseArgs } from 'node:util';
import { EmbeddedServer } from '../src/pg/embedded-server.js';
import { backfillSchemaSql } from '../src/backfill/cursor-store.js';
import { crashLoop } from './lib/crash-driver.js';
import { writeSection } from './lib/readme.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '300000' },
    kills: { type: 'string', default: '20' },
    'server-crashes': { type: 'string', default: '3' },
    major: { type: 'string', default: '17' },
  },
});
const ROWS = Number(values.rows);
const KILLS = Number(values.kills);
const SERVER_CRASHES = Number(values['server-crashes']);
const RUN_ID = 'crash-bench';

const server = await EmbeddedServer.start({ major: Number(values.major), settings: { shared_buffers: '256MB', max_wal_size: '4GB' } });
let admin: pg.Client | undefined;
async function q<R extends pg.QueryResultRow = any>(sql: string): Promise<R[]> {
  // The admin session dies with every server crash-restart: reconnect until the server is back.
  for (let i = 0; ; i++) {
    try {
      if (!admin) {
        const c = new pg.Client(server.url);
        c.on('error', () => {});
        await c.connect();
        admin = c;
      }
      return (await admin.query<R>(sql)).rows;
    } catch (err) {
      admin?.end().catch(() => {});
      admin = undefined;
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

await q('CREATE SCHEMA IF NOT EXISTS pgrunbook');
await q(backfillSchemaSql);
await q(`CREATE TABLE events (id bigint PRIMARY KEY, counter int NOT NULL DEFAULT 0, payload text NOT NULL)`);
await q(`INSERT INTO events SELECT g, 0, md5(g::text) FROM generate_series(1, ${ROWS}) g`);
await q('VACUUM ANALYZE events');

const rowsDone = async () =>
  Number((await q(`SELECT coalesce(max(rows_done), 0)::float8 AS n FROM pgrunbook.backfill_cursors WHERE run_id = '${RUN_ID}'`))[0]!.n);

// Server crash-restarts: in a few randomly chosen lives, once batches run, SIGKILL the batch's
// backend; the postmaster then resets every session and replays WAL while the runner reconnects.
const crashLives = new Set<number>();
while (crashLives.size < Math.min(SERVER_CRASHES, KILLS)) crashLives.add(2 + Math.floor(Math.random() * (KILLS - 1)));
let serverCrashes = 0;
function crashServer(life: number): (() => Promise<void>) | undefined {
  return crashLives.has(life) ? () => crashNow(life) : undefined;
}
async function crashNow(life: number): Promise<void> {
  await new Promise((r) => setTimeout(r, Math.random() * 50));
  const pids = await q<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE application_name = 'pgrunbook:bench' AND pid <> pg_backend_pid()`,
  );
  if (!pids[0]) return;
  try {
    process.kill(pids[0].pid, 'SIGKILL');
  } catch {
    return; // the backend ended meanwhile
  }
  serverCrashes++;
  console.log(`server crash-restart ${serverCrashes} in run ${life} (SIGKILL of backend ${pids[0].pid})`);
  await q('SELECT 1'); // wait until recovery is over, so the next kill lands on a working runner
}

/** Rows committed when each kill timer started (shows the kills spread over the backfill). */
const doneAtKill: number[] = [];
const t0 = performance.now();
const outcome = await crashLoop({
  url: server.url,
  runId: RUN_ID,
  stepId: 'fill',
  params: { table: 'events', set: 'counter = counter + 1' },
  kills: KILLS,
  // Spread the kills over the work that is left: aim the next kill inside this life's share of it.
  maxDelayMs: async ({ killsLeft, delays }) => {
    const done = await rowsDone();
    doneAtKill.push(done);
    const aliveMs = delays.reduce((a, b) => a + b, 0);
    if (done === 0 || aliveMs === 0) return 300;
    const remainingMs = ((ROWS - done) / done) * aliveMs;
    return Math.max(30, Math.min(3000, (2 * remainingMs) / (killsLeft + 1)));
  },
  log: (l) => console.log(l),
  midLife: crashServer,
});
const elapsed = (performance.now() - t0) / 1000;

const hist = await q<{ counter: number; n: number }>(`SELECT counter, count(*)::int AS n FROM events GROUP BY counter ORDER BY counter`);
const cursor = (
  await q(`SELECT pass, rows_done::float8 AS rows_done, batches::int AS batches FROM pgrunbook.backfill_cursors WHERE run_id = '${RUN_ID}'`)
)[0];
await admin?.end();
await server.stop();

const exactlyOnce = hist.length === 1 && hist[0]!.counter === 1 && hist[0]!.n === ROWS;
const pass = exactlyOnce && outcome.kills === KILLS;
console.log(
  `\n${outcome.kills} kill -9 of the runner, ${serverCrashes} server crash-restarts, ${outcome.lives} runs, ${elapsed.toFixed(1)} s`,
);
console.log(`counter histogram: ${hist.map((h) => `${h.counter}: ${h.n}`).join(', ')}; cursor ${JSON.stringify(cursor)}`);
console.log(`rows committed when each kill timer started: ${doneAtKill.join(', ')}`);
console.log(`every row updated exactly once: ${exactlyOnce ? 'PASS' : 'FAIL'}`);

const sorted = [...outcome.delays].sort((a, b) => a - b);
writeSection(
  'backfill-crash',
  `## Backfill crash safety

\`npx tsx bench/backfill-crash.ts\`: a child process runs the \`backfill\` step (\`set: counter = counter + 1\`, runbook
defaults otherwise) over ${ROWS.toLocaleString('en-US')} rows. The parent sends it \`kill -9\` ${KILLS} times at random moments
(${sorted[0] ?? 0}–${sorted.at(-1) ?? 0} ms after it starts, spread over the remaining work) and restarts it with the same
run id and step id each time. In addition the server crash-restarts ${serverCrashes} times (SIGKILL of the batch's
backend: the postmaster ends every session and replays the WAL; with synchronous_commit off, batches whose COMMIT
the runner saw can be lost, together with their cursor move).

| kills of the runner | server crash-restarts | runs | time | rows with counter = 1 | other counters |
|---|---|---|---|---|---|
| ${outcome.kills} | ${serverCrashes} | ${outcome.lives} | ${elapsed.toFixed(1)} s | ${(hist.find((h) => h.counter === 1)?.n ?? 0).toLocaleString('en-US')} of ${ROWS.toLocaleString('en-US')} | ${
    hist
      .filter((h) => h.counter !== 1)
      .map((h) => `${h.counter}: ${h.n}`)
      .join(', ') || 'none'
  } |

Rows committed when each kill timer started: ${doneAtKill.map((d) => d.toLocaleString('en-US')).join(', ')}.

**Every row updated exactly once: ${exactlyOnce ? 'yes' : '**no**'}** (bar: counter = 1 for all rows).
The cursor row ends in pass \`${cursor?.pass}\` with rows_done = ${cursor?.rows_done} after ${cursor?.batches} batches.`,
);
process.exit(pass ? 0 : 1);
