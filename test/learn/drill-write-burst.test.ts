// The add-column-default lesson's write_burst drill from real runs (scripted answers, real
// PostgreSQL): as the backfill starts, real extra UPDATE traffic hits orders; pausing the backfill
// (resumed by pgrunbook when the burst is over) scores full marks, keeping going on the throttle
// alone scores less; the summary gives the application's latency measured before and after the
// answer, the batches run during the burst and what the throttle did.
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/pg.js';
import { drillLesson, runAnswered } from './support/drill-lesson.js';

const { lesson, drill, choice, best } = drillLesson('add-column-default');
const MEASURED =
  /measured during the (\d+\.\d) s burst: before your answer \(backfill running\): p99 \S+, worst \S+ over (\d+) requests; after it \(backfill (paused|running|aborted)\): p99 \S+, worst \S+ over (\d+) requests; (?:the backfill sat out (\d+\.\d) s of it; )?the throttle (acted \([^)]*\)|did not act)\./;

async function unfilled(db: ReturnType<typeof useTestDatabase>): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(`select count(*) as n from orders where ref is null`);
  return Number(rows[0]!.n);
}

describe('the add-column-default write_burst drill, scored from a real run', () => {
  const db = useTestDatabase();

  it('pause: the backfill waits out the burst, resumes, completes; full marks, latency measured', async () => {
    const p = choice('pause');
    expect(p.key).toBe(best.key);
    const { res, text, progress } = await runAnswered(db.url, lesson, p.key, 25);
    expect(res.safe.status, text).toBe('completed');
    expect(res.drill!.choice.score).toBe(res.drill!.max);
    expect(text).toMatch(new RegExp(`drill: a write burst on orders: ${drill.burst_rate} extra UPDATEs a second`));
    expect(text).toMatch(/drill: the write burst is over \([1-9]\d* writes, \d+ failed\)/);
    expect(text).toContain('drill: pausing the backfill between batches');
    expect(text).toContain('drill: resuming the backfill');
    const m = MEASURED.exec(text);
    expect(m, text).not.toBeNull();
    expect(m![3]).toBe('paused');
    expect(Number(m![1]) * 1000).toBeGreaterThanOrEqual(drill.burst_for - 100);
    expect(Number(m![4])).toBeGreaterThan(0);
    // The runner's own pause and unpause events: paused from the answer to the burst's end.
    expect(Number(m![5]) * 1000).toBeGreaterThan(drill.burst_for - drill.ask_after - 1000);
    expect(await unfilled(db)).toBe(0);
    expect(progress).toMatchObject({ drillScore: best.score, drillMax: best.score });
  }, 240_000);

  it('keep going: the backfill runs through the burst on its throttle; fewer points, the better answer named', async () => {
    const k = choice('keep_going');
    expect(k.score).toBeLessThan(best.score);
    const { res, text } = await runAnswered(db.url, lesson, k.key, 25);
    expect(res.safe.status, text).toBe('completed');
    expect(res.drill!.choice.score).toBe(k.score);
    const m = MEASURED.exec(text);
    expect(m, text).not.toBeNull();
    expect(m![3]).toBe('running');
    expect(m![5]).toBeUndefined();
    expect(text).not.toContain('drill: resuming the backfill');
    expect(text).toContain(`An experienced operator would "${best.label}"`);
    expect(await unfilled(db)).toBe(0);
  }, 240_000);

  it('abort: the backfill stops during the burst, part of the rows stay NULL', async () => {
    const a = choice('abort');
    const { res, text } = await runAnswered(db.url, lesson, a.key, 25);
    expect(res.safe.status, text).toBe('aborted');
    expect(res.drill!.choice.score).toBe(a.score);
    expect(MEASURED.exec(text)?.[3], text).toBe('aborted');
    const left = await unfilled(db);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(lesson.rows);
  }, 240_000);
});
