// A real streaming standby of the suite's server: rows written on the primary are read on the
// standby, replay lag shows in pg_stat_replication while the standby's replay is paused and goes
// back to nothing when it resumes, and stop() leaves no server, files or slot behind.
import { existsSync } from 'node:fs';
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedStandby } from '../../src/pg/embedded-standby.js';
import { edgeMajors, useTestDatabase } from '../support/pg.js';

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

describe.each(edgeMajors())('embedded standby on PostgreSQL %i', (major) => {
  const db = useTestDatabase(major);
  let standby: EmbeddedStandby;
  let replica: pg.Client;

  beforeAll(async () => {
    await db.query('CREATE TABLE t (id bigint PRIMARY KEY, v text)');
    standby = await EmbeddedStandby.start(db.url);
    replica = new pg.Client({ connectionString: standby.url });
    replica.on('error', () => {});
    await replica.connect();
  }, 120_000);

  afterAll(async () => {
    await replica?.end().catch(() => {});
    await standby?.stop();
  });

  it('streams: a hot standby in recovery, replaying what the primary writes', async () => {
    const [walSender] = await db.query('SELECT state, sync_state FROM pg_stat_replication WHERE application_name = $1', [standby.name]);
    expect(walSender).toMatchObject({ state: 'streaming', sync_state: 'async' });
    const [slot] = await db.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [standby.name]);
    expect(slot).toEqual({ active: true });
    expect((await replica.query('SELECT pg_is_in_recovery() AS r')).rows[0].r).toBe(true);
    await expect(replica.query("INSERT INTO t VALUES (0, 'x')")).rejects.toThrow(/read-only/);

    await db.query("INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, 5000) g");
    const count = await until('the rows on the standby', async () => {
      const n = Number((await replica.query('SELECT count(*) AS n FROM t')).rows[0].n);
      return n === 5000 ? n : undefined;
    });
    expect(count).toBe(5000);
    expect((await replica.query('SELECT v FROM t WHERE id = 4321')).rows[0].v).toBe('row 4321');
  }, 60_000);

  it('lags measurably while replay is paused, and catches up when it resumes', async () => {
    await replica.query('SELECT pg_wal_replay_pause()');
    // Where the UPDATE's WAL ends. Not pg_current_wal_lsn(): that is how far WAL was written, and with
    // synchronous_commit off (the test servers) the commit record can still be in memory.
    let updatedTo = '';
    try {
      await db.query("UPDATE t SET v = v || ' updated'");
      updatedTo = (await db.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn'))[0]!.lsn;
      // The standby receives the WAL but does not replay it: bytes behind on the primary's side.
      const lag = await until('a replay lag in pg_stat_replication', async () => {
        const [r] = await db.query<{ lag_bytes: number; replay_lag_ms: number | null }>(
          `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::float8 AS lag_bytes,
                  extract(epoch FROM replay_lag)::float8 * 1000 AS replay_lag_ms
             FROM pg_stat_replication WHERE application_name = $1`,
          [standby.name],
        );
        return r && r.lag_bytes > 100_000 ? r : undefined;
      });
      expect(lag.lag_bytes).toBeGreaterThan(100_000);
      expect((await replica.query("SELECT count(*) AS n FROM t WHERE v LIKE '%updated'")).rows[0].n).toBe('0');
    } finally {
      await replica.query('SELECT pg_wal_replay_resume()');
    }
    await until('the standby to replay past the UPDATE', async () => {
      const [r] = await db.query<{ behind: number }>(
        'SELECT pg_wal_lsn_diff($2::pg_lsn, replay_lsn)::float8 AS behind FROM pg_stat_replication WHERE application_name = $1',
        [standby.name, updatedTo],
      );
      return r && r.behind <= 0 ? r : undefined;
    });
    expect((await replica.query("SELECT count(*) AS n FROM t WHERE v LIKE '%updated'")).rows[0].n).toBe('5000');
  }, 60_000);

  it('stops cleanly: no server, no data directory, no slot on the primary', async () => {
    const other = await EmbeddedStandby.start(db.url);
    const { port, dataDir } = other.server;
    expect(await portOpen(port)).toBe(true);
    await other.stop();
    expect(await portOpen(port)).toBe(false);
    expect(existsSync(dataDir)).toBe(false);
    expect(await db.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [other.name])).toEqual([]);
    expect(await db.query('SELECT 1 FROM pg_stat_replication WHERE application_name = $1', [other.name])).toEqual([]);
  }, 120_000);
});
