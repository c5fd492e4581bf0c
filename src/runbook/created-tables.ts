// Does an earlier step create a table a later step needs? A missing table is then expected, not a
// typo: `plan` and `run` plan that step offline instead of failing it.
import type { StepSpec } from './model.js';

/** True when any of `earlier` has SQL text with CREATE TABLE (or CREATE TABLE .. AS / LIKE) of `table`'s bare name. */
export function createdByEarlierStep(table: string, earlier: StepSpec[]): boolean {
  const bare = table.split('.').pop()!.replace(/^"|"$/g, '').replace(/""/g, '"');
  const name = bare.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(
    `create\\s+(?:(?:global\\s+|local\\s+)?(?:temp|temporary|unlogged)\\s+)?table\\s+(?:if\\s+not\\s+exists\\s+)?(?:"?[\\w$]+"?\\s*\\.\\s*)?"?${name}"?(?![\\w$])`,
    'i',
  );
  return earlier.some((s) => re.test(JSON.stringify(s.params ?? {})));
}

/** The steps that run before `step` in a run of every phase (phase order, then position). */
export function stepsBefore(all: StepSpec[], step: StepSpec): StepSpec[] {
  const i = all.indexOf(step);
  return i < 0 ? [] : all.slice(0, i);
}
