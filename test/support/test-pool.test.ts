// The suite's own pools must survive the server ending their sessions: dropping a test database
// WITH (FORCE) right after pool.end() terminates sessions that are still closing (57P01).
import { describe, expect, it } from 'vitest';
import { createDatabase, testPool } from './pg.js';

describe('testPool', () => {
  it('an idle session the server terminates is dropped from the pool, not thrown as an uncaught error', async () => {
    const db = await createDatabase(undefined, 'tpool');
    const pool = testPool(db.url, 2);
    try {
      const pid = (await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      const removed = new Promise<void>((resolve) => pool.once('remove', () => resolve()));
      const killer = testPool(db.url, 1);
      await killer.query('select pg_terminate_backend($1)', [pid]);
      await killer.end();
      await removed;
      expect(pool.totalCount).toBe(0);
      expect((await pool.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
      await db.drop();
    }
  });
});
