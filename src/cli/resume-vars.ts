// `pgrunbook resume --var name=value`: a corrected variable for the steps of an interrupted run
// that have not started yet. A step that has started (or finished) did its work with the old value,
// so a variable it uses cannot change under it: resume refuses, names the step and says what to do.
// The change is journaled as a `run.vars_changed` event (old and new values, redacted) and kept in
// pgrunbook.runs, so a later resume uses the corrected value too.
import type pg from 'pg';
import { currentIdentity } from '../engine/operator-identity.js';
import { releaseRunLock, tryAcquireRunLock } from '../engine/run-lock.js';
import { type RunRow, stepRows } from '../engine/state-store.js';
import type { ConnectionSpec } from '../pg/connection.js';
import { sqlText } from '../pg/sql-files.js';
import { PHASES, type Runbook, type StepSpec } from '../runbook/model.js';
import { isSecretRef, type StoredVars } from '../runbook/secret-vars.js';
import { redact } from '../util/secrets.js';
import { InputError } from '../util/runbook-error.js';
import { loadStoredRunbook } from './runbook-input.js';
import { withStateClient } from './state-client.js';

export interface VarChange {
  name: string;
  old: string;
  new: string;
}

/** The variables --var actually changes; refuses names the run does not have and secret ones. */
export function varChanges(stored: StoredVars, overrides: Record<string, string>): VarChange[] {
  const changes: VarChange[] = [];
  for (const [name, value] of Object.entries(overrides)) {
    const old = stored[name];
    if (old === undefined) {
      const names = Object.keys(stored).filter((k) => !isSecretRef(stored[k]));
      throw new InputError(
        `--var ${name}: this run's runbook has no variable "${name}"`,
        names.length ? `its variables are: ${names.join(', ')}` : 'its runbook declares no variables',
      );
    }
    if (isSecretRef(old)) {
      throw new InputError(
        `--var ${name}: "${name}" is a secret variable, read from $${old.from_env} at run and at resume, never stored`,
        `export the corrected value in ${old.from_env} and resume without --var ${name}`,
      );
    }
    if (old !== value) changes.push({ name, old, new: value });
  }
  return changes;
}

/** Steps whose rendered text differs between the two loads: they use a changed variable. */
export function stepsUsing(before: Runbook, after: Runbook): { phase: string; step: StepSpec }[] {
  const out: { phase: string; step: StepSpec }[] = [];
  for (const phase of PHASES) {
    const next = after.phases[phase];
    for (const [i, step] of before.phases[phase].entries()) {
      if (JSON.stringify(step) !== JSON.stringify(next[i])) out.push({ phase, step });
    }
  }
  return out;
}

/**
 * Refuses when a step using a changed variable has a state in this run; otherwise records the
 * change (vars and a journal event) under the run lock, so no runner is between the check and the write.
 */
export async function applyVarChanges(
  client: pg.ClientBase,
  row: RunRow,
  changes: VarChange[],
  using: { phase: string; step: StepSpec }[],
): Promise<void> {
  if (!(await tryAcquireRunLock(client, row.runbook_name)))
    throw new InputError(
      `run ${row.run_id} is being run right now`,
      'see who holds it with `pgrunbook status`; resume once it has stopped',
    );
  try {
    const states = await stepRows(client, row.run_id);
    for (const { phase, step } of using) {
      const st = states.find((s) => s.phase === phase && s.step_id === step.id);
      if (st) throw startedError(row, changes, `${phase}/${step.id}`, st.status);
    }
    const vars: StoredVars = { ...(row.vars as StoredVars) };
    for (const c of changes) vars[c.name] = c.new;
    const who = currentIdentity();
    const payload = { changes: changes.map((c) => ({ name: c.name, old: redact(c.old), new: redact(c.new) })) };
    await client.query('BEGIN');
    try {
      await client.query(sqlText('cli/sql', 'resume-vars-update'), [row.run_id, JSON.stringify(vars)]);
      await client.query(sqlText('cli/sql', 'resume-vars-event'), [row.run_id, who.user, who.host, JSON.stringify(payload)]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  } finally {
    await releaseRunLock(client, row.runbook_name).catch(() => {});
  }
}

function startedError(row: RunRow, changes: VarChange[], step: string, status: string): InputError {
  const names = changes.map((c) => c.name).join(', ');
  const state = status === 'running' ? 'was in flight' : status === 'completed' ? 'has completed' : `has started (${status})`;
  return new InputError(
    redact(
      `--var ${names}: step ${step} uses it and ${state} in run ${row.run_id} with the old value; a variable cannot change under work already done with it`,
    ),
    `resume without --var to go on with the old value, or roll this run back (pgrunbook run ${row.runbook_file} --phase rollback) and start a new run with the corrected --var`,
  );
}

/** One line for the operator, e.g. `table: "ordrs" -> "orders"`. */
export function describeChanges(changes: VarChange[]): string {
  return redact(changes.map((c) => `${c.name}: "${c.old}" -> "${c.new}"`).join(', '));
}

/**
 * The runbook to resume with: the stored one, with the --var corrections applied when no started
 * step uses them (recorded first, so the journal says why later steps saw other values).
 */
export async function correctVars(connection: ConnectionSpec, row: RunRow, overrides: Record<string, string>): Promise<Runbook> {
  const stored = row.vars as StoredVars;
  const before = await loadStoredRunbook(row.runbook_source, row.runbook_file, stored);
  const changes = varChanges(stored, overrides);
  if (changes.length === 0) return before;
  const corrected: StoredVars = { ...stored, ...Object.fromEntries(changes.map((c) => [c.name, c.new])) };
  const after = await loadStoredRunbook(row.runbook_source, row.runbook_file, corrected, true); // warnings said once, above
  await withStateClient(connection, 'resume', (client) => applyVarChanges(client, row, changes, stepsUsing(before, after)));
  process.stderr.write(`resume: ${describeChanges(changes)} for the steps not started yet (journaled as run.vars_changed)\n`);
  return after;
}
