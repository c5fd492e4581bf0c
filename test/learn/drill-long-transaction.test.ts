// The create-index lesson's long_transaction drill from real runs (scripted answers, real
// PostgreSQL): a long export started before the concurrent build makes the build wait for its
// snapshot; the question comes once the build's own progress names the export. Cancelling the
// export's query lets the build finish (full marks); aborting discards it (the INVALID index is
// dropped) and the summary says what an experienced operator would do and what was measured.
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/pg.js';
import { drillLesson, runAnswered } from './support/drill-lesson.js';

const { lesson, drill, choice, best } = drillLesson('create-index');

async function index(db: ReturnType<typeof useTestDatabase>): Promise<{ valid: boolean } | undefined> {
  const { rows } = await db.pool.query<{ valid: boolean }>(
    `select i.indisvalid as valid from pg_index i where i.indexrelid = to_regclass('orders_customer_id_idx')`,
  );
  return rows[0];
}

async function exportsRunning(db: ReturnType<typeof useTestDatabase>): Promise<number> {
  const { rows } = await db.pool.query(
    `select 1 from pg_stat_activity where application_name = 'learn:nightly-export' and datname = current_database()`,
  );
  return rows.length;
}

const MEASURED = /measured: the index build waited (\d+\.\d) s for pid (\d+) \(learn:nightly-export, phase "([^"]+)"\)/;

describe('the create-index long_transaction drill, scored from a real run', () => {
  const db = useTestDatabase();

  it('the best answer: the export is cancelled, the build finishes, full marks, with the wait measured', async () => {
    const c = choice('cancel_blocker');
    expect(c.key).toBe(best.key);
    const { res, text, progress, report } = await runAnswered(db.url, lesson, c.key, 25);
    expect(res.safe.status, text).toBe('completed');
    const d = res.drill!;
    expect(d.choice.key).toBe(c.key);
    expect(d.choice.score).toBe(d.max);
    // The question came because the build waited on the export, as its progress said.
    const m = MEASURED.exec(text);
    expect(m, text).not.toBeNull();
    expect(Number(m![1]) * 1000).toBeGreaterThanOrEqual(drill.ask_after - 100);
    expect(m![3]).toMatch(/snapshot/);
    expect(text).toContain(`drill: cancelling the query of pid ${m![2]} (learn:nightly-export)`);
    expect(text).toMatch(/the export ended \d+\.\d s after it started \(canceling statement due to user request\)/);
    expect(text).toMatch(new RegExp(`: ${d.max}/${d.max}\\. The runbook completed \\d+\\.\\d s after your answer\\.`));
    expect(text).not.toContain('An experienced operator would');
    // What it says happened did: a valid index, no export left.
    expect(await index(db)).toEqual({ valid: true });
    expect(await exportsRunning(db)).toBe(0);
    expect(progress).toMatchObject({ drillScore: d.max, drillMax: d.max });
    expect(report).toContain('measured: the index build waited');
  }, 240_000);

  it('a worse answer: abort discards the build, scores less, and the summary names the better answer', async () => {
    const a = choice('abort');
    expect(a.score).toBeLessThan(best.score);
    const { r, res, text, progress } = await runAnswered(db.url, lesson, a.key, 25);
    expect(res.safe.status, text).toBe('aborted');
    expect(res.drill!.choice.score).toBe(a.score);
    expect(text).toMatch(MEASURED);
    expect(text).toContain('the export was still running when the run ended');
    expect(text).toMatch(new RegExp(`: ${a.score}/${best.score}\\. The runbook ended aborted \\d+\\.\\d s after your answer\\.`));
    expect(text).toContain(`An experienced operator would "${best.label}"`);
    // The aborted build left no index behind (the step drops its INVALID leftover), and the drill's end stopped the export.
    expect(await index(db)).toBeUndefined();
    expect(await exportsRunning(db)).toBe(0);
    expect(res.safe.figures.overBar, text).toBe(0);
    expect(r.exitCode, text).toBe(0);
    expect(progress).toMatchObject({ drillScore: a.score, drillMax: best.score });
  }, 240_000);

  it("wait: the build keeps waiting for the export until the lesson's cap aborts it", async () => {
    const w = choice('wait');
    expect(w.score).toBeLessThan(best.score);
    const { res, text } = await runAnswered(db.url, lesson, w.key, 25);
    expect(res.safe.status, text).toBe('aborted');
    expect(res.safe.error, text).toContain(`the lesson's cap (${lesson.cap / 1000} s) stopped the wait`);
    // The build waited on the export from before the question to the cap.
    const m = MEASURED.exec(text);
    expect(Number(m![1]) * 1000, text).toBeGreaterThanOrEqual(lesson.cap);
    expect(text).toContain('the export was still running when the run ended');
    expect(await index(db)).toBeUndefined();
    expect(await exportsRunning(db)).toBe(0);
  }, 240_000);
});
