// The rollback-bad-deploy lesson asks instead of rolling back by itself (its bad_deploy drill),
// from real runs (scripted answers, real PostgreSQL): "roll back now" restores service at once
// and scores full marks; "wait" watches the errors go on, then rolls back, scores less, and the
// summary counts the requests that failed after the answer.
import { describe, expect, it } from 'vitest';
import { formatMs } from '../../src/util/units.js';
import { useTestDatabase } from '../support/pg.js';
import { drillLesson, runAnswered } from './support/drill-lesson.js';

const { lesson, choice, best } = drillLesson('rollback-bad-deploy');
const bad = lesson.bad_deploy!;
const MEASURED =
  /measured: (\d+) requests had failed in the (\d+\.\d) s from the first error to the question; (\d+) more failed from your answer to the end of the rollback\./;

async function hasConstraint(db: ReturnType<typeof useTestDatabase>): Promise<boolean> {
  const { rows } = await db.pool.query(`select 1 from pg_constraint where conname = 'orders_status_not_packed'`);
  return rows.length === 1;
}

describe('the rollback-bad-deploy drill, scored from a real run', () => {
  const db = useTestDatabase();

  it('roll back now: the rollback runs on the answer, service is back, full marks', async () => {
    const r0 = choice('roll_back');
    expect(r0.key).toBe(best.key);
    const { r, res, text, progress, report } = await runAnswered(db.url, lesson, r0.key, 25);
    expect(res.drill?.choice.key, text).toBe(r0.key);
    expect(res.drill!.choice.score).toBe(res.drill!.max);
    expect(text).toContain('answer (scripted): r');
    expect(res.rollback?.status, text).toBe('completed');
    expect(res.rollback!.errorsAfter, text).toBe(0);
    const m = MEASURED.exec(text);
    expect(m, text).not.toBeNull();
    // The question came after the errors had gone on roll_back_after, and some had failed by then.
    expect(Number(m![2]) * 1000).toBeGreaterThanOrEqual(bad.roll_back_after - 100);
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(text).toMatch(new RegExp(`: ${best.score}/${best.score}\\. The rollback completed \\d+\\.\\d s after your answer\\.`));
    expect(await hasConstraint(db)).toBe(false);
    expect(r.exitCode, text).toBe(0);
    expect(progress).toMatchObject({ drillScore: best.score, drillMax: best.score });
    expect(report).toContain('more failed from your answer to the end of the rollback');
  }, 240_000);

  it('wait: the errors go on for the watch, then the rollback; fewer points and the better answer named', async () => {
    const w = choice('wait');
    expect(w.score).toBeLessThan(best.score);
    const { res, text } = await runAnswered(db.url, lesson, w.key, 25);
    expect(res.drill!.choice.score).toBe(w.score);
    expect(text).toContain(`drill: watching the errors for another ${formatMs(bad.watch)}`);
    // The line after the watch is counted from the requests that failed during it.
    expect(text).toMatch(/drill: [1-9]\d* more application requests failed while watching: the errors did not stop by themselves/);
    expect(res.rollback?.status, text).toBe('completed');
    // The watch was real: writes kept failing after the answer, and service came back later than roll_back_after + watch.
    const m = MEASURED.exec(text);
    expect(Number(m![3]), text).toBeGreaterThan(0);
    expect(res.rollback!.restoreMs!).toBeGreaterThan(bad.roll_back_after + bad.watch);
    expect(res.rollback!.errorsAfter, text).toBe(0);
    expect(text).toContain(`An experienced operator would "${best.label}"`);
    expect(await hasConstraint(db)).toBe(false);
  }, 240_000);

  it("keep going: no rollback until the lesson's cap from the first error, said on screen; no points", async () => {
    const k = choice('keep_going');
    expect(k.score).toBe(0);
    const { res, text } = await runAnswered(db.url, lesson, k.key, 25);
    expect(res.drill!.choice.score).toBe(0);
    expect(text).toContain(
      `drill: keeping the deploy; the application's writes keep failing. The lesson rolls back at its cap, ${formatMs(lesson.cap)} after the first error`,
    );
    // The rollback came only at the cap, and the writes failed all along until then.
    expect(res.rollback?.status, text).toBe('completed');
    expect(res.rollback!.restoreMs!).toBeGreaterThanOrEqual(lesson.cap);
    const m = MEASURED.exec(text);
    expect(Number(m![3]), text).toBeGreaterThan(Number(m![1]));
    expect(res.rollback!.errorsAfter, text).toBe(0);
    expect(text).toContain(`An experienced operator would "${best.label}"`);
  }, 240_000);
});
