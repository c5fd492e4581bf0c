// Loading a runbook for a command: problems go to stderr as FILE:LINE:COL; errors exit 2.
import { InputError } from '../util/runbook-error.js';
import { loadRunbookFile, loadRunbookText } from '../runbook/load.js';
import { formatProblem, type Problem, type Runbook } from '../runbook/model.js';
import { splitStoredVars, type StoredVars } from '../runbook/secret-vars.js';
import { STEP_KINDS } from './composition-root.js';

function reportProblems(problems: Problem[]): void {
  for (const p of problems) process.stderr.write(formatProblem(p) + '\n');
}

function settle(res: { runbook?: Runbook; problems: Problem[] }, what: string, quiet = false): Runbook {
  if (!quiet || res.problems.some((p) => p.severity === 'error')) reportProblems(res.problems);
  const errors = res.problems.filter((p) => p.severity === 'error').length;
  if (errors > 0 || !res.runbook) {
    throw new InputError(
      `${what} has ${errors} error${errors === 1 ? '' : 's'}; nothing was run`,
      'fix the lines above (`pgrunbook validate FILE` checks without a database)',
    );
  }
  return res.runbook;
}

export async function loadRunbookOrExit(
  file: string,
  vars: Record<string, string> | undefined,
  secretVars?: Record<string, string>,
  /** Warnings already shown (the fleet loads one runbook per target): print errors only. */
  quiet = false,
): Promise<Runbook> {
  return settle(await loadRunbookFile(file, { vars, secretVars, kinds: STEP_KINDS }), file, quiet);
}

/** A runbook's text kept elsewhere (a fleet's catalog database) under the file name it came from. */
export async function loadRunbookSourceOrExit(
  source: string,
  file: string,
  vars: Record<string, string> | undefined,
  secretVars?: Record<string, string>,
  quiet = false,
): Promise<Runbook> {
  return settle(
    await loadRunbookText(source, file, { vars, secretVars, kinds: STEP_KINDS }),
    `the runbook stored with this fleet (${file})`,
    quiet,
  );
}

/** Secret variables are read again from the environment they were read from at run. */
export async function loadStoredRunbook(source: string, file: string, stored: StoredVars, quiet = false): Promise<Runbook> {
  const { vars, secretVars } = splitStoredVars(stored);
  return settle(
    await loadRunbookText(source, file, { vars, secretVars, kinds: STEP_KINDS }),
    `the runbook stored with this run (${file})`,
    quiet,
  );
}
