// The Workload panel's monitor side on real servers under pgbench: the application's statements on
// the watched table with calls/s and the mean before the monitor started, a session waiting on a row
// of that table, checkpoints counted since the start, a note (not an error) without the extension, and
// client backends' own writes and evictions from pg_stat_io (16+; said to be absent on 14).
// CAPTURE_WORKLOAD=1 writes the sample to test/ui/panels/fixtures/ for the panel's ink tests.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConnection } from '../../src/pg/connection.js';
import { Monitor } from '../../src/monitor/monitor-poller.js';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { startPgbench } from '../support/pgbench.js';
import { openSession, waitFor } from './support/scenarios.js';
import { formatSampleLine } from '../../src/monitor/monitor-text.js';
import { pressureSegs } from '../../src/ui/panels/workload-panel.js';

const LOAD = `\\set id random(2, 3000)
SELECT v FROM orders WHERE id = :id;
UPDATE orders SET v = v + 1 WHERE id = :id;
`;
// A bulk write (CREATE TABLE AS, about 40 MB through a 16 MB ring) makes the backend write buffers itself.
const BULK = `DROP TABLE IF EXISTS bulk_:client_id;
CREATE TABLE bulk_:client_id AS SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 300000) g;
`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(edgeMajors())('workload watch, PostgreSQL %i', (major) => {
  const db = useTestDatabase(major);
  let monitor: Monitor;
  beforeAll(async () => {
    await db.query('CREATE TABLE orders (id int PRIMARY KEY, v int NOT NULL DEFAULT 0)');
    await db.query('INSERT INTO orders (id) SELECT generate_series(1, 3000)');
  });
  afterAll(async () => {
    await monitor?.stop();
  });

  it('says in one line how to enable pg_stat_statements when it is missing, and still shows the rest', async () => {
    const m = Monitor.connect(resolveConnection(db.url), { relations: ['orders'] });
    try {
      const s = await m.poll();
      expect(s.workload?.statementsAvailable).toBe(false);
      expect(s.workload?.notes[0]).toMatch(/^pg_stat_statements unreadable: run `CREATE EXTENSION pg_stat_statements` in this database/);
      expect(s.workload?.checkpoints?.requested).toBe(0);
      if (process.env.CAPTURE_WORKLOAD && major === 18) {
        writeFileSync(
          new URL('../ui/panels/fixtures/workload-no-extension.pg18.json', import.meta.url),
          `${JSON.stringify({ walBytesPerSecond: s.walBytesPerSecond, workload: s.workload }, null, 2)}\n`,
        );
      }
    } finally {
      await m.stop();
    }
  });

  it('shows the statements on the table under load with their calls/s and earlier mean, and a session waiting on a row', async () => {
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const warm = startPgbench(db.url, LOAD, { clients: 2, seconds: 1 });
    await warm.done;
    monitor = Monitor.connect(resolveConnection(db.url), { relations: ['orders'] });
    await monitor.poll(); // the mean recorded so far becomes each statement's "before"
    const load = startPgbench(db.url, LOAD, { clients: 2, seconds: 30 });
    const { client: holder } = await openSession(db.url, 'holder');
    try {
      await holder.query('BEGIN');
      await holder.query('UPDATE orders SET v = v WHERE id = 1');
      const { client: waiter } = await openSession(db.url, 'app');
      const blocked = waiter.query('UPDATE orders SET v = v + 1 WHERE id = 1').catch(() => undefined);
      await sleep(1200);
      const s = await waitFor(
        async () => {
          const x = await monitor.poll();
          return (x.workload?.statements.length ?? 0) >= 2 && (x.workload?.lockWaits.length ?? 0) >= 1 && x;
        },
        'two statements and a lock wait in the workload sample',
        20_000,
      );
      const w = s.workload!;
      expect(w.statementsAvailable).toBe(true);
      const update = w.statements.find((x) => /^UPDATE orders SET v = v \+ \$1 WHERE id = \$2/.test(x.query))!;
      expect(update).toBeDefined();
      expect(update.calls).toBeGreaterThan(0);
      expect(update.callsPerSec).toBeGreaterThan(0);
      expect(update.meanMs).toBeGreaterThan(0);
      expect(update.baselineMeanMs).toBeGreaterThan(0);
      expect(w.lockWaits[0]).toMatchObject({ relation: 'orders', lockType: 'transactionid', mode: 'ShareLock' });
      expect(w.lockWaits[0]!.query).toMatch(/WHERE id = 1/);
      expect(w.lockWaits[0]!.waitMs).toBeGreaterThan(500);
      if (process.env.CAPTURE_WORKLOAD && major === 18) {
        writeFileSync(
          new URL(`../ui/panels/fixtures/workload-sample.pg${major}.json`, import.meta.url),
          `${JSON.stringify({ walBytesPerSecond: s.walBytesPerSecond, workload: w }, null, 2)}\n`,
        );
      }
      await holder.query('ROLLBACK');
      await blocked;
      await waiter.end();
    } finally {
      await load.stop();
      await holder.end().catch(() => undefined);
    }
  });

  it("counts client backends' own writes under load (pg_stat_io), or says it needs 16", async () => {
    const m = Monitor.connect(resolveConnection(db.url), { relations: ['orders'] });
    const load = startPgbench(db.url, LOAD, { clients: 2, seconds: 30 });
    const bulk = startPgbench(db.url, BULK, { clients: 1, seconds: 30 });
    try {
      await m.poll(); // the counters at the start
      if (major < 16) {
        await sleep(1500);
        const s = await m.poll();
        expect(s.workload?.backendIo).toBeNull();
        expect(formatSampleLine(s)).toContain('| backend I/O: pg_stat_io needs PostgreSQL 16 or later |');
        expect(
          pressureSegs(s.walBytesPerSecond, s.workload!)
            .map((x) => x.text)
            .join(''),
        ).toContain(' · backend I/O: pg_stat_io needs PostgreSQL 16 or later');
        return;
      }
      const s = await waitFor(
        async () => {
          const x = await m.poll();
          return (x.workload?.backendIo?.writes ?? 0) > 0 && x;
        },
        'backend writes since the start',
        25_000,
      );
      const io = s.workload!.backendIo!;
      // Shared buffers (128MB) never fill here, so evictions stay near 0: the ring's writes are the figure.
      expect(formatSampleLine(s)).toContain(
        `| backends wrote ${io.writes} buffers, evicted ${io.evictions}, fsynced ${io.fsyncs} since start |`,
      );
      expect(
        pressureSegs(s.walBytesPerSecond, s.workload!)
          .map((x) => x.text)
          .join(''),
      ).toContain(` · backends wrote ${io.writes} buffers, evicted ${io.evictions}, fsynced ${io.fsyncs}`);
    } finally {
      await Promise.all([load.stop(), bulk.stop()]);
      await m.stop();
    }
  }, 60_000);
});
