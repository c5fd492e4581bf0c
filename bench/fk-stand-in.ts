// Plan's stand-in for a foreign key's check against PostgreSQL's own: plan's sample copy cannot add
// the real constraint (it would lock the referenced table for the whole sample), so a plpgsql row
// trigger looks the key up FOR KEY SHARE instead (analyze/plan/earlier-steps.ts). This inserts the
// same rows into an empty table three ways, in one rolled-back transaction each, alternating: no
// check, the real FOREIGN KEY, the stand-in trigger; the per-row cost of each check is its median
// time less the median without one. Prints only (the figure goes into earlier-steps.ts's comment).
//   npx tsx bench/fk-stand-in.ts [--rows 200000] [--rounds 5] [--major 17]
import pg from 'pg';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { EmbeddedServer } from '../src/pg/embedded-server.js';
import { foreignKeyCheckSql } from '../src/analyze/plan/earlier-steps.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '5' },
    major: { type: 'string', default: '17' },
  },
});
const ROWS = Number(values.rows);
const WAYS = {
  none: '',
  'real FOREIGN KEY': 'ALTER TABLE dst ADD FOREIGN KEY (customer_id) REFERENCES customers (id)',
  // Plan's own stand-in, as earlier-steps.ts writes it for a sample copy.
  'plpgsql stand-in': foreignKeyCheckSql('dst', undefined, 0, 'public.customers', ['customer_id'], ['id']).join(';\n'),
} as const;

const server = await EmbeddedServer.start({ major: Number(values.major) });
const c = new pg.Client(server.url);
await c.connect();
try {
  await c.query(`CREATE TABLE customers (id int PRIMARY KEY, name text);
    INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 10000) g;
    CREATE TABLE src (id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2));
    INSERT INTO src SELECT g, 1 + g % 10000, g FROM generate_series(1, ${ROWS}) g`);
  await c.query('VACUUM ANALYZE customers, src');
  const insertMs = async (setup: string) => {
    await c.query('BEGIN');
    try {
      await c.query(`CREATE TABLE dst (id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2)); ${setup}`);
      const t0 = performance.now();
      await c.query('INSERT INTO dst SELECT * FROM src');
      return performance.now() - t0;
    } finally {
      await c.query('ROLLBACK');
    }
  };
  const times: Record<string, number[]> = {};
  for (let i = 0; i < Number(values.rounds); i++)
    for (const [way, setup] of Object.entries(WAYS)) (times[way] ??= []).push(await insertMs(setup));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const [way, xs] of Object.entries(times))
    console.log(`${way.padEnd(17)} ${xs.map((x) => x.toFixed(0)).join(' ')} ms; median ${median(xs).toFixed(0)} ms`);
  const perRow = (way: string) => ((median(times[way]!) - median(times.none!)) / ROWS) * 1000;
  const real = perRow('real FOREIGN KEY');
  const standIn = perRow('plpgsql stand-in');
  console.log(
    `per row: the real check ${real.toFixed(1)} µs, the stand-in ${standIn.toFixed(1)} µs (${(standIn / real).toFixed(2)}x), ` +
      `${ROWS.toLocaleString('en-US')} rows, PostgreSQL ${values.major}, load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' / ')}`,
  );
} finally {
  await c.end();
  await server.stop();
}
