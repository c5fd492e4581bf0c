// A step-level `rollback:` the runner never runs, which the loader reports as a warning (otherwise
// the operator believes SQL will run that never does):
//   - on a step outside the deploy phase: the rollback phase undoes deploy steps only;
//   - on a kind that undoes itself: the runner calls the kind's own rollback instead.
// Kinds that do run `rollback:` (sql, shell, manual, backfill, check, wait, ...) are not listed;
// test/runbook/self-undo.test.ts keeps this list in step with the step kinds (STEP_KINDS).

import type { PhaseName } from './model.js';

type Phrase = string | ((params: Record<string, unknown>) => string);

const undoes = (how: string) => `undoes itself in the rollback phase: it ${how}`;

/** What each such kind does instead, as a phrase after the kind's name. */
export const SELF_UNDO: Readonly<Record<string, Phrase>> = {
  add_column: undoes('drops the column only if this run added it'),
  not_null: undoes('drops NOT NULL (and its helper CHECK) only if this run set it'),
  create_index: undoes(
    'drops the index concurrently (with the constraint add_unique / add_primary_key attached to it) only if this run built it',
  ),
  add_foreign_key: undoes('drops the foreign key only if this run added it'),
  add_check: undoes('drops the constraint only if this run added it'),
  swap_table: (p) =>
    p.drop_old === true || p.drop_old === 'true'
      ? 'with drop_old: true cannot be undone (the old table is gone)'
      : undoes('swaps the old table back, with the writes made since the swap mirrored into it (before the swap: drops the shadow)'),
  change_column: (p) =>
    p.stage === 'contract'
      ? 'with stage: contract cannot be undone (the old column is gone)'
      : undoes('drops the sync trigger, and the new column only if this run added it (the old column holds every write)'),
  flag: undoes('restores the value the flag had before the run, or removes a flag the run created'),
};

/** The warning for a `rollback:` key that is never run, or undefined when it is run. */
export function ignoredRollbackWarning(kind: string, stepId: string, phase: PhaseName, params: unknown): string | undefined {
  if (phase !== 'deploy') {
    return `step "${stepId}": this rollback: SQL is never run: the rollback phase undoes deploy steps only, and this step is in ${phase}. Remove rollback: from the step, or put the SQL in a \`sql\` step in the rollback phase`;
  }
  const entry = SELF_UNDO[kind];
  if (!entry) return undefined;
  const phrase =
    typeof entry === 'function' ? entry(params && typeof params === 'object' ? (params as Record<string, unknown>) : {}) : entry;
  return `step "${stepId}": this rollback: SQL is never run: ${kind} ${phrase}. Remove rollback: from the step, or put the SQL in a separate \`sql\` step in the rollback phase`;
}
