// WAL and checkpoint counters on real servers (pg_stat_wal; pg_stat_bgwriter before 17,
// pg_stat_checkpointer from 17) under a pgbench write load, the wal_rate rule firing on that load and
// letting go when it stops, and a role that may not read the views getting a note, not a crash.
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendIoSince, pressureWindow, readServerPressure } from '../../src/pg/server-pressure.js';
import { WalCheckpointWatch } from '../../src/backfill/wal-checkpoint-rules.js';
import { createDatabase, majors, withDatabase } from '../support/pg.js';
import { startPgbench } from '../support/pgbench.js';

const WRITE_LOAD = `\\set id random(1, 5000)
UPDATE items SET pad = md5(pad) || md5(random()::text) WHERE id = :id;
`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('backendIoSince', () => {
  it('counts between readings, from the reset after a stats reset, and is null without pg_stat_io', () => {
    const start = { writes: 100, fsyncs: 10, evictions: 50 };
    expect(backendIoSince(start, { writes: 130, fsyncs: 12, evictions: 50 })).toEqual({ writes: 30, fsyncs: 2, evictions: 0 });
    // pg_stat_reset_shared('io') since the first reading: the counts start again from zero.
    expect(backendIoSince(start, { writes: 7, fsyncs: 1, evictions: 3 })).toEqual({ writes: 7, fsyncs: 1, evictions: 3 });
    expect(backendIoSince(undefined, { writes: 7, fsyncs: 1, evictions: 3 })).toEqual({ writes: 7, fsyncs: 1, evictions: 3 });
    expect(backendIoSince(start, null)).toBeNull();
  });
});

describe.each(majors())('server pressure, PostgreSQL %i', (major) => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let pool: pg.Pool;
  let versionNum: number;
  const read = async () => {
    const r = await readServerPressure(pool, versionNum, 'public.items', Date.now());
    if (!r.ok) throw new Error(r.note);
    return r;
  };
  beforeAll(async () => {
    db = await createDatabase(major, 'sp');
    pool = new pg.Pool({ connectionString: db.url, max: 3 });
    pool.on('error', () => {});
    versionNum = Number((await pool.query('SHOW server_version_num')).rows[0].server_version_num);
    await pool.query('CREATE TABLE items (id int PRIMARY KEY, pad text NOT NULL)');
    await pool.query("INSERT INTO items SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g");
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('counts the WAL a write load produces and a requested checkpoint with its buffers', async () => {
    const load = startPgbench(db.url, WRITE_LOAD, { clients: 2, seconds: 3 });
    const before = await read();
    await load.done;
    const mid = await read();
    const w = pressureWindow(before, mid)!;
    // What the server itself counted since the first reading, against our window's figure.
    expect(w.walBytesPerSec * w.seconds).toBeCloseTo(mid.walBytes - before.walBytes, 3);
    expect(w.walBytesPerSec).toBeGreaterThan(0);
    await pool.query('CHECKPOINT');
    // The checkpointer reports its counters on its own schedule (on 14 through the stats collector).
    let c = pressureWindow(mid, await read())!;
    for (let i = 0; i < 40 && c.checkpointsRequested === 0; i++) {
      await sleep(250);
      c = pressureWindow(mid, await read())!;
    }
    expect(c.checkpointsRequested).toBeGreaterThanOrEqual(1);
    expect(c.maxWalSize).toMatch(/\d/);
  });

  it('fires wal_rate on the load with the measured figure and lets go once the load stops', async () => {
    // The limit is a tenth of what this load writes here and now, so the figure decides, not a constant.
    const probe = startPgbench(db.url, WRITE_LOAD, { clients: 2, seconds: 2 });
    const a = await read();
    await probe.done;
    const loadRate = pressureWindow(a, await read())!.walBytesPerSec;
    const limit = Math.max(1, Math.round(loadRate / 10));
    const watch = new WalCheckpointWatch({ walRateBytes: limit, checkpointPressureMs: 0, explicit: true }, 'public.items', read, () => {});
    await watch.poll();
    const load = startPgbench(db.url, WRITE_LOAD, { clients: 2, seconds: 3 });
    await sleep(1000);
    const fired = await watch.poll();
    expect(fired.window!.walBytesPerSec).toBeGreaterThan(limit);
    expect(fired.walRate?.gapFactor).toBeGreaterThan(0);
    expect(fired.walRate?.detail).toMatch(/^WAL written at [\d.]+ MB\/s over the last [\d.]+ s, over the [\d.]+ MB\/s limit/);
    await load.done;
    // Other test files may write WAL on this server too: give them time, then judge by the figure.
    let released: Awaited<ReturnType<typeof watch.poll>> | undefined;
    for (let i = 0; i < 60 && !released; i++) {
      await sleep(500);
      const v = await watch.poll();
      if (v.walRate === null) released = v;
    }
    expect(released).toBeDefined();
    expect(released!.window!.walBytesPerSec).toBeLessThan(limit);
  });

  it('gives a role that may not read pg_stat_wal a note naming what to grant', async () => {
    const role = `nowal_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(8).toString('hex');
    await pool.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await pool.query('REVOKE SELECT ON pg_stat_wal FROM PUBLIC'); // in this test database only
    const url = new URL(withDatabase(db.url, db.name));
    url.username = role;
    url.password = password;
    const c = new pg.Client(url.toString());
    await c.connect();
    try {
      const r = await readServerPressure(c, versionNum, 'public.items', Date.now());
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.sqlstate).toBe('42501');
        expect(r.note).toMatch(/^WAL and checkpoints are not watched: permission denied .*pg_stat_wal.*grant this role SELECT/);
      }
    } finally {
      await c.end();
      await pool.query('GRANT SELECT ON pg_stat_wal TO PUBLIC');
      await pool.query(`DROP ROLE ${role}`);
    }
  });
});
