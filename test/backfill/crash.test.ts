// Small crash test (the full one is bench/backfill-crash.ts): a child process runs a non-idempotent
// backfill, is killed with SIGKILL at random moments and restarted with the same run id / step id.
// Every row must end up updated exactly once.
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/pg.js';
import { crashLoop } from '../../bench/lib/crash-driver.js';
import { counterHistogram, createStateSchema } from './helpers.js';

describe('backfill crash safety', () => {
  const db = useTestDatabase();

  it('3 kill -9 during a 30k-row counter = counter + 1 backfill: every row updated exactly once', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table crash (id bigint primary key, counter int not null default 0, pad text)`);
    await db.query(`insert into crash select g, 0, repeat('x', 50) from generate_series(1, 30000) g`);
    const outcome = await crashLoop({
      url: db.url,
      runId: 'crash-run',
      stepId: 'fill',
      // Small batches with a short pause stretch the work so the kills land mid-backfill.
      params: { table: 'crash', set: 'counter = counter + 1', batch_size: 500, pause: '10ms' },
      kills: 3,
      maxDelayMs: () => 400,
      killAfterFirstBatch: true,
    });
    expect(outcome.kills).toBe(3);
    expect(outcome.finalResult.rowsDone).toBe(30000);
    expect(outcome.finalResult.resumed).toBe(true);
    expect(await counterHistogram(db, 'crash')).toEqual({ '1': 30000 });
    expect((await db.query(`select pass, rows_done::int from pgrunbook.backfill_cursors where run_id = 'crash-run'`))[0]).toEqual({
      pass: 'done',
      rows_done: 30000,
    });
  }, 120_000);

  it('3 kill -9 with workers: 2: both key ranges and the fold into one cursor stay exactly once', async () => {
    await createStateSchema(db.pool);
    await db.query(`create table crash2 (id bigint primary key, counter int not null default 0, pad text)`);
    await db.query(`insert into crash2 select g, 0, repeat('x', 50) from generate_series(1, 30000) g`);
    await db.query('analyze crash2');
    // What each kill left: whether the second range existed and was unfinished when it landed.
    const atKills: Promise<{ n: number; open: boolean | null }>[] = [];
    const outcome = await crashLoop({
      url: db.url,
      runId: 'crash-run-2',
      stepId: 'fill',
      params: { table: 'crash2', set: 'counter = counter + 1', batch_size: 500, pause: '10ms', workers: 2 },
      kills: 3,
      maxDelayMs: () => 150,
      killAfterFirstBatch: true,
      // The first kill waits for the split (on a loaded machine it can come after several batches), so
      // at least one kill lands while both ranges are open.
      midLife: (life) =>
        life === 1
          ? async () => {
              for (let i = 0; i < 300; i++) {
                const [r] = await db.query(`select count(*)::int as n from pgrunbook.backfill_ranges where run_id = 'crash-run-2'`);
                if (r.n > 0) return;
                await new Promise((res) => setTimeout(res, 20));
              }
            }
          : undefined,
      log: () =>
        atKills.push(
          db
            .query(
              `select count(*)::int as n, bool_or(cursor <> upper_bound) as open from pgrunbook.backfill_ranges where run_id = 'crash-run-2'`,
            )
            .then((r) => r[0]),
        ),
    });
    // At least one kill landed with both ranges in play.
    expect((await Promise.all(atKills)).some((k) => k.n === 1 && k.open === true)).toBe(true);
    expect(outcome.kills).toBe(3);
    expect(outcome.finalResult.rowsDone).toBe(30000);
    expect(outcome.finalResult.resumed).toBe(true);
    expect(await counterHistogram(db, 'crash2')).toEqual({ '1': 30000 });
    expect((await db.query(`select pass, rows_done::int from pgrunbook.backfill_cursors where run_id = 'crash-run-2'`))[0]).toEqual({
      pass: 'done',
      rows_done: 30000,
    });
    expect(await db.query(`select * from pgrunbook.backfill_ranges where run_id = 'crash-run-2'`)).toEqual([]);
  }, 120_000);
});
