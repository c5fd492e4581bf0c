// Replication figures from a real primary with a real streaming standby (its own pair of servers).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { majors } from '../support/pg.js';
import { resolveConnection } from '../../src/pg/connection.js';
import { Monitor } from '../../src/monitor/monitor-poller.js';
import { startReplicated, type Replicated } from './support/standby.js';
import { waitFor } from './support/scenarios.js';

describe('replication', () => {
  let rep: Replicated;
  let primary: Monitor;
  let standby: Monitor;
  let admin: pg.Client;
  beforeAll(async () => {
    rep = await startReplicated(majors()[0]!);
    primary = Monitor.connect(resolveConnection(rep.primary.url));
    standby = Monitor.connect(resolveConnection(rep.standbyUrl));
    admin = new pg.Client(rep.primary.url);
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await primary?.stop();
    await standby?.stop();
    await rep?.stop();
  });

  it('shows each standby with lag in bytes and time, its slot, and the WAL rate', async () => {
    await primary.poll();
    await admin.query(`create table filler as select g, repeat('x', 100) as pad from generate_series(1, 50000) g`);
    const s = await primary.poll();
    expect(s.role).toBe('primary');
    expect(s.walBytesPerSecond).toBeGreaterThan(0);
    expect(s.standbys).toHaveLength(1);
    const sb = s.standbys[0]!;
    expect(sb).toMatchObject({ name: 'standby1', clientAddr: '127.0.0.1', state: 'streaming', slot: 'standby1', syncState: 'async' });
    expect(sb.lagBytes).toBeGreaterThanOrEqual(0);
    // replay_lag is a number while WAL flows and NULL once the standby is idle and caught up.
    expect(sb.replayLagSeconds === null || sb.replayLagSeconds >= 0).toBe(true);
    expect(s.slots).toEqual([expect.objectContaining({ name: 'standby1', type: 'physical', active: true })]);
    expect(s.notes).toEqual([]);
  });

  it('shows a slot nobody uses and the WAL it holds back', async () => {
    await admin.query(`select pg_create_physical_replication_slot('forgotten', true)`);
    try {
      await admin.query(`insert into filler select g, repeat('y', 100) from generate_series(1, 20000) g`);
      const s = await primary.poll();
      const slot = s.slots!.find((x) => x.name === 'forgotten')!;
      expect(slot).toMatchObject({ active: false, type: 'physical', walStatus: 'reserved' });
      expect(slot.retainedBytes).toBeGreaterThan(0);
    } finally {
      await admin.query(`select pg_drop_replication_slot('forgotten')`);
    }
  });

  it('monitors a standby itself: replay position instead of pg_current_wal_lsn(), no errors', async () => {
    await standby.poll();
    await admin.query(`insert into filler select g, repeat('z', 100) from generate_series(1, 20000) g`);
    const target = (await admin.query(`select pg_current_wal_lsn()::text as l`)).rows[0].l as string;
    await waitFor(async () => {
      const c = new pg.Client(rep.standbyUrl);
      await c.connect();
      try {
        return (await c.query(`select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok`, [target])).rows[0].ok;
      } finally {
        await c.end();
      }
    }, 'the standby to replay the inserts');
    const s = await standby.poll();
    expect(s.role).toBe('standby');
    expect(s.notes).toEqual([]);
    expect(s.unavailable).toEqual([]);
    expect(s.recovery).toMatchObject({ replayLsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/) });
    expect(s.recovery!.replayGapBytes).toBeGreaterThanOrEqual(0);
    expect(s.walBytesPerSecond).toBeGreaterThan(0); // replay rate
    expect(s.standbys).toEqual([]);
  });
});
