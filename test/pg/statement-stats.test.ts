// pg_stat_statements as the application-latency signal, on real servers under a pgbench load: the
// baseline and per-window delta, pgrunbook's own statements left out, lock waits on the touched
// tables, and a clear note (never a crash) when the extension is missing.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baselineOf, deltaOf, readLockWaits, readStatementStats, tablePatterns } from '../../src/pg/statement-stats.js';
import { createDatabase, edgeMajors } from '../support/pg.js';
import { startPgbench } from '../support/pgbench.js';

const LOAD = `\\set id random(1, 2000)
SELECT v FROM orders WHERE id = :id;
UPDATE orders SET v = v + 1 WHERE id = :id;
`;

describe.each(edgeMajors())('statement stats, PostgreSQL %i', (major) => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let pool: pg.Pool;
  let versionNum: number;
  beforeAll(async () => {
    db = await createDatabase(major, 'ss');
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => {});
    versionNum = Number((await pool.query('SHOW server_version_num')).rows[0].server_version_num);
    await pool.query('CREATE TABLE orders (id int PRIMARY KEY, v int NOT NULL DEFAULT 0)');
    await pool.query('INSERT INTO orders (id) SELECT generate_series(1, 2000)');
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('says how to enable pg_stat_statements when the extension is not created', async () => {
    const r = await readStatementStats(pool, ['orders'], versionNum, Date.now());
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.note).toMatch(/CREATE EXTENSION pg_stat_statements/);
  });

  it('measures the load on the touched table, window by window, without pgrunbook statements', async () => {
    await pool.query('CREATE EXTENSION pg_stat_statements');
    await pool.query('SELECT pg_stat_statements_reset()');
    // A statement of pgrunbook's own (it names the pgrunbook schema) and one on another table.
    await pool.query('CREATE TABLE other (id int)');
    await pool.query('CREATE SCHEMA pgrunbook');
    await pool.query('SELECT count(*) FROM orders o, (SELECT 1 AS __pgrunbook_x) x');
    await pool.query('SELECT count(*) FROM other');

    const load = startPgbench(db.url, LOAD, { clients: 2, seconds: 2 });
    await load.done;
    const first = await readStatementStats(pool, ['public.orders'], versionNum, Date.now());
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    expect(first.stats.some((s) => /pgrunbook/i.test(s.query))).toBe(false);
    expect(first.stats.some((s) => /\bother\b/.test(s.query))).toBe(false);
    expect(first.stats.map((s) => s.query).join('\n')).toMatch(/UPDATE orders/);
    const base = baselineOf(first.stats)!;
    expect(base.calls).toBeGreaterThan(50);
    expect(base.meanMs).toBeGreaterThan(0);
    if (major >= 17) expect(first.stats[0]!.since).not.toBeNull();

    const second = startPgbench(db.url, LOAD, { clients: 2, seconds: 1 });
    await second.done;
    const next = await readStatementStats(pool, ['orders'], versionNum, first.at + 1000);
    if (!next.ok) throw new Error(next.note);
    const d = deltaOf(first, next)!;
    expect(d.calls).toBeGreaterThan(20);
    expect(d.meanMs).toBeGreaterThan(0);
    expect(d.callsPerSec).toBeCloseTo(d.calls, 5); // one second between the two readings
    // No calls between two readings: no window to judge.
    expect(deltaOf(next, { ...next, at: next.at + 1000 })).toBeNull();
  });

  it('lists sessions waiting for a lock on the touched tables', async () => {
    const holder = await pool.connect();
    const waiter = new pg.Client(db.url);
    await waiter.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
      const waiting = waiter.query('SELECT count(*) FROM orders').catch(() => {});
      let waits: Awaited<ReturnType<typeof readLockWaits>> = [];
      for (let i = 0; i < 50 && waits.length === 0; i++) {
        waits = await readLockWaits(pool, ['public.orders', 'missing_table']);
        if (waits.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(waits).toHaveLength(1);
      expect(waits[0]).toMatchObject({ rel: 'orders', mode: 'AccessShareLock' });
      expect(waits[0]!.query).toMatch(/SELECT count/);
      await holder.query('ROLLBACK');
      await waiting;
    } finally {
      holder.release();
      await waiter.end();
    }
  });
});

describe('tablePatterns', () => {
  it('matches the bare table name as a word, whatever the schema or quoting', () => {
    const [re] = tablePatterns(['app."Orders.v2"']).map((p) => p.replace(/\\m|\\M/g, '\\b'));
    expect(new RegExp(re!, 'i').test('select * from "Orders.v2" where')).toBe(true);
    expect(tablePatterns(['public.orders'])).toEqual(['\\morders\\M']);
  });
});
