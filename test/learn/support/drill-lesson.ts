// A shipped lesson's drill as the drill tests use it: the choice for an action, the best answer, and
// a scripted run that must reach the lesson's result.
import { expect } from 'vitest';
import { type Lesson, LESSONS_DIR, loadLesson } from '../../../src/learn/lesson.js';
import { runScripted } from './scripted-lesson.js';

/** A shipped lesson with a drill: its choices by action and the best-scoring choice. */
export function drillLesson(id: string) {
  const lesson = loadLesson(LESSONS_DIR, id);
  const drill = lesson.drill;
  if (!drill) throw new Error(`lesson ${id} has no drill: give one in lessons/${id}/lesson.yaml or test another lesson`);
  const choice = (action: string) => {
    const c = drill.choices.find((x) => x.action === action);
    if (!c) throw new Error(`lesson ${id}'s drill has no choice with action ${action}: check lessons/${id}/lesson.yaml`);
    return c;
  };
  const best = drill.choices.reduce((b, c) => (c.score > b.score ? c : b));
  return { lesson, drill, choice, best };
}

/** runScripted that must reach the lesson's result (no refusal before it runs): that result as `res`. */
export async function runAnswered(url: string, lesson: Lesson, key: string, rate?: number) {
  const run = await runScripted(url, lesson, key, rate);
  expect(run.r.reason, run.text).toBeUndefined();
  const res = run.r.results[0];
  expect(res, run.text).toBeDefined();
  return { ...run, res: res! };
}
