// Static checks on the shipped runbooks this suite runs end to end: they load without errors,
// point editors at the JSON Schema, teach the reason for every step, and have a rollback phase.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadRunbookFile } from '../../src/runbook/load.js';
import { formatProblem, PHASES } from '../../src/runbook/model.js';
import { STEP_KINDS } from '../../src/cli/composition-root.js';

const FILES = ['add-column-backfill.yaml', 'create-index.yaml', 'swap-table.yaml', 'jsonb-derived-column.yaml'];

describe.each(FILES)('runbooks/%s', (name) => {
  const file = fileURLToPath(new URL(`../../runbooks/${name}`, import.meta.url));

  it('loads without errors and starts with the schema reference', async () => {
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/runbook.schema.json');
    const { runbook, problems } = await loadRunbookFile(file, { kinds: STEP_KINDS });
    expect(problems.filter((p) => p.severity === 'error').map(formatProblem)).toEqual([]);
    expect(runbook).toBeDefined();
  });

  it('has a `why:` that explains every step, and a rollback phase', async () => {
    const { runbook } = await loadRunbookFile(file, { kinds: STEP_KINDS });
    const steps = PHASES.flatMap((p) => runbook!.phases[p]);
    for (const s of steps) expect(s.why?.length ?? 0, `${s.id} needs a why`).toBeGreaterThan(80);
    expect(runbook!.phases.rollback.length).toBeGreaterThan(0);
    expect(runbook!.phases.deploy.length).toBeGreaterThan(0);
  });
});

// The demo too: docs/runbook-format.md promises shipped index builds wait a minute for their lock,
// so the demo does not show an unexplained lock timeout and retry.
describe.each([...FILES, 'demo.yaml'])('runbooks/%s index builds', (name) => {
  it('give every create_index step lock_timeout of at least 1 minute', async () => {
    const { runbook } = await loadRunbookFile(fileURLToPath(new URL(`../../runbooks/${name}`, import.meta.url)), { kinds: STEP_KINDS });
    const builds = PHASES.flatMap((p) => runbook!.phases[p]).filter((s) => s.kind === 'create_index');
    for (const s of builds) expect(s.settings.lockTimeoutMs, `${s.id} lock_timeout`).toBeGreaterThanOrEqual(60_000);
  });
});
