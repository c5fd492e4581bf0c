// The orders table the backfill benches fill, on an embedded server with production durability.
import pg from 'pg';
import { EmbeddedServer } from '../../src/pg/embedded-server.js';
import { loadavg } from 'node:os';
import { backfillSchemaSql } from '../../src/backfill/cursor-store.js';
import type { BackfillParams } from '../../src/backfill/params.js';
import { backfill } from '../../src/steps/backfill.js';
import { backfillContext, backfillStep } from './backfill-context.js';
import { timeBatches } from './batch-timer.js';
import { treeCpuMs } from './proc-cpu.js';

export const ORDERS_SET = 'amount_cents = (amount * 100)::bigint';

/**
 * Production-like durability (the embedded default turns fsync off); memory and WAL sized so that
 * neither a plain UPDATE nor a backfill is interrupted by a checkpoint. The pgrunbook state schema
 * is created.
 */
export async function startOrdersServer(major: number): Promise<{ server: EmbeddedServer; admin: pg.Client }> {
  const server = await EmbeddedServer.start({
    major,
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
  await admin.query('CREATE SCHEMA IF NOT EXISTS pgrunbook');
  await admin.query(backfillSchemaSql);
  return { server, admin };
}

/** A fresh `orders` of `rows` rows (ids 1..rows), frozen, analyzed and checkpointed. */
export async function resetOrders(admin: pg.Client, rows: number): Promise<void> {
  await admin.query('DROP TABLE IF EXISTS orders');
  await admin.query(`CREATE TABLE orders (
    id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2) NOT NULL, status text NOT NULL,
    created_at timestamptz NOT NULL, amount_cents bigint)`);
  // customer_id is pseudo-random (as in a real orders table). A strictly periodic value (g % 50000)
  // makes batched commits cost ~30% more server CPU: committed batches leave dead versions exactly
  // where later batches insert into that index, so btree bottom-up deletion runs on every page.
  await admin.query(`INSERT INTO orders SELECT g, hashint4(g) & 65535, (g % 100000) / 100.0 + 1, (ARRAY['new','paid','shipped'])[1 + g % 3],
                            timestamptz '2024-01-01' + g * interval '1 second', NULL FROM generate_series(1, ${rows}) g`);
  await admin.query('CREATE INDEX orders_customer ON orders (customer_id)');
  await admin.query('VACUUM (FREEZE, ANALYZE) orders');
  await admin.query('CHECKPOINT');
}

/** Throws unless every row of `orders` has the backfilled value. */
export async function checkOrdersFilled(admin: pg.Client, rows: number, what: string): Promise<void> {
  const r = await admin.query(`SELECT count(*) FILTER (WHERE amount_cents = (amount * 100)::bigint)::int AS ok FROM orders`);
  if (r.rows[0].ok !== rows) throw new Error(`${what} left ${rows - r.rows[0].ok} rows not updated`);
}

/** Autovacuum and autoanalyze runs on `orders` so far (a long batched run gives them time to start). */
async function autovacuums(admin: pg.Client): Promise<number> {
  const r = await admin.query(`SELECT autovacuum_count + autoanalyze_count AS n FROM pg_stat_user_tables WHERE relname = 'orders'`);
  return Number(r.rows[0]?.n ?? 0);
}

/** The server's WAL insert position, for the bytes written between two readings. */
async function walLsn(admin: pg.Client): Promise<string> {
  return (await admin.query<{ l: string }>('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0]!.l;
}

async function walSince(admin: pg.Client, lsn: string): Promise<number> {
  return Number((await admin.query<{ b: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1) AS b', [lsn])).rows[0]!.b);
}

/** One plain UPDATE of the whole table, timed, with the server's CPU time and the WAL it wrote. */
export async function timedUpdate(server: EmbeddedServer, admin: pg.Client) {
  const c0 = treeCpuMs(server.pid);
  const w0 = await walLsn(admin);
  const t0 = performance.now();
  const r = await admin.query(`UPDATE orders SET ${ORDERS_SET}`);
  const ms = performance.now() - t0;
  return { rows: r.rowCount ?? 0, ms, load: loadavg()[0]!, cpuMs: treeCpuMs(server.pid) - c0, walBytes: await walSince(admin, w0) };
}

/** The `backfill` step kind with `params`, timed: batch transaction times, server and runner CPU, throttles seen. */
export async function timedBackfill(server: EmbeddedServer, admin: pg.Client, params: BackfillParams, runId: string) {
  const pool = new pg.Pool({ connectionString: server.url, application_name: 'pgrunbook:bench', max: 4 });
  const timer = timeBatches(pool);
  const step = backfillStep('fill', params);
  const throttles = new Map<string, number>();
  const ctx = await backfillContext(
    server.url,
    step,
    runId,
    (e) => {
      if (e.type === 'step.throttle' && e.reason) throttles.set(e.reason, (throttles.get(e.reason) ?? 0) + 1);
      // When and why the second worker ran (workers: auto), with its figures, and whether wal_rate's default applied.
      if (e.type === 'step.log' && /^(second worker|main pass cut|wal_rate's default)/.test(e.message)) console.log(`  ${e.message}`);
    },
    pool,
  );
  try {
    const av = await autovacuums(admin);
    const w0 = await walLsn(admin);
    const c0 = treeCpuMs(server.pid);
    const n0 = process.cpuUsage();
    const t0 = performance.now();
    const result: any = await backfill.apply(step, ctx);
    const ms = performance.now() - t0;
    const node = process.cpuUsage(n0);
    return {
      rows: result.rowsDone as number,
      ms,
      batches: timer.summary(),
      load: loadavg()[0]!,
      autovacuums: (await autovacuums(admin)) - av,
      cpuMs: treeCpuMs(server.pid) - c0,
      walBytes: await walSince(admin, w0),
      nodeCpuMs: (node.user + node.system) / 1000,
      throttles: [...throttles].map(([k, v]) => `${k} x${v}`).join(', ') || 'none',
    };
  } finally {
    await ctx.close();
  }
}
