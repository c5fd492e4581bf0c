// GitLab Code Quality report (the JSON array GitLab reads from `artifacts:reports:codequality`).
import { createHash } from 'node:crypto';
import type { CiFinding } from './ci-findings.js';

const SEVERITY = { error: 'critical', warning: 'major', info: 'info' } as const;

export interface CodeQualityIssue {
  description: string;
  check_name: string;
  fingerprint: string;
  severity: (typeof SEVERITY)[keyof typeof SEVERITY];
  location: { path: string; lines: { begin: number } };
}

export function gitlabCodeQuality(findings: CiFinding[]): CodeQualityIssue[] {
  const seen = new Map<string, number>();
  return findings.map((f) => {
    // The same problem twice in one file stays two issues, each stable between pipelines.
    const base = `${f.file ?? 'stdin'}|${f.key}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return {
      description: f.message,
      check_name: f.title,
      fingerprint: createHash('sha256').update(`${base}|${n}`).digest('hex').slice(0, 32),
      severity: SEVERITY[f.severity],
      location: { path: f.file ?? 'stdin', lines: { begin: f.line } },
    };
  });
}
