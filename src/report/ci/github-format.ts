// GitHub Actions workflow commands (`::warning file=…,line=…::message`), one per finding, and a
// Markdown job summary appended to $GITHUB_STEP_SUMMARY.
import { appendFile } from 'node:fs/promises';
import type { CiFinding } from './ci-findings.js';

const LEVEL = { error: 'error', warning: 'warning', info: 'notice' } as const;

// The escaping GitHub's runner expects: data escapes % CR LF; property values also , and :.
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

export function githubAnnotations(findings: CiFinding[]): string {
  return findings
    .map((f) => {
      const props = [
        ...(f.file ? [`file=${escapeProperty(f.file)}`] : []),
        `line=${f.line}`,
        ...(f.col ? [`col=${f.col}`] : []),
        `title=${escapeProperty(f.title)}`,
      ];
      return `::${LEVEL[f.severity]} ${props.join(',')}::${escapeData(f.message)}\n`;
    })
    .join('');
}

/** A Markdown table of findings, for the job summary. */
export function findingsMarkdown(heading: string, findings: CiFinding[]): string {
  const counts = (['error', 'warning', 'info'] as const).map((s) => `${findings.filter((f) => f.severity === s).length} ${s}`).join(', ');
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, '<br>');
  const rows = findings.map((f) => `| ${f.severity} | ${cell(f.file ?? 'stdin')}:${f.line} | ${cell(f.title)} | ${cell(f.message)} |`);
  return [
    `## ${heading}`,
    '',
    counts,
    '',
    ...(rows.length ? ['| severity | where | what | finding |', '|---|---|---|---|', ...rows] : ['No findings.']),
    '',
  ].join('\n');
}

/** Appends to the job summary when GitHub provides one; says whether it did. */
export async function writeStepSummary(markdown: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const path = env.GITHUB_STEP_SUMMARY;
  if (!path) return false;
  await appendFile(path, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  return true;
}
