// Every shipped lesson end to end, without a terminal (scripted drill answers), against real
// PostgreSQL: the naive way must really block the application (a request waited over 1 s), the
// safe way must not (no request over the lesson's bar), and the summary, the progress file and the
// report carry the figures measured in this run.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STEP_KINDS, newRunner } from '../../src/cli/composition-root.js';
import { loadLessons } from '../../src/learn/lesson.js';
import { readProgress } from '../../src/learn/progress.js';
import { runLearn } from '../../src/learn/run-learn.js';
import { formatMs } from '../../src/util/units.js';
import { useTestDatabase } from '../support/pg.js';

const compose = async () => ({ kinds: STEP_KINDS, newRunner });

describe.each(loadLessons().map((l) => [l.id, l] as const))('lesson %s', (id, lesson) => {
  const db = useTestDatabase();

  it('blocks the application the naive way and not the safe way, with figures from the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'learn-'));
    const progressFile = join(dir, 'learn.json');
    const reportFile = join(dir, 'report.md');
    const out: string[] = [];
    const r = await runLearn({
      mode: 'plain',
      compose,
      lesson: id,
      url: db.url,
      answers: { [id]: lesson.drill ? lesson.drill.choices.reduce((b, c) => (c.score > b.score ? c : b)).key : 'x' },
      progressFile,
      reportFile,
      write: (t) => void out.push(t),
    });
    const text = out.join('');
    expect(r.reason, text).toBeUndefined();
    expect(r.exitCode, text).toBe(0);
    const [res] = r.results;
    // The naive way: the application stalled behind the DDL.
    expect(res!.naive.figures.worstMs, text).toBeGreaterThan(1000);
    expect(res!.naive.figures.overBar).toBeGreaterThan(0);
    expect(text).toMatch(/naive: app \d+ req\/s, \d+ in flight, [1-9]\d* waiting over/);
    // The Locks panel's queue: sessions waited behind the naive DDL.
    expect(text).toMatch(/naive: .*locks: [1-9]\d* sessions waiting/);
    // The safe way: the runbook completed and no request crossed the bar.
    expect(res!.safe.status).toBe('completed');
    expect(res!.safe.figures.requests).toBeGreaterThan(0);
    expect(res!.safe.figures.worstMs, text).toBeLessThanOrEqual(lesson.bar);
    expect(res!.safe.figures.overBar).toBe(0);
    // The summary's figures are the measured ones.
    expect(text).toContain(`worst ${formatMs(res!.naive.figures.worstMs)}`);
    expect(text).toContain(`none over ${formatMs(lesson.bar)}`);
    if (lesson.drill) {
      expect(res!.drill?.choice.score).toBe(res!.drill?.max);
      expect(text).toContain('answer (scripted)');
    }
    expect(readProgress(progressFile)[id]).toMatchObject({ runs: 1, passed: true, naiveWorstMs: Math.round(res!.naive.figures.worstMs) });
    expect(readFileSync(reportFile, 'utf8')).toContain(`worst ${formatMs(res!.naive.figures.worstMs)}`);
  });
});
