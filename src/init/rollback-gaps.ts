// Why a rehearsal of an init-generated runbook could not verify its rollback: a statement kept as an
// `sql` step has no `rollback:` when the migration came without a down migration, so the rollback
// phase leaves its change in place. Said per step, with what the operator can do about it.
import type { Runbook } from '../runbook/model.js';
import { oneLine } from '../util/units.js';

export function rollbackGaps(runbook: Runbook): string[] {
  // A rollback-phase step is the down migration itself: then the gap is elsewhere (the rehearsal says where).
  if (runbook.phases.rollback.length > 0) return [];
  return runbook.phases.deploy
    .filter((s) => s.kind === 'sql' && !s.rollback)
    .map(
      (s) =>
        `step ${s.id} (${oneLine(String(s.params), 120)}) has no rollback: the migration has no down migration for it, so the rollback phase leaves its change in place. ` +
        "Either add a down migration (the tool's own: revert/, .down.sql, U…, migrate:down) and run init again, which makes it the step's rollback:, " +
        'or accept that rolling back keeps this change (and write that down in the runbook)',
    );
}
