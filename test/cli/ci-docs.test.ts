// docs/ci.md: its workflows are valid YAML, and every pgrunbook command and flag they use exists.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../support/cli.js';

const doc = readFileSync(new URL('../../docs/ci.md', import.meta.url), 'utf8');
const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('docs/ci.md', () => {
  it('has a GitHub workflow and a GitLab pipeline that parse', () => {
    expect(blocks).toHaveLength(2);
    const gh = parse(blocks[0]!);
    expect(Object.keys(gh.jobs)).toEqual(['lint', 'rehearse']);
    expect(gh.jobs.rehearse.services.postgres.image).toBe('postgres:17');
    const gl = parse(blocks[1]!);
    expect(gl['pgrunbook-lint'].artifacts.reports.codequality).toBe('cq-*.json');
    expect(gl['pgrunbook-rehearse'].services[0].name).toBe('postgres:17');
  });

  it('uses only commands and flags pgrunbook has', async () => {
    const uses = new Map<string, Set<string>>();
    for (const m of blocks.join('\n').matchAll(/pgrunbook (validate|analyze|plan|rehearse|run)\b([^\n;|>]*)/g)) {
      const flags = uses.get(m[1]!) ?? new Set<string>();
      for (const f of m[2]!.matchAll(/(--[a-z-]+)/g)) flags.add(f[1]!);
      uses.set(m[1]!, flags);
    }
    expect([...uses.keys()].sort()).toEqual(['analyze', 'plan', 'rehearse', 'validate']);
    for (const [cmd, flags] of uses) {
      const help = (await runCli([cmd, '--help'])).stdout;
      for (const f of flags) expect(help, `${cmd} ${f}`).toContain(f);
    }
  });
});
