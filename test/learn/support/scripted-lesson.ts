// One lesson through runLearn without a terminal, its drill answered by a scripted key, with the
// plain output, the progress file's entry and the report it wrote.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STEP_KINDS, newRunner } from '../../../src/cli/composition-root.js';
import type { Lesson } from '../../../src/learn/lesson.js';
import { readProgress } from '../../../src/learn/progress.js';
import { runLearn } from '../../../src/learn/run-learn.js';

const compose = async () => ({ kinds: STEP_KINDS, newRunner });

export async function runScripted(url: string, lesson: Lesson, key: string, rate?: number) {
  const dir = mkdtempSync(join(tmpdir(), 'learn-drill-'));
  const out: string[] = [];
  const r = await runLearn({
    mode: 'plain',
    compose,
    lesson: lesson.id,
    url,
    rate,
    answers: { [lesson.id]: key },
    progressFile: join(dir, 'learn.json'),
    reportFile: join(dir, 'report.md'),
    write: (t) => void out.push(t),
  });
  const report = r.results.length ? readFileSync(join(dir, 'report.md'), 'utf8') : '';
  return { r, text: out.join(''), progress: readProgress(join(dir, 'learn.json'))[lesson.id], report };
}
