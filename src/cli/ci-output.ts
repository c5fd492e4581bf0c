// `--format github|gitlab` for validate, analyze and plan: GitHub workflow commands plus a job
// summary, or a GitLab Code Quality report on stdout.
import type { Command } from 'commander';
import { InputError } from '../util/runbook-error.js';
import type { CiFinding } from '../report/ci/ci-findings.js';
import { findingsMarkdown, githubAnnotations, writeStepSummary } from '../report/ci/github-format.js';
import { gitlabCodeQuality } from '../report/ci/gitlab-format.js';
import { redact, redactDeep } from '../util/secrets.js';

export type CiFormat = 'github' | 'gitlab';

export function withCiFormat(cmd: Command, others: string[]): Command {
  return cmd.option(
    '--format <name>',
    `output: ${[...others, 'github', 'gitlab'].join(', ')} (github: workflow annotations + job summary; gitlab: Code Quality JSON)`,
  );
}

/** The CI format asked for, undefined for the command's own formats; anything else is bad input. */
export function ciFormat(format: string | undefined, others: string[]): CiFormat | undefined {
  if (format === undefined || others.includes(format)) return undefined;
  if (format === 'github' || format === 'gitlab') return format;
  throw new InputError(`--format "${format}": unknown format`, `use one of ${[...others, 'github', 'gitlab'].join(', ')}`);
}

/** Writes the findings in the CI format; `summary` is extra Markdown for the GitHub job summary. */
export async function writeCi(
  format: CiFormat,
  heading: string,
  findings: CiFinding[],
  out: (s: string) => void,
  summary = '',
): Promise<void> {
  if (format === 'gitlab') {
    out(JSON.stringify(redactDeep(gitlabCodeQuality(findings)), null, 2) + '\n');
    return;
  }
  out(redact(githubAnnotations(findings)));
  await writeStepSummary(redact(`${findingsMarkdown(heading, findings)}\n${summary}`));
}
