// A row that another session updates and commits after a SKIP LOCKED batch took its snapshot, but
// before the batch reached the row: the batch locks the row's newer version, which its own snapshot
// cannot see, so its UPDATE/DELETE by ctid passes the row by. The row must then count as skipped and
// be done by the retry pass, never counted as done and left behind. The `where` sleeps on one key to
// hold the statement between its snapshot and that row's lock while the other session commits.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { introspectTable } from '../../src/backfill/backfill-target.js';
import { literalBinder, retryBatchSql, skipLockedBatchSql } from '../../src/backfill/batch-sql.js';
import { createCursor } from '../../src/backfill/cursor-store.js';
import { retryDeleteSql, skipLockedDeleteSql } from '../../src/backfill/delete-sql.js';
import { edgeMajors, useTestDatabase } from '../support/pg.js';
import { createStateSchema } from './helpers.js';

const RACED = 5;
// Sleeps only while evaluating the raced row; the other session commits during those seconds.
const SLEEP_ON_RACED = `(id <> ${RACED} OR pg_sleep(2) IS NOT NULL)`;

describe.each(edgeMajors())('a row updated after the batch snapshot, on PostgreSQL %i', (major) => {
  const db = useTestDatabase(major);

  async function setUp(stepId: string) {
    await createStateSchema(db.pool);
    await db.query(`drop table if exists raced; delete from pgrunbook.backfill_cursors; delete from pgrunbook.backfill_skipped`);
    await db.query(`create table raced (id bigint primary key, v int not null default 0, filled int)`);
    await db.query(`insert into raced (id) select g from generate_series(1, 10) g`);
    const info = await introspectTable(db.pool, 'raced');
    await createCursor(db.pool, { runId: 'r1', stepId, tableName: 'raced', keyColumns: ['id'], upperBound: ['10'], batchSize: 10 });
    return info;
  }

  /** Runs `sql` and, once it sleeps on the raced row, updates that row from another session and commits. */
  async function raceWithAppUpdate(sql: string): Promise<{ updated: number; skipped: number }> {
    const app = new pg.Client(db.url);
    await app.connect();
    try {
      const batch = db.query(sql);
      await untilBatchSleeps(app);
      await app.query(`update raced set v = v + 1 where id = ${RACED}`);
      const [row] = await batch;
      return { updated: row.updated, skipped: row.skipped };
    } finally {
      await app.end();
    }
  }

  async function untilBatchSleeps(app: pg.Client): Promise<void> {
    for (let waited = 0; waited < 20_000; waited += 20) {
      const r = await app.query(`select 1 from pg_stat_activity where wait_event = 'PgSleep' and query like '%__pgrunbook_skip%'`);
      if (r.rowCount) return;
      await new Promise((res) => setTimeout(res, 20));
    }
    throw new Error('the batch never reached the raced row');
  }

  const move = (stepId: string) => ({ runId: 'r1', stepId, end: ['10'], keys: null, batchSize: 10 });

  it('an UPDATE batch records the raced row as skipped, and the retry pass fills it once', async () => {
    const info = await setUp('fill');
    const b = { info, set: 'filled = coalesce(filled, 0) + 1', where: `filled IS NULL AND ${SLEEP_ON_RACED}` };
    const first = await raceWithAppUpdate(skipLockedBatchSql(b, null, move('fill'), literalBinder));
    expect(first).toEqual({ updated: 9, skipped: 1 });
    expect(await db.query(`select key from pgrunbook.backfill_skipped`)).toEqual([{ key: [String(RACED)] }]);

    const [retry] = await db.query(retryBatchSql(b, 'r1', 'fill', 10, null, literalBinder));
    expect(retry).toMatchObject({ considered: 1, updated: 1, resolved: 1 });
    expect(await db.query(`select count(*)::int as n from pgrunbook.backfill_skipped`)).toEqual([{ n: 0 }]);
    // Every row filled exactly once, and the application's update kept.
    expect(await db.query(`select filled, count(*)::int as n from raced group by filled`)).toEqual([{ filled: 1, n: 10 }]);
    expect(await db.query(`select v from raced where id = ${RACED}`)).toEqual([{ v: 1 }]);
    const [cursor] = await db.query(`select rows_done::int from pgrunbook.backfill_cursors`);
    expect(cursor.rows_done).toBe(10);
  });

  it('a DELETE batch records the raced row as skipped, and the retry pass deletes it', async () => {
    const info = await setUp('purge');
    const b = { info, where: SLEEP_ON_RACED };
    const first = await raceWithAppUpdate(skipLockedDeleteSql(b, null, move('purge'), literalBinder));
    expect(first).toEqual({ updated: 9, skipped: 1 });

    const [retry] = await db.query(retryDeleteSql(b, 'r1', 'purge', 10, null, literalBinder));
    expect(retry).toMatchObject({ considered: 1, updated: 1, resolved: 1 });
    expect(await db.query(`select count(*)::int as n from raced`)).toEqual([{ n: 0 }]);
    const [cursor] = await db.query(`select rows_done::int from pgrunbook.backfill_cursors`);
    expect(cursor.rows_done).toBe(10);
  });
});
