// GitHub workflow commands and GitLab Code Quality JSON: escaping, levels, stable fingerprints.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CiFinding } from '../../../src/report/ci/ci-findings.js';
import { findingsMarkdown, githubAnnotations, writeStepSummary } from '../../../src/report/ci/github-format.js';
import { gitlabCodeQuality } from '../../../src/report/ci/gitlab-format.js';

const f = (over: Partial<CiFinding>): CiFinding => ({
  file: 'db/m 1.sql',
  line: 3,
  col: 5,
  severity: 'warning',
  title: 'pgrunbook: rule',
  message: 'm',
  key: 'k',
  ...over,
});

describe('GitHub annotations', () => {
  it('escapes data and properties the way the runner reads them', () => {
    const text = githubAnnotations([
      f({ title: 'pgrunbook: a,b:c', message: '100% sure\nSafer: CONCURRENTLY' }),
      f({ severity: 'info', file: undefined, col: undefined }),
      f({ severity: 'error' }),
    ]);
    expect(text.split('\n')).toEqual([
      '::warning file=db/m 1.sql,line=3,col=5,title=pgrunbook%3A a%2Cb%3Ac::100%25 sure%0ASafer: CONCURRENTLY',
      '::notice line=3,title=pgrunbook%3A rule::m',
      '::error file=db/m 1.sql,line=3,col=5,title=pgrunbook%3A rule::m',
      '',
    ]);
  });

  it('appends the summary only where GitHub asks for one', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'gh-summary-')), 'summary.md');
    expect(await writeStepSummary('# a', {})).toBe(false);
    expect(await writeStepSummary('# a', { GITHUB_STEP_SUMMARY: path })).toBe(true);
    await writeStepSummary(findingsMarkdown('b', [f({ message: 'x | y' })]), { GITHUB_STEP_SUMMARY: path });
    expect(readFileSync(path, 'utf8')).toBe(
      '# a\n## b\n\n0 error, 1 warning, 0 info\n\n| severity | where | what | finding |\n|---|---|---|---|\n| warning | db/m 1.sql:3 | pgrunbook: rule | x \\| y |\n',
    );
  });
});

describe('GitLab Code Quality', () => {
  it('maps severities and keeps fingerprints stable when lines move, distinct for repeats', () => {
    const a = gitlabCodeQuality([f({ severity: 'error' }), f({ line: 9 }), f({ severity: 'info', file: undefined })]);
    expect(a.map((i) => i.severity)).toEqual(['critical', 'major', 'info']);
    expect(a[0]).toMatchObject({ description: 'm', check_name: 'pgrunbook: rule', location: { path: 'db/m 1.sql', lines: { begin: 3 } } });
    expect(a[2]!.location.path).toBe('stdin');
    expect(new Set(a.map((i) => i.fingerprint)).size).toBe(3);
    const moved = gitlabCodeQuality([f({ severity: 'error', line: 40 })]);
    expect(moved[0]!.fingerprint).toBe(a[0]!.fingerprint);
  });
});
