// pgrunbook validate FILE [--var k=v ...]: YAML, schema, variables and SQL parse, offline.
// Problems print as FILE:LINE:COL: message. Exit 2 on any error; warnings alone exit 0.
import type { Command } from 'commander';
import { loadRunbookFile } from '../../runbook/load.js';
import { formatProblem, PHASES } from '../../runbook/model.js';
import { STEP_KINDS } from '../composition-root.js';
import { withVars } from '../options.js';
import { redactDeep } from '../../util/secrets.js';
import { ciFormat, withCiFormat, writeCi } from '../ci-output.js';
import { validateFindings } from '../../report/ci/ci-findings.js';

export interface ValidateIO {
  out(text: string): void;
}

/** Returns the exit code. Never connects to a database. */
export async function validateCommand(
  file: string,
  opts: { vars?: Record<string, string>; secretVars?: Record<string, string>; json?: boolean; format?: string },
  io: ValidateIO = { out: (s) => void process.stdout.write(s) },
): Promise<number> {
  const ci = ciFormat(opts.format, ['text', 'json']);
  // Nothing runs, so an unset secret's environment variable is only a warning here.
  const { runbook, problems } = await loadRunbookFile(file, {
    vars: opts.vars,
    secretVars: opts.secretVars,
    envOptional: true,
    kinds: STEP_KINDS,
  });
  const errors = problems.filter((p) => p.severity === 'error').length;
  const warnings = problems.length - errors;
  // GitLab's report is the whole stdout; GitHub's annotations follow the usual text.
  if (ci) await writeCi(ci, `pgrunbook validate ${file}`, validateFindings(problems), io.out);
  if (ci === 'gitlab') return errors ? 2 : 0;
  if (opts.json || opts.format === 'json') {
    io.out(JSON.stringify(redactDeep({ file, valid: errors === 0, errors, warnings, problems })) + '\n');
    return errors ? 2 : 0;
  }
  for (const p of problems) io.out(formatProblem(p) + '\n');
  const counts = `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
  if (errors || !runbook) {
    io.out(`${file}: invalid (${counts})\n`);
    return 2;
  }
  const steps = PHASES.filter((p) => runbook.phases[p].length).map((p) => `${p} ${runbook.phases[p].length}`);
  io.out(`${file}: valid: "${runbook.name}", steps: ${steps.join(', ') || 'none'}${warnings ? ` (${counts})` : ''}\n`);
  return 0;
}

export function register(program: Command): void {
  const cmd = program
    .command('validate')
    .description('check a runbook offline: YAML, schema, variables, SQL syntax (exit 2 on any error)')
    .argument('<file>', 'runbook YAML')
    .option('--json', 'print the result as one JSON object');
  withCiFormat(withVars(cmd), ['text', 'json']).action(
    async (file: string, o: { var?: Record<string, string>; secretVar?: Record<string, string>; json?: boolean; format?: string }) => {
      process.exitCode = await validateCommand(file, { vars: o.var, secretVars: o.secretVar, json: o.json, format: o.format });
    },
  );
}
