// The lock-queue drill scored from real runs (scripted answers, real PostgreSQL): the best answer
// (end the forgotten session) scores full marks and the change lands; a worse one (abort) scores
// less, the summary says what an experienced operator would have done and why, and what it says
// happened is what happened to the table.
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/pg.js';
import { drillLesson, runAnswered } from './support/drill-lesson.js';

const { lesson, choice, best } = drillLesson('lock-queue');

async function hasNote(db: ReturnType<typeof useTestDatabase>): Promise<boolean> {
  const { rows } = await db.pool.query(`select 1 from information_schema.columns where table_name = 'orders' and column_name = 'note'`);
  return rows.length === 1;
}

describe('the lock-queue drill, scored from a real run', () => {
  const db = useTestDatabase();

  it('the best answer: the forgotten session is ended, the change lands, full marks', async () => {
    const t = choice('terminate_blocker');
    expect(t.key).toBe(best.key);
    const { r, res, text, progress, report } = await runAnswered(db.url, lesson, t.key);
    expect(r.exitCode, text).toBe(0);
    const d = res.drill!;
    expect(d.choice.key).toBe(t.key);
    expect(d.choice.score).toBe(d.max);
    expect(res.safe.status).toBe('completed');
    // The action really happened: the blocker's pid was ended, and the change is there.
    expect(text).toMatch(/drill: ending pid \d+ \(psql \(forgotten\)\)/);
    expect(await hasNote(db)).toBe(true);
    expect(text).toContain(`drill: you chose "${t.label}"`);
    expect(text).toMatch(new RegExp(`: ${d.max}/${d.max}\\. The runbook completed \\d+\\.\\d s after your answer\\.`));
    expect(text).not.toContain('An experienced operator would');
    expect(progress).toMatchObject({ drillScore: d.max, drillMax: d.max });
    expect(report).toContain(`${d.max}/${d.max}`);
  });

  it('a worse answer: abort scores less, the change does not land, and the summary says what to do instead', async () => {
    const a = choice('abort');
    expect(a.score).toBeLessThan(best.score);
    const { r, res, text, progress, report } = await runAnswered(db.url, lesson, a.key);
    expect(res.safe.status).toBe('aborted');
    expect(res.drill!.choice.key).toBe(a.key);
    expect(res.drill!.choice.score).toBe(a.score);
    // What the summary says happened is what happened: the runbook ended aborted, the table has no note.
    expect(await hasNote(db)).toBe(false);
    expect(text).toMatch(new RegExp(`: ${a.score}/${best.score}\\. The runbook ended aborted \\d+\\.\\d s after your answer\\.`));
    expect(text).toContain(a.why.trim().replace(/\s+/g, ' ').slice(0, 40));
    expect(text).toContain(`An experienced operator would "${best.label}"`);
    // Aborting is a legitimate outcome of a drill: the app was not hurt, so the lesson still passes.
    expect(res.safe.figures.overBar, text).toBe(0);
    expect(r.exitCode, text).toBe(0);
    expect(progress).toMatchObject({ drillScore: a.score, drillMax: best.score });
    expect(report).toContain(`An experienced operator would "${best.label}"`);
  });
});
