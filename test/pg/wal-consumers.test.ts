// Who takes the server's WAL, read on a real server: a replication slot counts, and the words say
// what was found. (A streaming standby is counted in backfill/standby-lag.test.ts.)
import { describe, expect, it } from 'vitest';
import { describeWalConsumers, readWalConsumers } from '../../src/pg/wal-consumers.js';
import { withReplicationSlot } from '../support/pg-session.js';
import { edgeMajors, useTestDatabase } from '../support/pg.js';

describe.each(edgeMajors())('readWalConsumers, PostgreSQL %i', (major) => {
  const db = useTestDatabase(major);

  it('counts a replication slot while it exists, and reads archive_mode', async () => {
    const before = (await readWalConsumers(db.pool))!;
    expect(before).toMatchObject({ standbys: 0, archive: false });
    const during = await withReplicationSlot(db.url, () => readWalConsumers(db.pool));
    expect(during!.slots).toBe(before.slots + 1);
    expect(describeWalConsumers(during!)).toMatch(/^\d+ replication slots?$/);
    expect((await readWalConsumers(db.pool))!.slots).toBe(before.slots);
  });

  it('says undefined, not a guess, when the server cannot be asked', async () => {
    const broken = { query: async () => Promise.reject(new Error('Connection terminated')) };
    expect(await readWalConsumers(broken as never)).toBeUndefined();
  });
});

describe('describeWalConsumers', () => {
  it('names each kind with its count, and none as null', () => {
    expect(describeWalConsumers({ standbys: 0, slots: 0, archive: false })).toBeNull();
    expect(describeWalConsumers({ standbys: 2, slots: 1, archive: true })).toBe(
      '2 standbys streaming, 1 replication slot, archive_mode on',
    );
    expect(describeWalConsumers({ standbys: 0, slots: 0, archive: true })).toBe('archive_mode on');
  });
});
